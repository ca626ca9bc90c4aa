"""The stream list: a filter, a sort, and pages fetched as the user scrolls (never the whole list)."""
from __future__ import annotations

from typing import Iterator

from model.event import StreamInfo
from model.ports import EventSource
from ui.session.jobs import Job, Runner, Task
from ui.session.signals import Signal

PAGE_SIZE = 200
SORT_KEYS = ("stream_id", "stream_type", "events", "first_time", "last_time")


class StreamList:
    """Streams matching the filter, loaded a page at a time through the runner.

    ``reset`` fires when the rows are dropped (new store, filter or sort), ``added(start,
    end)`` when rows ``start..end-1`` arrive, ``counted(total)`` when the total is known and
    ``failed(error)`` when the store could not answer.

    A foreign store whose stream list cache is not built yet is not asked for a list it would
    have to build first: ``waiting`` is True (the session's build refreshes the list when it is
    done), except for a first page sorted by stream id that the server's stream-id index can
    give at once, whose total is counted afterwards.
    """

    def __init__(self, run: Runner, page_size: int = PAGE_SIZE):
        self._run, self.page_size = run, page_size
        self.store: EventSource | None = None
        self.rows: list[StreamInfo] = []
        self.total: int | None = None
        self.match: str | None = None
        self.stream_type: str | None = None
        self.sort, self.descending = "stream_id", False
        self.problems: dict[str, int] = {}
        self.waiting = False  # the store's stream list cache is being built; the rows come when it is done
        self._fetching = False
        self._generation = 0  # pages of an older filter are dropped
        self.reset, self.added, self.counted, self.failed = Signal(), Signal(), Signal(), Signal()
        self.marked = Signal()  # (stream_id): its integrity problems became known

    def set_store(self, store: EventSource | None) -> None:
        """Show the streams of ``store`` (None clears), with no filter."""
        self.store, self.match, self.stream_type, self.problems = store, None, None, {}
        self.refresh()

    def set_filter(self, match: str | None = None, stream_type: str | None = None) -> None:
        """Filter by stream id (text, glob or regular expression) and exact stream type."""
        self.match, self.stream_type = (match or None), (stream_type or None)
        self.refresh()

    def set_sort(self, key: str, descending: bool = False) -> None:
        if key not in SORT_KEYS:
            raise ValueError(f"unknown stream sort {key!r}")
        if (key, descending) != (self.sort, self.descending):
            self.sort, self.descending = key, descending
            self.refresh()

    def refresh(self) -> None:
        """Drop the rows, then count and load the first page again."""
        self._generation += 1
        self.rows, self.total, self._fetching, self.waiting = [], None, False, False
        self.reset.emit()
        if self.store is None:
            return
        store, gen, match, stream_type = self.store, self._generation, self.match, self.stream_type
        sort, descending, size = self.sort, self.descending, self.page_size

        def first_page(task: Task) -> tuple[int | None, list[StreamInfo] | None]:
            catalogue = store.catalogue()
            early = catalogue is not None and not catalogue.ready
            if early and not (catalogue.index_pages and stream_type is None and not match and sort == "stream_id"):
                return None, None  # wait for the build rather than build it here
            page = store.streams(type=stream_type, match=match, sort=sort, descending=descending, offset=0, limit=size)
            task.between_batches()
            if len(page) < size:
                return len(page), page
            return (None if early else store.count_streams(type=stream_type, match=match)), page

        self._fetching = True
        self._run(Job("list streams", first_page, on_result=lambda value: self._first(gen, *value),
                      on_error=lambda error: self._failed(gen, error)))

    def can_fetch_more(self) -> bool:
        return self.store is not None and self.total is not None and not self._fetching and len(self.rows) < self.total

    def fetch_more(self) -> None:
        """Load the next page (the view scrolled near the end)."""
        if not self.can_fetch_more():
            return
        store, gen, offset = self.store, self._generation, len(self.rows)
        match, stream_type, sort, descending, size = self.match, self.stream_type, self.sort, self.descending, self.page_size
        # in the id order the next page follows the last row (a keyset: as cheap deep in the list as at its top)
        place = {"after": self.rows[-1].stream_id} if sort == "stream_id" and self.rows else {"offset": offset}
        self._fetching = True
        self._run(Job("list streams",
                      lambda task: store.streams(type=stream_type, match=match, sort=sort, descending=descending,
                                                 limit=size, **place),
                      on_result=lambda page: self._next(gen, page), on_error=lambda error: self._failed(gen, error)))

    def mark_problems(self, stream_id: str, count: int) -> None:
        """Note how many integrity problems a stream has (the list marks it)."""
        self.problems[stream_id] = count
        self.marked.emit(stream_id)

    def row_of(self, stream_id: str) -> int:
        return next((i for i, info in enumerate(self.rows) if info.stream_id == stream_id), -1)

    # -- results -----------------------------------------------------------------------------
    def _first(self, gen: int, total: int | None, page: list[StreamInfo] | None) -> None:
        if gen != self._generation:
            return
        self._fetching = False
        if page is None:
            self.waiting = True
            return
        if total is None:  # a page from the stream-id index: the total is counted after it shows
            self._append(page)
            store, stream_type, match = self.store, self.stream_type, self.match
            self._run(Job("count streams", lambda task: store.count_streams(type=stream_type, match=match),
                          on_result=lambda n: self._count(gen, n), on_error=lambda error: self._failed(gen, error)))
            return
        self.total = total
        self.counted.emit(total)
        self._append(page)

    def _count(self, gen: int, total: int) -> None:
        if gen == self._generation:
            self.total = total
            self.counted.emit(total)

    def _next(self, gen: int, page: list[StreamInfo]) -> None:
        if gen != self._generation:
            return
        self._fetching = False
        if not page:  # the store shrank under us: stop asking
            self.total = len(self.rows)
        self._append(page)

    def _append(self, page: list[StreamInfo]) -> None:
        start = len(self.rows)
        self.rows.extend(page)
        self.added.emit(start, len(self.rows))

    def _failed(self, gen: int, error: BaseException) -> None:
        if gen == self._generation:
            self._fetching = False
            self.total = len(self.rows)  # stop paging until the next refresh
            self.failed.emit(error)


def every_stream(store: EventSource, *, page_size: int = 1000, **filters) -> Iterator[StreamInfo]:
    """Every stream the filter gives, a page at a time (the command line's listings, checks and as-of).

    In the stream id order each page follows the last id of the one before (``after``), so every
    page costs the same; the other orders page by offset, each page stepping past the ones before.
    """
    keyset = filters.get("sort", "stream_id") == "stream_id"
    offset, after = 0, None
    while True:
        page = store.streams(after=after, limit=page_size, **filters) if keyset else \
            store.streams(offset=offset, limit=page_size, **filters)
        yield from page
        if len(page) < page_size:
            return
        offset += len(page)
        after = page[-1].stream_id

