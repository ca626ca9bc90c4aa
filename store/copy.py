"""Copy streams with their snapshots from one store into another (typically an embedded file)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from model.errors import ConflictError, StreamNotFound
from model.event import NewEvent
from model.ports import EventStore

#: Events per append on the target: bounded memory, and each chunk is committed on its own.
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class CopyResult:
    streams: int
    events: int
    snapshots: int


def _all_stream_ids(source: EventStore) -> list[str]:
    ids, offset = [], 0
    while True:
        page = source.streams(offset=offset, limit=1000)
        ids.extend(info.stream_id for info in page)
        if len(page) < 1000:
            return ids
        offset += len(page)


def copy_streams(
    source: EventStore,
    target: EventStore,
    stream_ids: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CopyResult:
    """Copy events (same versions, times and stream types) and snapshots; ``progress(copied, total)``.

    A stream the target already has is continued after the target's last version, so copying
    again brings a copy up to date; a target that is ahead of the source is a conflict.
    """
    ids = list(stream_ids) if stream_ids is not None else _all_stream_ids(source)
    infos = []
    for stream_id in ids:
        info = source.stream(stream_id)
        if info is None:
            raise StreamNotFound(stream_id)
        infos.append(info)
    total = sum(info.last_version for info in infos)
    copied = events = snapshots = 0
    for info in infos:
        existing = target.stream(info.stream_id)
        version = existing.last_version if existing else 0
        if version > info.last_version:
            raise ConflictError(info.stream_id, info.last_version, version)
        copied += version  # already there
        for batch in source.read(info.stream_id, from_version=version + 1, to_version=info.last_version,
                                 batch_size=CHUNK):
            chunk = [NewEvent(e.type, e.data, e.metadata, e.time) for e in batch]
            version = target.append(info.stream_id, chunk, version, stream_type=info.stream_type)
            copied += len(chunk)
            events += len(chunk)
            if progress is not None:
                progress(copied, total)
        for snapshot in source.snapshots(info.stream_id):
            snapshots += bool(target.save_snapshot(snapshot))
    if progress is not None:
        progress(copied, total)
    return CopyResult(streams=len(infos), events=events, snapshots=snapshots)
