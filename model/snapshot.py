"""Taking snapshots and verifying them against a full replay."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from model.diff import Diff, diff
from model.errors import EventLensError
from model.event import Snapshot
from model.freeze import thaw
from model.ports import EventSource
from model.reconstruct import reconstruct
from model.reducer import Reducer


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class Verification:
    """``ok`` when the snapshot equals a full replay; else ``diff`` (snapshot -> replay) or ``error``."""

    snapshot: Snapshot
    ok: bool
    diff: Diff | None = None
    error: EventLensError | None = None


def take_snapshot(
    source: EventSource,
    stream_id: str,
    reducer: Reducer,
    *,
    version: int | None = None,
    created_by: str = "",
    clock: Callable[[], datetime] = utc_now,
    use_snapshots: bool = False,
) -> Snapshot:
    """The snapshot of ``stream_id`` after ``version`` (default: the last), built from a full replay.

    Only builds the value; the caller saves it with ``store.save_snapshot``. A full replay by
    default so that one wrong snapshot can never seed the next.
    """
    result = reconstruct(source, stream_id, reducer, version=version, use_snapshots=use_snapshots)
    if result.version < 1:
        raise EventLensError(f"stream {stream_id!r}: no event to snapshot at version {result.version}")
    return Snapshot(
        stream_id=stream_id,
        version=result.version,
        state=thaw(result.state),
        reducer=reducer.id,
        created_at=clock(),
        created_by=created_by,
    )


def verify_snapshot(source: EventSource, snapshot: Snapshot, reducer: Reducer) -> Verification:
    """Compare a snapshot with a full replay from version 1 to its version."""
    try:
        replayed = reconstruct(source, snapshot.stream_id, reducer, version=snapshot.version, use_snapshots=False)
    except EventLensError as error:
        return Verification(snapshot, ok=False, error=error)
    difference = diff(snapshot.state, replayed.state)
    return Verification(snapshot, ok=difference.is_empty, diff=difference)
