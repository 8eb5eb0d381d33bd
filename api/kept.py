"""What one service process keeps between requests (:class:`Kept`).

>>> kept = Kept(max_entries=2, max_age_seconds=60)
>>> kept["a"] = 1
>>> kept["b"] = 2
>>> kept.get("a"), "a" in kept
(1, True)
>>> kept["c"] = 3            # full: it starts again empty
>>> kept.get("a"), kept.get("c"), len(kept)
(None, 3, 1)
>>> 29 < dict.get(kept, "c")[0] - time.monotonic() <= 60   # expires in half the age to all
True
>>> at_once = Kept(max_entries=2, max_age_seconds=0)
>>> at_once["a"] = 1         # already too old to read
>>> at_once.get("a"), "a" in at_once
(None, False)
"""

from __future__ import annotations

import random
import time
from typing import Any

__all__ = ["Kept"]


class Kept(dict):
    """A dict whose entries last at most ``max_age_seconds`` (an older one reads as
    absent) and which holds at most ``max_entries``: when it is full, it starts again empty.

    Keyed by all an answer depends on, a kept answer is current; the age bounds how long a
    change made around the domain (a database edited by hand) can go unseen. Each entry
    lasts a random time between half the age and the whole of it, so that what was kept
    together (a board's lines, the statuses read in one busy second) is not all made again
    in one request when it expires. Reads and writes are single dict operations, safe from
    the event loop and worker threads alike.
    """

    def __init__(self, max_entries: int, max_age_seconds: float) -> None:
        super().__init__()
        self.max_entries, self.max_age_seconds = max_entries, max_age_seconds

    def get(self, key: Any, default: Any = None) -> Any:
        kept = super().get(key)
        if kept is None or time.monotonic() >= kept[0]:
            return default
        return kept[1]


    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _ABSENT) is not _ABSENT

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) >= self.max_entries and not super().__contains__(key):
            self.clear()
        lasts = self.max_age_seconds * (0.5 + random.random() / 2)
        super().__setitem__(key, (time.monotonic() + lasts, value))


_ABSENT = object()
