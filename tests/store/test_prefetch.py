"""store.prefetch: a cursor read ahead by a thread keeps its order, its errors and its end."""
from __future__ import annotations

import threading

import pytest

from store.prefetch import prefetched


class Closing:
    """An iterable that records being closed, as a pymongo cursor is."""

    def __init__(self, items, fail_at: int | None = None):
        self.items, self.fail_at = items, fail_at
        self.closed = threading.Event()

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.fail_at:
                raise ConnectionError("server went away")
            yield item

    def close(self) -> None:
        self.closed.set()


def test_every_document_in_order_and_the_cursor_closed():
    source = Closing(range(10_503))
    assert list(prefetched(source, chunk=100, depth=2)) == list(range(10_503))
    assert source.closed.wait(10)


def test_an_error_while_reading_is_raised_to_the_reader_after_what_came_before():
    source = Closing(range(1_000), fail_at=250)
    seen = []
    with pytest.raises(ConnectionError, match="server went away"):
        for item in prefetched(source, chunk=50):
            seen.append(item)
    assert seen == list(range(250)) and source.closed.wait(10)


def test_stopping_early_stops_the_reading_thread_and_closes_the_cursor():
    source = Closing(range(1_000_000))
    for item in prefetched(source, chunk=100, depth=2):
        if item == 150:
            break
    assert source.closed.wait(10)  # the reader put at most depth chunks more, then stopped


def test_a_real_cursor_reads_ahead_in_order(mongo_client, mongo_db_name):
    collection = mongo_client[mongo_db_name]["docs"]
    collection.insert_many([{"_id": i} for i in range(3_000)])
    cursor = collection.find({}, batch_size=500).sort("_id", 1)
    assert [d["_id"] for d in prefetched(cursor, chunk=200)] == list(range(3_000))
