"""State at a version or a moment: the latest usable snapshot, then only the events after it."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from model.errors import CancelledError, EventLensError, StreamNotFound, VersionError
from model.event import Snapshot
from model.freeze import freeze
from model.ports import EventSource
from model.reducer import Reducer
from model.replay import EMPTY_STATE, fold_partial


@dataclass(frozen=True, slots=True)
class Reconstruction:
    """The state after ``version``; ``snapshot`` it started from (or None); ``folded`` events applied."""

    state: Mapping[str, Any]
    version: int
    snapshot: Snapshot | None
    folded: int


def choose_snapshot(
    source: EventSource, stream_id: str, reducer: Reducer, target: int, *, trust_foreign: bool = False
) -> Snapshot | None:
    """The snapshot to start from: the highest version <= ``target`` by this reducer (foreign ones when trusted)."""
    candidates: list[Snapshot] = []
    own = source.latest_snapshot(stream_id, at_or_before=target, reducer=reducer.id)
    if own is not None and not own.foreign and own.version <= target:
        candidates.append(own)
    if (own is not None and own.foreign) or trust_foreign:
        # By version, never by created_at: an older snapshot may have been written later.
        for snap in source.snapshots(stream_id):
            if snap.version > target or snap.version < 1:
                continue
            if snap.foreign and trust_foreign:
                candidates.append(snap)
            elif not snap.foreign and snap.reducer == reducer.id:
                candidates.append(snap)
    return max(candidates, key=lambda s: s.version, default=None)


def target_version(source: EventSource, stream_id: str, *, version: int | None = None, at: datetime | None = None) -> int:
    """Resolve ``version``/``at`` to a version of an existing stream, or raise a one-line error."""
    info = source.stream(stream_id)
    if info is None:
        raise StreamNotFound(stream_id)
    if version is not None and at is not None:
        raise EventLensError("give either a version or a moment, not both")
    if at is not None:
        if at.tzinfo is None:
            raise EventLensError(f"moment {at.isoformat()} has no time zone; give one (for example +00:00)")
        return source.version_at(stream_id, at)
    if version is None:
        return info.last_version
    if type(version) is not int or version < 0:
        raise EventLensError(f"stream {stream_id!r}: version must be a whole number >= 0, not {version!r}")
    if version > info.last_version:
        raise EventLensError(
            f"stream {stream_id!r} has no version {version}: its last version is {info.last_version}"
        )
    return version


def reconstruct(
    source: EventSource,
    stream_id: str,
    reducer: Reducer,
    *,
    version: int | None = None,
    at: datetime | None = None,
    use_snapshots: bool = True,
    trust_foreign: bool = False,
    batch_size: int = 2000,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Reconstruction:
    """The state of ``stream_id`` after ``version`` (default: the last) or at the moment ``at``."""
    target = target_version(source, stream_id, version=version, at=at)
    snapshot = None
    if use_snapshots and target > 0:
        snapshot = choose_snapshot(source, stream_id, reducer, target, trust_foreign=trust_foreign)
    state = freeze(snapshot.state) if snapshot is not None else EMPTY_STATE
    reached = snapshot.version if snapshot is not None else 0
    start = reached
    total = target - start
    if reached < target:
        for batch in source.read(stream_id, from_version=reached + 1, to_version=target, batch_size=batch_size):
            if cancel is not None and cancel():
                raise CancelledError("reconstruction")
            batch = [e for e in batch if type(e.version) is not int or e.version <= target]
            state, last, _, error = fold_partial(state, batch, reducer, stream_id, reached)
            if error is not None:
                raise error
            reached = last if last is not None else reached
            if progress is not None:
                progress(reached - start, total)
            if reached >= target:
                break
    if reached != target:
        raise VersionError(stream_id, reached + 1, "end of stream")
    return Reconstruction(state, target, snapshot, target - start)
