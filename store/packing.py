"""Streams read in their packed form: the index as plain columns, payloads as the BSON the store keeps.

A loaded stream (``model.loaded.LoadedStream``) keeps payloads packed and decodes them for
the rows shown and the events folded; the native stores hand them over as their BSON bytes,
one joined buffer per batch with offsets, so a loaded event costs its bytes and a few more.
"""
from __future__ import annotations

import datetime as _dt
from array import array
from itertools import accumulate
from typing import Any, Iterable, Mapping, Sequence

import bson
from bson.errors import BSONError

from model.freeze import ThawedDict, freeze_each
from model.loaded import NO_TIME, to_micros
from model.ports import IndexBatch, PayloadBatch
from store.codec import CODEC_OPTIONS

_FRESH = CODEC_OPTIONS.with_options(document_class=ThawedDict)
_EMPTY = freeze_each([ThawedDict()])[0]


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:120]


class BsonPayloads(PayloadBatch):
    """A batch's data and metadata as BSON bytes, joined with offsets; decoded a slice at a time.

    ``problems`` maps a position to what was wrong with the stored payload itself (not a
    document, not BSON): such an event decodes to empty payloads and carries the problem.
    """

    def __init__(self, first_version: int, datas: Sequence[bytes], metas: Sequence[bytes],
                 problems: Mapping[int, tuple[str, ...]] | None = None):
        self.first_version = first_version
        self._count = len(datas)
        self._data = b"".join(datas)
        self._meta = b"".join(metas)
        self._data_at = array("I", accumulate(map(len, datas), initial=0))
        self._meta_at = array("I", accumulate(map(len, metas), initial=0))
        self._problems = dict(problems or {})

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return len(self._data) + len(self._meta) + 8 * (self._count + 1) + 100

    def decode(self, start: int, stop: int):
        stop = min(stop, self._count)
        if stop <= start:
            return [], [], {}
        problems = {i - start: p for i, p in self._problems.items() if start <= i < stop}
        datas = self._decode_run(self._data, self._data_at, start, stop, "data", problems)
        metas = self._decode_run(self._meta, self._meta_at, start, stop, "metadata", problems)
        return datas, metas, problems

    @staticmethod
    def _decode_run(blob: bytes, at: array, start: int, stop: int, field: str,
                    problems: dict[int, tuple[str, ...]]) -> list[Any]:
        # one C call for the run; a damaged payload (copied badly, edited by hand) decodes row by row
        try:
            values = bson.decode_all(blob[at[start]:at[stop]], _FRESH)
            if len(values) == stop - start:
                return _frozen(values)
        except (BSONError, TypeError, ValueError, OverflowError):
            pass
        out = []
        for i in range(start, stop):
            piece = blob[at[i]:at[i + 1]]
            if not piece:
                out.append(_EMPTY)  # no payload stored: already named in the batch's problems
                continue
            try:
                out.append(_frozen([bson.decode(piece, _FRESH)])[0])
            except (BSONError, TypeError, ValueError, OverflowError) as error:
                out.append(_EMPTY)
                problems[i - start] = problems.get(i - start, ()) + (
                    f"field {field!r} does not decode: {_first_line(error)}",)
        return out


def _frozen(values: list[Any]) -> list[Any]:
    try:
        return freeze_each(values)
    except RecursionError:
        return values  # nested too deeply to freeze: left to the fold, which reports it per event


def index_batch(versions: Sequence[Any], times: Iterable[Any], types: Iterable[Any], stream_types: Iterable[Any],
                *, time_is_micros: bool = False) -> IndexBatch:
    """An index batch from columns as a store returns them; odd values are kept as problems, never raised."""
    problems: dict[int, tuple[str, ...]] = {}
    times = times if isinstance(times, (list, tuple)) else list(times)
    types = types if isinstance(types, (list, tuple)) else list(types)
    # the usual batch is all plain values: checked in C, taken as they are
    if time_is_micros and set(map(type, times)) <= {int}:
        micros = times
    elif not time_is_micros and set(map(type, times)) <= {_dt.datetime}:
        micros = list(map(to_micros, times))
    else:
        micros = []
        for i, value in enumerate(times):
            if time_is_micros and type(value) is int:
                micros.append(value)
                continue
            t = to_micros(value) if isinstance(value, _dt.datetime) else NO_TIME
            if t == NO_TIME:
                problems[i] = (f"field 'recorded_at' is {type(value).__name__} {value!r:.40}, not a time",)
            micros.append(t)
    if set(map(type, types)) <= {str}:
        names = types
    else:
        names = []
        for i, value in enumerate(types):
            if isinstance(value, str):
                names.append(value)
            else:
                names.append("" if value is None else str(value))
                problems[i] = problems.get(i, ()) + (f"field 'type' is {type(value).__name__}, not str",)
    stream_type = next((t for t in stream_types if isinstance(t, str) and t), "")
    if set(map(type, versions)) <= {int}:
        numbers = versions
    else:
        numbers = [v if type(v) is int else (int(v) if isinstance(v, float) and v.is_integer() else v) for v in versions]
    return IndexBatch(numbers, micros, names, problems, stream_type)


def raw_payload(value: Any, field: str) -> tuple[bytes, tuple[str, ...]]:
    """The BSON bytes of a payload read as a raw document, or empty bytes and the problem."""
    raw = getattr(value, "raw", None)
    if isinstance(raw, bytes):
        return raw, ()
    if value is None:
        return b"", (f"missing field {field!r}",)
    return b"", (f"field {field!r} is {type(value).__name__}, not a document",)

