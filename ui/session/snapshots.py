"""Snapshots on demand: the one rule for where they may go, creating one, verifying one.

The rule is the same from the window and the command line: a read-only connection refuses
before anything reaches the store; any other store takes the snapshot where it says it keeps
EventLens's snapshots (``EventSource.snapshot_destination``: its own collection, or
``eventlens_snapshots`` beside a foreign tool's). Events are never changed.
"""
from __future__ import annotations

from dataclasses import dataclass

from model.errors import ReadOnlyError
from model.event import Snapshot
from model.ports import EventSource
from model.reducer import Reducer
from model.snapshot import Verification, take_snapshot, verify_snapshot
from ui.session.jobs import Job, Task


@dataclass(frozen=True)
class SnapshotTarget:
    """Whether a snapshot may be created here, where it goes, and why not."""

    allowed: bool
    where: str
    reason: str = ""


def snapshot_target(store: EventSource) -> SnapshotTarget:
    """Where a snapshot of this store would be written, or why it is refused."""
    if store.read_only:
        return SnapshotTarget(False, "", "Read-only connection: snapshots cannot be created.")
    return SnapshotTarget(True, store.snapshot_destination())


def confirmation(store: EventSource, stream_id: str, version: int, reducer: Reducer) -> str:
    """The question a person answers before a snapshot is written."""
    return (f"Create a snapshot of stream {stream_id!r} at version {version:,} with reducer {reducer.name!r}?\n\n"
            f"It will be written to {snapshot_target(store).where}. Events are never changed.")


@dataclass(frozen=True)
class Created:
    """A snapshot taken; ``saved`` is False when the same one (stream, version, reducer) existed."""

    saved: bool
    snapshot: Snapshot
    snapshots: list[Snapshot]


def create_snapshot(store: EventSource, stream_id: str, reducer: Reducer, *, version: int | None = None,
                    created_by: str) -> Created:
    """Take a snapshot from a full replay and save it; ReadOnlyError before any write when refused."""
    target = snapshot_target(store)
    if not target.allowed:
        raise ReadOnlyError(f"create a snapshot of {stream_id!r}")
    snapshot = take_snapshot(store, stream_id, reducer, version=version, created_by=created_by)
    saved = store.save_snapshot(snapshot)
    return Created(saved, snapshot, store.snapshots(stream_id))


def create_job(store: EventSource, stream_id: str, reducer: Reducer, version: int, created_by: str) -> Job[Created]:
    def work(task: Task) -> Created:
        task.raise_if_cancelled()
        return create_snapshot(store, stream_id, reducer, version=version, created_by=created_by)

    return Job(f"snapshot of {stream_id} at {version}", work, cancellable=False, shown=True)


def verify_job(store: EventSource, snapshot: Snapshot, reducer: Reducer) -> Job[Verification]:
    return Job(f"verifying snapshot at {snapshot.version}", lambda task: verify_snapshot(store, snapshot, reducer),
               shown=True)
