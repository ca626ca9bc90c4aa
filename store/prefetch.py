"""Reading a long cursor while the server prepares the next batch.

pymongo asks for a cursor's next batch only once the current one is used up, so a scan that
does Python work per document waits for the server, then the server waits for it. Iterating
the cursor in a thread of its own (``prefetched``) overlaps the two: while this thread works
through one batch, the other already waits for the next (the socket read releases the GIL).
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Iterable, Iterator

_END = object()
CHUNK = 1_000  # documents handed over at a time
DEPTH = 8  # chunks read ahead at most


def prefetched(cursor: Iterable[Any], *, chunk: int = CHUNK, depth: int = DEPTH) -> Iterator[Any]:
    """The cursor's documents, in order, read ahead by a thread; an error in the read is raised here.

    Stopping early (an exception in the loop, a cancelled build) stops the reading thread at its
    next chunk and closes the cursor.
    """
    handoff: "queue.Queue[Any]" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            batch: list[Any] = []
            for doc in cursor:
                batch.append(doc)
                if len(batch) >= chunk:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_END)
        except BaseException as error:  # handed to the reader, raised there
            put(error)
        finally:
            close = getattr(cursor, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass

    thread = threading.Thread(target=read, name="eventlens-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
