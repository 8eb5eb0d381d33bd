"""A memo of a function of texts (a stored definition, its JSON), bounded by the characters
of the texts it is keyed on.

A stored definition never changes under its text, so what is computed from it (the parsed
procedure, a scenario's change log, the advisor's ranking) can be kept for the next
request asking with the same text. The key is every argument, so a value is found only
by asking with everything it was computed from; the bound is in characters, not entries,
because a value grows with its procedure (a parsed 200-step procedure takes ~1 MB, ~23
bytes per character of its YAML), so the memo holds many small procedures or a few large
ones, the least recently used leaving first. Values are shared between callers: memoize
only functions whose values no caller changes (procedures are read-only by convention,
sentences and plain data are immutable or copied).

>>> calls = []
>>> @text_memo(max_chars=10)
... def shout(text: str) -> str:
...     calls.append(text)
...     return text.upper()
>>> shout("abc"), shout("abc"), calls
('ABC', 'ABC', ['abc'])
>>> shout.peek("abc"), shout.peek("xyz")   # what is kept, without computing
('ABC', None)
>>> shout("defghijk") and shout.peek("abc")   # 3 + 8 characters: over the bound

"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["MEMO_CHARS", "TextMemo", "text_memo"]

V = TypeVar("V")

MEMO_CHARS = 2_000_000
"""The characters of the texts one memo keys on, by default: parsed, ~45 MB of procedures
(some forty of 200 steps); for values that are sentences, the keys' few MB."""


def _chars(args: tuple[Hashable, ...]) -> int:
    """The characters of the texts among ``args`` (in tuples too): a key's weight."""
    return sum(len(a) if isinstance(a, str) else _chars(a) if isinstance(a, tuple) else 0
               for a in args)


class TextMemo(Generic[V]):
    """``function`` memoized on its positional arguments, holding values whose keys weigh
    at most ``max_chars`` characters in all (:func:`text_memo`). Safe to call from the
    service's threads; two threads missing the same key both compute it."""

    def __init__(self, function: Callable[..., V], max_chars: int) -> None:
        self._function, self.max_chars = function, max_chars
        self._values: OrderedDict[tuple[Hashable, ...], tuple[int, V]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, function)

    def __call__(self, *args: Hashable) -> V:
        with self._lock:
            if args in self._values:
                self._values.move_to_end(args)
                return self._values[args][1]
        value = self._function(*args)
        weight = _chars(args)
        with self._lock:
            if weight <= self.max_chars and args not in self._values:
                self._values[args] = (weight, value)
                self._chars += weight
                while self._chars > self.max_chars:
                    self._chars -= self._values.popitem(last=False)[1][0]
        return value

    def peek(self, *args: Hashable) -> V | None:
        """The value kept for ``args``, else ``None`` (never computes it)."""
        with self._lock:
            kept = self._values.get(args)
        return None if kept is None else kept[1]

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
            self._chars = 0


def text_memo(max_chars: int = MEMO_CHARS) -> Callable[[Callable[..., Any]], TextMemo[Any]]:
    """Decorate a function of texts as a :class:`TextMemo` bounded by ``max_chars``."""
    return lambda function: TextMemo(function, max_chars)
