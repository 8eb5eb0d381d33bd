"""The Chinese working-day calendar (工作日, 调休) that every time limit counts in.

Rest days and 调休 make-up working days come from the ``holidays`` package
(China, statutory holidays only); local override files add closures, extra
working days and opening hours. The acceptance day is not counted:

>>> from datetime import date
>>> cal = WorkingCalendar()
>>> cal.add_working_days(date(2025, 1, 24), 5)      # 春节; Sun 01-26 is a 调休 working day
datetime.date(2025, 2, 7)
>>> cal.add_working_days(date(2025, 4, 25), 3)      # Sun 04-27 works, so earlier than Mon–Fri
datetime.date(2025, 4, 29)
>>> cal.working_days_between(date(2025, 1, 24), date(2025, 2, 7))
5
>>> cal.working_days_in(2025)
248

Working days are kept as a sorted list of date ordinals per built year range, so
:meth:`WorkingCalendar.add_working_days` and :meth:`WorkingCalendar.working_days_between`
are two binary searches (O(log n)) however far apart the dates are.

Override files are YAML (see ``process_models/calendar_overrides/example.yaml``)::

    closures:                       # extra rest days: a date, {date, note} or {from, to, note}
      - 2025-03-14
      - {from: 2025-07-01, to: 2025-07-02, note: 系统升级}
    working_days: [2025-03-15]      # extra working days (a rest day the centre works)
    opening_hours:                  # by weekday; "default" for the rest
      default: ["09:00-12:00", "13:30-17:30"]
      saturday: ["09:00-12:00"]     # 周末不打烊: the window opens, the legal clock does not run

Opening hours say when the window is open; they never change which days count
toward a working-day limit (only ``closures`` and ``working_days`` do).

The service centre keeps China Standard Time (:data:`SERVICE_CENTRE_TZ`, UTC+8, no daylight
saving); :func:`local_time` and :func:`local_date` read any moment on its clock.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import json
import math
import os
import re
import threading
import warnings
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from process_models.errors import CalendarError, ProcedureSyntaxError, did_you_mean, shown
from process_models.procedure import MAX_DAYS
from process_models.reading_problems import reading_error

__all__ = [
    "DEFAULT_OPENING_HOURS",
    "SERVICE_CENTRE_TZ",
    "CalendarWarning",
    "WorkingCalendar",
    "add_working_days",
    "country_calendar",
    "default_calendar",
    "local_date",
    "local_time",
    "official_years",
    "parse_date",
    "parse_days",
    "working_days_between",
]

DEFAULT_OPENING_HOURS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(13, 30), time(17, 30)),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FIRST_OFFICIAL_YEAR = 2020
_EPSILON_DAYS = 1e-9
_OFFICIAL_FORMAT = 1  # bump when the cache file's layout changes
SERVICE_CENTRE_TZ = timezone(timedelta(hours=8), "CST")
"""The service centre's clock: China Standard Time, UTC+8."""


def local_time(moment: datetime) -> datetime:
    """``moment`` on the service centre's clock (aware); naive values are already local.

    >>> from datetime import UTC, datetime
    >>> local_time(datetime(2025, 1, 24, 1, 30, tzinfo=UTC)).isoformat()
    '2025-01-24T09:30:00+08:00'
    >>> local_time(datetime(2025, 1, 24, 9, 30)).isoformat()
    '2025-01-24T09:30:00+08:00'
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SERVICE_CENTRE_TZ)
    if moment.tzinfo is SERVICE_CENTRE_TZ:
        return moment
    return moment.astimezone(SERVICE_CENTRE_TZ)


def local_date(moment: datetime) -> date:
    """The service centre's calendar day of ``moment`` (naive values are already local).

    >>> from datetime import UTC, datetime
    >>> local_date(datetime(2025, 1, 23, 17, 0, tzinfo=UTC))
    datetime.date(2025, 1, 24)
    """
    if moment.tzinfo is None:
        return moment.date()
    return local_time(moment).date()


class CalendarWarning(UserWarning):
    """A year has no official holiday data, so only weekends are rest days in it."""


class _Official(NamedTuple):
    """China's statutory rest days and 调休 working days over the official years, as ordinals."""

    years: range
    rest: frozenset[int]
    worked: frozenset[int]


def official_years() -> range:
    """The years whose holidays and 调休 come from official notices.

    From 2020 (the range checked day for day against the State Council notices) to the
    last year the installed ``holidays`` package has a 调休 schedule for.

    >>> official_years()[0], 2026 in official_years()
    (2020, True)
    """
    return _official().years


def _official_cache() -> tuple[str, Path] | None:
    """The key of the installed ``holidays``' China module and the cache file of the official
    days for that key; ``None`` when the module cannot be read.

    The key is the module's content, not its path: checkouts with their own virtual
    environment but the same ``holidays`` share one file rather than rebuild it in turn, and
    each key has a file of its own, so checkouts with different releases keep theirs.
    """
    spec = importlib.util.find_spec("holidays")
    source = Path(spec.origin).parent / "countries" / "china.py" if spec and spec.origin else None
    try:
        content = source.read_bytes() if source else None
    except OSError:
        return None
    if content is None:
        return None
    key = f"{_OFFICIAL_FORMAT}:{hashlib.sha256(content).hexdigest()}"
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "onething"
    return key, folder / f"china-official-days-{key.replace(':', '-')[:18]}.json"


@cache
def _official() -> _Official:
    """The official days from ``holidays``, kept in a cache file per installed ``holidays``
    (:func:`_official_cache`).

    Importing ``holidays`` costs about a tenth of a second, most of a short command's
    start; the file (under ``$XDG_CACHE_HOME/onething``) is rebuilt whenever the installed
    package's China module changes, and skipped when it cannot be read or written.
    """
    key, cache_file = _official_cache() or (None, None)
    if key:
        try:
            stored = json.loads(cache_file.read_text(encoding="utf-8"))
            if stored["key"] == key:
                return _Official(range(*stored["years"]), frozenset(stored["rest"]),
                                 frozenset(stored["worked"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    official = _official_from_holidays()
    if key:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            partial = cache_file.with_name(f"{cache_file.name}.{os.getpid()}")
            partial.write_text(json.dumps({
                "key": key,
                "years": [official.years.start, official.years.stop],
                "rest": sorted(official.rest),
                "worked": sorted(official.worked),
            }), encoding="utf-8")
            os.replace(partial, cache_file)
        except OSError:
            pass
    return official


def _official_from_holidays() -> _Official:
    import holidays
    from holidays.countries.china import ChinaStaticHolidays

    years = range(FIRST_OFFICIAL_YEAR, max(ChinaStaticHolidays.special_public_holidays) + 1)
    china = holidays.China(years=years)
    return _Official(years, frozenset(d.toordinal() for d in china),
                     frozenset(d.toordinal() for d in china.weekend_workdays))


def parse_date(value: Any, *, file: str | None = None, path: str | None = None) -> date:
    """A ``date`` from a date or ``YYYY-MM-DD`` text; a one-line :class:`CalendarError` if not.

    >>> parse_date("2025-01-24")
    datetime.date(2025, 1, 24)
    >>> parse_date("2025-02-30")
    Traceback (most recent call last):
    ...
    process_models.errors.CalendarError: '2025-02-30' is not a date; use YYYY-MM-DD
    """
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise reading_error("calendar_bad_date", {"value": shown(text)}, kind=CalendarError,
                            file=file, path=path) from None


def parse_days(value: Any, *, path: str | None = None) -> float:
    """A finite day count from a number or its text; a one-line :class:`CalendarError` if not.

    >>> parse_days("0.5")
    0.5
    >>> parse_days("five")
    Traceback (most recent call last):
    ...
    process_models.errors.CalendarError: 'five' is not a number of days; use e.g. 5 or 0.5
    """
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = math.nan
    if not math.isfinite(days):
        raise CalendarError(f"{shown(str(value))} is not a number of days; use e.g. 5 or 0.5",
                            path=path)
    if abs(days) > MAX_DAYS:
        raise CalendarError(f"{days:g} days is more than the {MAX_DAYS:g} a limit may span; "
                            "check the day count", path=path)
    return days


def _days_count(days: float) -> int:
    """Whole days a (possibly fractional) count reaches: 0.5 → 1, 2 → 2, -0.5 → -1."""
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days):
        raise CalendarError(f"day count must be a finite number, got {shown(days)}")
    magnitude = math.ceil(abs(days) - _EPSILON_DAYS) if days else 0
    return magnitude if days >= 0 else -magnitude


class WorkingCalendar:
    """Working days of a Chinese government service centre.

    Parameters
    ----------
    overrides : iterable of path
        Override YAML files applied in order (a later file wins for a date or weekday).
    warn_missing_years : bool
        Emit one :class:`CalendarWarning` naming the years without official data
        (counted with weekends only) the first time they are used.

    Examples
    --------
    >>> from datetime import date
    >>> cal = WorkingCalendar()
    >>> cal.is_working_day(date(2025, 1, 26)), cal.is_working_day(date(2025, 1, 28))
    (True, False)
    """

    def __init__(
        self, overrides: Iterable[str | os.PathLike[str]] = (), *, warn_missing_years: bool = True
    ) -> None:
        self.overrides = [Path(p) for p in overrides]
        self.warn_missing_years = warn_missing_years
        self._closed: dict[int, str] = {}
        self._opened: dict[int, str] = {}
        self._hours: dict[str, tuple[tuple[time, time], ...]] = {"default": DEFAULT_OPENING_HOURS}
        self._scheduled: set[int] = set()
        for path in self.overrides:
            self._apply_override(path)
        # (first year, last year, sorted working-day ordinals), replaced as one value so a
        # reader in another thread never mixes two versions; extensions take the lock.
        self._built: tuple[int, int, list[int]] = (0, -1, [])
        self._lock = threading.Lock()
        self._warned: set[int] = set()

    def __repr__(self) -> str:
        files = ", ".join(map(str, self.overrides))
        return f"WorkingCalendar([{files}])"

    # -- public API --------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        """Whether the legal clock runs on ``day`` (holidays, 调休 and overrides applied).

        >>> from datetime import date
        >>> WorkingCalendar().is_working_day(date(2025, 10, 11))   # Saturday, 调休
        True
        """
        ordinal = day.toordinal()
        ordinals = self._cover(day.year, day.year)
        i = bisect.bisect_left(ordinals, ordinal)
        return i < len(ordinals) and ordinals[i] == ordinal

    def add_working_days(self, start: date, days: float) -> date:
        """The date ``days`` working days after ``start`` (the acceptance day not counted).

        A fraction ends on the working day it falls in (+0.5 → the next working day);
        +0 is ``start`` itself (即办: decided the same day). A negative count goes back.

        >>> from datetime import date
        >>> cal = WorkingCalendar()
        >>> cal.add_working_days(date(2025, 9, 26), 20)
        datetime.date(2025, 10, 30)
        >>> cal.add_working_days(date(2025, 9, 30), 0.5)
        datetime.date(2025, 10, 9)
        >>> cal.add_working_days(date(2025, 10, 9), -1)
        datetime.date(2025, 9, 30)
        """
        n = _days_count(days)
        if n == 0:
            return start
        ordinal = start.toordinal()
        ordinals = self._cover(start.year, start.year)
        if n > 0:
            i = bisect.bisect_right(ordinals, ordinal) + n - 1
            while i >= len(ordinals):  # about 250 working days a year: extend far enough
                ordinals = self._extend_to(self._built[1] + 1 + (i - len(ordinals)) // 200)
                i = bisect.bisect_right(ordinals, ordinal) + n - 1
        else:
            i = bisect.bisect_left(ordinals, ordinal) + n
            while i < 0:
                ordinals = self._extend_to(self._built[0] - 1 - (-i) // 200)
                i = bisect.bisect_left(ordinals, ordinal) + n
        return date.fromordinal(ordinals[i])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when end < start.

        The inverse of :meth:`add_working_days` for whole days.

        >>> from datetime import date
        >>> cal = WorkingCalendar()
        >>> cal.working_days_between(date(2025, 9, 26), date(2025, 10, 10))
        5
        >>> cal.working_days_between(date(2025, 10, 10), date(2025, 9, 26))
        -5
        """
        ordinals = self._cover(min(start.year, end.year), max(start.year, end.year))
        return bisect.bisect_right(ordinals, end.toordinal()) - bisect.bisect_right(
            ordinals, start.toordinal()
        )

    def working_ordinals(self, first: date, last: date) -> list[int]:
        """The ordinals of the working days of the years ``first.year``–``last.year`` (at
        least), sorted: :meth:`working_days_between` for many dates at once is a binary
        search in this list.

        >>> from datetime import date
        >>> days = WorkingCalendar().working_ordinals(date(2025, 9, 26), date(2025, 10, 10))
        >>> date(2025, 10, 1).toordinal() in days, date(2025, 9, 28).toordinal() in days
        (False, True)
        """
        return self._cover(min(first.year, last.year), max(first.year, last.year))

    def add_calendar_days(self, start: date, days: float) -> date:
        """A calendar-day (自然日) limit: ``start`` + ``days``, moved to the next working day
        when it falls on a rest day. Fractions round up; +0 is ``start`` itself.

        >>> from datetime import date
        >>> WorkingCalendar().add_calendar_days(date(2025, 9, 26), 5)   # 10-01 is 国庆
        datetime.date(2025, 10, 9)
        """
        n = _days_count(days)
        if n == 0:
            return start
        try:
            end = start + timedelta(days=n)
        except OverflowError:
            raise CalendarError(f"{start} + {n} days is past 9999-12-31; check the date and "
                                "day count") from None
        return end if self.is_working_day(end) else self.add_working_days(end, 1)

    def working_days_in(self, year: int) -> int:
        """How many working days ``year`` has.

        >>> WorkingCalendar().working_days_in(2024)
        251
        """
        ordinals = self._cover(year, year)
        return bisect.bisect_right(ordinals, date(year, 12, 31).toordinal()) - (
            bisect.bisect_left(ordinals, date(year, 1, 1).toordinal())
        )

    def opening_hours(self, day: date) -> list[tuple[time, time]]:
        """When the window is open on ``day``: ``[]`` on closed days.

        Working days use the weekday's hours from the overrides, else the default
        9:00–12:00 and 13:30–17:30 (a weekend working day, such as 调休, uses the default).
        A weekend outside any holiday break or closure is open
        only when an override gives that weekday hours (周末不打烊).

        >>> from datetime import date
        >>> WorkingCalendar().opening_hours(date(2025, 1, 24))
        [(datetime.time(9, 0), datetime.time(12, 0)), (datetime.time(13, 30), datetime.time(17, 30))]
        >>> WorkingCalendar().opening_hours(date(2025, 1, 25))
        []
        """
        weekday = WEEKDAYS[day.weekday()]
        if self.is_working_day(day):
            if day.weekday() >= 5:  # a 调休 or extra working day keeps weekday hours
                return list(self._hours["default"])
            return list(self._hours.get(weekday, self._hours["default"]))
        if day.weekday() < 5 or self._in_break(day):
            return []
        return list(self._hours.get(weekday, ()))

    # -- building ----------------------------------------------------------------------------
    def _cover(self, first_year: int, last_year: int) -> list[int]:
        """Sorted working-day ordinals covering at least ``first_year``–``last_year``."""
        first, last, ordinals = self._built
        if first_year < first or last_year > last:
            self._extend_to(first_year)
            ordinals = self._extend_to(last_year)
        return ordinals

    def _extend_to(self, year: int) -> list[int]:
        if not 1 <= year <= 9999:
            raise CalendarError(f"year {year} is outside 1–9999; check the date and day count")
        with self._lock:
            first, last, ordinals = self._built
            if first <= year <= last:
                return ordinals
            lo, hi = (year, year) if last < first else (min(year, first), max(year, last))
            new = [y for y in range(lo, hi + 1) if not first <= y <= last]
            self._warn_missing(new)
            ordinals = sorted([*ordinals, *self._working_ordinals(new)])
            self._built = (lo, hi, ordinals)
            return ordinals

    def _warn_missing(self, years: list[int]) -> None:
        official = official_years()
        missing = [y for y in years if y not in official and y not in self._warned
                   and y not in self._scheduled]
        if not missing or not self.warn_missing_years:
            return
        self._warned.update(missing)
        span = f"{missing[0]}" if len(missing) == 1 else f"{missing[0]}–{missing[-1]}"
        warnings.warn(
            f"no official holiday data for {span} (official data covers {official[0]}–"
            f"{official[-1]}); counting only weekends as rest days there — add the year's "
            "holidays to a calendar override file or upgrade the holidays package",
            CalendarWarning,
            stacklevel=5,
        )

    def _working_ordinals(self, years: list[int]) -> list[int]:
        if not years:
            return []
        official = _official()
        rest, extra = official.rest, official.worked
        out = []
        for year in years:
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            for ordinal in range(first, last + 1):
                if ordinal in self._closed:
                    continue
                weekend = (ordinal - 1) % 7 >= 5  # ordinal 1 (0001-01-01) is a Monday
                if ordinal in self._opened or ordinal in extra or not (weekend or ordinal in rest):
                    out.append(ordinal)
        return out

    def _in_break(self, day: date) -> bool:
        """Whether the run of rest days around ``day`` holds a holiday or a closure."""
        for step in (-1, 1):
            d = day
            while not self.is_working_day(d):
                if d.toordinal() in self._closed or d.toordinal() in _official().rest:
                    return True
                d += timedelta(days=step)
        return False

    # -- override files ----------------------------------------------------------------------
    def _apply_override(self, path: Path) -> None:
        file = str(path)
        data = _read_override(path)
        fields = ("closures", "working_days", "opening_hours", "schedule_years")
        unknown = [k for k in data if k not in ("name", *fields)]
        if unknown:
            raise reading_error("calendar_unknown_field", {"field": shown(unknown[0])},
                                kind=CalendarError, file=file,
                                suggestion=did_you_mean(unknown[0], fields))
        self._scheduled.update(_years(data.get("schedule_years"), file))
        closed = _dates(data.get("closures"), file, "closures")
        opened = _dates(data.get("working_days"), file, "working_days")
        both = sorted(set(closed) & set(opened))
        if both:
            day = date.fromordinal(both[0])
            raise reading_error("calendar_both", {"day": day}, kind=CalendarError, file=file,
                                path="working_days")
        for ordinal, note in closed.items():
            self._opened.pop(ordinal, None)
            self._closed[ordinal] = note
        for ordinal, note in opened.items():
            self._closed.pop(ordinal, None)
            self._opened[ordinal] = note
        self._hours.update(_opening_hours(data.get("opening_hours"), file))


def _years(entries: Any, file: str) -> list[int]:
    """``schedule_years``: the years whose State Council schedule the file carries in full
    (no warning about missing official data for them)."""
    if entries is None:
        return []
    items = entries if isinstance(entries, list) else [entries]
    years = []
    for i, item in enumerate(items):
        if not re.fullmatch(r"\d{4}", str(item).strip()):
            raise reading_error("calendar_not_year", {"value": shown(item)}, kind=CalendarError,
                                file=file, path=f"schedule_years[{i}]")
        years.append(int(str(item).strip()))
    return years


def _read_override(path: Path) -> dict[str, Any]:
    from process_models.loading import read_text
    from process_models.yaml_loader import load_yaml

    try:
        text = read_text(path)
    except ProcedureSyntaxError as e:
        raise CalendarError(e.message, file=e.file, line=e.line, reason=e.reason,
                            values=e.values) from None
    # every scalar stays text: dates are parsed here
    data, _ = load_yaml(text, file=str(path), error=CalendarError, plain=True)
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise reading_error("calendar_not_mapping", kind=CalendarError, file=str(path), line=1)
    return data


def _dates(entries: Any, file: str, field: str) -> dict[int, str]:
    """Ordinals → notes from a list of dates, ``{date, note}`` or ``{from, to, note}``."""
    if entries is None or entries == "":
        return {}
    if not isinstance(entries, list):
        raise reading_error("calendar_not_dates", {"value": shown(entries)}, kind=CalendarError,
                            file=file, path=field)
    out: dict[int, str] = {}
    for i, entry in enumerate(entries):
        where = f"{field}[{i}]"
        if isinstance(entry, dict):
            keys = set(entry)
            if keys <= {"date", "note"} and "date" in keys:
                first = last = parse_date(entry["date"], file=file, path=f"{where}.date")
            elif keys <= {"from", "to", "note"} and {"from", "to"} <= keys:
                first = parse_date(entry["from"], file=file, path=f"{where}.from")
                last = parse_date(entry["to"], file=file, path=f"{where}.to")
                if last < first:
                    raise reading_error("calendar_to_before_from", {"to": last, "start": first},
                                        kind=CalendarError, file=file, path=where)
            else:
                raise reading_error("calendar_entry_keys", {"keys": ", ".join(map(str, entry))},
                                    kind=CalendarError, file=file, path=where)
            note = str(entry.get("note", ""))
        elif isinstance(entry, str):
            first = last = parse_date(entry, file=file, path=where)
            note = ""
        else:
            raise reading_error("calendar_date_entry", {"value": shown(entry)},
                                kind=CalendarError, file=file, path=where)
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            out[ordinal] = note
    return out


def _opening_hours(entries: Any, file: str) -> dict[str, tuple[tuple[time, time], ...]]:
    if entries is None or entries == "":
        return {}
    if not isinstance(entries, dict):
        raise reading_error("hours_not_mapping", kind=CalendarError, file=file,
                            path="opening_hours")
    out = {}
    for key, spans in entries.items():
        where = f"opening_hours.{key}"
        name = str(key).strip().lower()
        if name not in (*WEEKDAYS, "default"):
            raise reading_error("hours_unknown_weekday", {"value": shown(key)},
                                kind=CalendarError, file=file, path="opening_hours",
                                suggestion=did_you_mean(name, [*WEEKDAYS, "default"]))
        if isinstance(spans, str):
            spans = [spans] if spans else []
        if not isinstance(spans, list):
            raise reading_error("hours_not_list", {"value": shown(spans)}, kind=CalendarError,
                                file=file, path=where)
        parsed = [_span(s, file, f"{where}[{j}]") for j, s in enumerate(spans)]
        parsed.sort()
        for (_, end), (start, _) in pairwise(parsed):
            if start < end:
                raise reading_error("hours_overlap", {"at": f"{start:%H:%M}"},
                                    kind=CalendarError, file=file, path=where)
        out[name] = tuple(parsed)
    return out


def _span(text: Any, file: str, where: str) -> tuple[time, time]:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–~]\s*(\d{1,2}):(\d{2})\s*", str(text))
    try:
        if not match:
            raise ValueError
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise reading_error("hours_not_span", {"value": shown(text)}, kind=CalendarError,
                            file=file, path=where) from None
    if end <= start:
        raise reading_error("hours_backwards", {"value": shown(text)}, kind=CalendarError,
                            file=file, path=where)
    return start, end


@cache
def default_calendar() -> WorkingCalendar:
    """The calendar built from ``settings.calendar_overrides`` (one per process).

    >>> default_calendar() is default_calendar()
    True
    """
    from process_models._env import configured

    if not configured():  # no override files can be set: spare loading the settings
        return WorkingCalendar()
    from process_models.settings import settings

    return WorkingCalendar(settings.calendar_overrides)


def add_working_days(start: date, days: float) -> date:
    """:meth:`WorkingCalendar.add_working_days` on the :func:`default_calendar`.

    >>> from datetime import date
    >>> add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)
    True
    """
    return default_calendar().add_working_days(start, days)


def working_days_between(start: date, end: date) -> int:
    """:meth:`WorkingCalendar.working_days_between` on the :func:`default_calendar`.

    >>> from datetime import date
    >>> working_days_between(date(2025, 4, 25), date(2025, 4, 29))
    3
    """
    return default_calendar().working_days_between(start, end)


class _CountryCalendar(WorkingCalendar):
    """Monday to Friday less the public holidays the ``holidays`` package knows for one
    country (no 调休; no override files)."""

    def __init__(self, country: str) -> None:
        super().__init__(warn_missing_years=False)
        self.country = country

    def __repr__(self) -> str:
        return f"country_calendar({self.country!r})"

    def _working_ordinals(self, years: list[int]) -> list[int]:
        import holidays

        rest = {d.toordinal() for d in holidays.country_holidays(self.country, years=years)}
        return [o for year in years
                for o in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1)
                if (o - 1) % 7 < 5 and o not in rest]


def country_calendar(country: str = "CN") -> WorkingCalendar:
    """The working days of ``country`` (an ISO 3166 code): ``CN`` is the
    :func:`default_calendar` with its 调休 and overrides; any other country is Monday to
    Friday less its public holidays from the ``holidays`` package.

    >>> from datetime import date
    >>> nl = country_calendar("NL")
    >>> nl.is_working_day(date(2011, 4, 30)), nl.is_working_day(date(2011, 4, 25))  # Easter Monday
    (False, False)
    >>> nl.working_days_between(date(2011, 12, 23), date(2011, 12, 28))   # Mon 26: 2nd Christmas Day
    2
    """
    code = country.strip().upper()
    if code == "CN":
        return default_calendar()
    import holidays

    supported = holidays.list_supported_countries()
    if code not in supported:
        raise CalendarError(f"--calendar: no public holidays known for '{country}'; give an "
                            "ISO 3166 country code such as CN, NL or DE",
                            suggestion=did_you_mean(code, supported))
    return _country_calendars(code)


@cache
def _country_calendars(code: str) -> WorkingCalendar:
    return _CountryCalendar(code)
