"""What the model needs from a store, as a protocol: the model never imports the store."""
from __future__ import annotations

from datetime import datetime
from typing import Iterator, Protocol

from model.event import Event, ReducerId, Snapshot, StreamInfo


class EventSource(Protocol):
    def stream(self, stream_id: str) -> StreamInfo | None: ...

    def read(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        to_version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        batch_size: int = 1000,
    ) -> Iterator[list[Event]]: ...

    def version_at(self, stream_id: str, moment: datetime) -> int: ...

    def snapshots(self, stream_id: str) -> list[Snapshot]: ...

    def latest_snapshot(self, stream_id: str, *, at_or_before: int, reducer: ReducerId) -> Snapshot | None: ...
