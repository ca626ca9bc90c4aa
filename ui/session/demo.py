"""The demo history: written through ``append`` like any other writer, with its snapshots."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from model.demo import demo_streams
from model.errors import ConflictError, EventLensError
from model.ports import EventStore
from model.reducer import Reducer, default_reducer
from model.snapshot import take_snapshot
from ui.session.jobs import Task

#: Events per append: large enough to be fast, small enough to bound memory.
DEMO_CHUNK = 5000
FIRST_RUN_STREAMS, FIRST_RUN_EVENTS = 12, 300


@dataclass(frozen=True)
class DemoWritten:
    streams: int
    events: int
    snapshots: int


def write_demo(store: EventStore, *, streams: int = FIRST_RUN_STREAMS, events_per_stream: int = FIRST_RUN_EVENTS,
               seed: int = 0, reducer: Reducer | None = None, created_by: str = "eventlens demo",
               task: Task | None = None) -> DemoWritten:
    """Write the demo history (chunked appends, expected versions), then its snapshots.

    The store must not hold the demo's streams already: each stream's first append expects
    version 0, so writing into a store that has them stops at its first stream with a
    one-line error and writes nothing. An interrupted run keeps the chunks already appended.
    """
    reducer = reducer or default_reducer()
    total = streams * events_per_stream
    written = written_streams = snapshots = 0
    plans = []
    for demo in demo_streams(streams, events_per_stream, seed):
        plans.append((demo.stream_id, demo.snapshot_at))
        version = 0
        while chunk := list(islice(demo.events, DEMO_CHUNK)):
            if task is not None:
                task.between_batches()
            try:
                version = store.append(demo.stream_id, chunk, version, stream_type=demo.stream_type)
            except ConflictError as conflict:
                if conflict.expected == 0:
                    raise EventLensError(f"the store already holds stream {demo.stream_id!r}; demo writes into an "
                                         "empty store (choose another --db or file)") from None
                raise
            written += len(chunk)
            if task is not None:
                task.progress(written, total, "writing the demo history")
        written_streams += 1
    for stream_id, versions in plans:
        for version in versions:
            snapshot = take_snapshot(store, stream_id, reducer, version=version, created_by=created_by)
            snapshots += bool(store.save_snapshot(snapshot))
    return DemoWritten(written_streams, written, snapshots)
