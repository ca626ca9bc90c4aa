"""The timeline's columns: versions, times in epoch seconds and coded types, built off the UI thread.

The worker builds a batch's columns (``columns_of``), so the UI thread appends numpy arrays and
never walks the events.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from model.errors import EventLensError
from model.event import Event

#: Types are coded as int16: at most this many distinct types in one stream.
MAX_TYPES = int(np.iinfo(np.int16).max)


@dataclass(frozen=True)
class CodedTypes:
    """Event types as small integers, ``names[codes[i]]`` being event i's type."""

    names: tuple[str, ...]
    codes: np.ndarray  # int16

    def __len__(self) -> int:
        return len(self.codes)


def code_types(types: Sequence[str]) -> CodedTypes:
    """The types coded in order of first appearance."""
    names = tuple(dict.fromkeys(types))
    if len(names) > MAX_TYPES:
        raise EventLensError(f"timeline: more than {MAX_TYPES} event types")
    lookup = {name: i for i, name in enumerate(names)}
    return CodedTypes(names, np.fromiter(map(lookup.__getitem__, types), dtype=np.int16, count=len(types)))


def concat_types(parts: Sequence[CodedTypes]) -> CodedTypes:
    """Several batches' coded types as one (their names merged in order of first appearance)."""
    names = tuple(dict.fromkeys(name for part in parts for name in part.names))
    lookup = {name: i for i, name in enumerate(names)}
    codes = [np.array([lookup[n] for n in part.names], dtype=np.int16)[part.codes] for part in parts if len(part)]
    return CodedTypes(names, np.concatenate(codes) if codes else np.empty(0, np.int16))


@dataclass(frozen=True)
class Columns:
    """One batch of the timeline's columns: versions, epoch seconds (NaN: no time) and coded types."""

    versions: np.ndarray
    times: np.ndarray
    types: CodedTypes

    def __post_init__(self) -> None:
        if not (len(self.versions) == len(self.times) == len(self.types)):
            raise EventLensError(f"timeline: {len(self.versions)} versions, {len(self.times)} times and "
                                 f"{len(self.types)} types do not match")

    def __len__(self) -> int:
        return len(self.versions)

    @staticmethod
    def join(parts: Sequence["Columns"]) -> "Columns":
        """Several batches' columns as one."""
        if len(parts) == 1:
            return parts[0]
        return Columns(np.concatenate([p.versions for p in parts]) if parts else np.empty(0, np.int64),
                       np.concatenate([p.times for p in parts]) if parts else np.empty(0),
                       concat_types(parts and [p.types for p in parts]))


def _seconds(moment: object) -> float:
    try:
        return moment.timestamp()  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError, OverflowError):
        return math.nan  # no time, or one that is not a time: the event still has its version


def columns_of(events: Sequence[Event]) -> Columns:
    """The timeline's columns of these events (a Python pass over them: run it in the worker)."""
    versions = np.fromiter((e.version for e in events), dtype=np.int64, count=len(events))
    times = np.fromiter((_seconds(e.time) for e in events), dtype=np.float64, count=len(events))
    return Columns(versions, times, code_types([e.type for e in events]))


def make_columns(versions: Iterable[int], times: Iterable[float], types: Sequence[str]) -> Columns:
    """Columns from plain sequences (tests, exports)."""
    return Columns(np.asarray(list(versions), dtype=np.int64), np.asarray(list(times), dtype=np.float64),
                   code_types(list(types)))


class Growable:
    """A numpy array that grows in place: appending costs amortised O(appended)."""

    def __init__(self, dtype: type) -> None:
        self._array = np.empty(0, dtype)
        self.n = 0

    def reserve(self, size: int) -> None:
        if size > len(self._array):
            grown = np.empty(size, self._array.dtype)
            grown[: self.n] = self._array[: self.n]
            self._array = grown

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self._array):
            self.reserve(max(need, 2 * len(self._array), 256))
        self._array[self.n : need] = values
        self.n = need

    @property
    def values(self) -> np.ndarray:
        return self._array[: self.n]


