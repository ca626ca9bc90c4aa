"""Search across all streams: the results of one :class:`model.search.Search`, a page at a time.

``SearchResults`` runs its work through the runner: first the plan (what the store cannot do on
the server is said before anything is scanned), then the first page, then the total count (which
may take longer: it comes after the first page). More pages come on ``fetch_more``, each found by
key after the last one (never by skipping). A row opens its stream at its version
(``Session.open_at(*results.target(row))``).

Signals: ``planned(SearchPlan)`` before the scan, ``reset()``, ``added(start, end)`` for rows
``start..end-1``, ``counted(total)``, ``progress(done, total)`` while a store filters itself,
``finished()`` when no page is left, ``failed(text)``.
"""
from __future__ import annotations

from typing import Any, Iterator

from model.errors import CancelledError
from model.event import Event
from model.ports import EventSource, SearchPlan
from model.search import PAGE_SIZE, Search
from ui.session.jobs import Job, Runner, Task, run_now
from ui.session.signals import Signal
from ui.session.text import first_line


def checkpoint_of(task: Task, what: str):
    """A store checkpoint that reports progress on the task and stops when it is cancelled."""
    def checkpoint(done: int, total: int) -> None:
        task.progress(done, total, what)
        task.between_batches()
    return checkpoint


class SearchResults:
    """The rows found so far, the total when known, and the plan the store said it would follow."""

    def __init__(self, store: EventSource, search: Search, run: Runner = run_now, *, page_size: int = PAGE_SIZE):
        self.store, self.search, self._run, self.page_size = store, search, run, page_size
        self.query = search.query()
        self.rows: list[Event] = []
        self.total: int | None = None
        self.plan: SearchPlan | None = None
        self.error: str = ""
        self._after: Any = None
        self._more = True
        self._fetching = False
        self._tasks: list[Task] = []
        self.planned, self.reset, self.added, self.counted = Signal(), Signal(), Signal(), Signal()
        self.progress, self.finished, self.failed = Signal(), Signal(), Signal()

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> Task:
        """Plan, first page, then the count, each a job of its own (the count may be cancelled alone)."""
        self.rows, self.total, self._after, self._more, self.error = [], None, None, True, ""
        self.reset.emit()
        return self._remember(self._run(Job("planning the search", lambda task: self.store.search_plan(self.query),
                                            on_result=self._planned, on_error=self._failed)))

    def _planned(self, plan: SearchPlan) -> None:
        self.plan = plan
        self.planned.emit(plan)
        self.fetch_more()
        if self.total is None and self._more:
            self._remember(self._run(Job("counting matches", self._count, on_result=self._counted,
                                         on_error=self._count_failed, shown=True)))

    def _count(self, task: Task) -> int:
        return self.store.count_events(self.query, checkpoint=checkpoint_of(task, "counting matches"))

    def can_fetch_more(self) -> bool:
        return self._more and not self._fetching and not self.error

    def fetch_more(self) -> Task | None:
        """The next page (the view scrolled near the end)."""
        if not self.can_fetch_more():
            return None
        self._fetching = True
        after, sort = self._after, self.search.sort

        def work(task: Task):
            return self.store.search(self.query, sort=sort, after=after, limit=self.page_size,
                                     checkpoint=checkpoint_of(task, "searching"))

        return self._remember(self._run(Job("searching", work, on_result=self._page, on_error=self._failed,
                                            shown=True)))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    def target(self, row: int) -> tuple[str, int]:
        """The (stream id, version) a row opens."""
        event = self.rows[row]
        return event.stream_id, event.version

    @property
    def done(self) -> bool:
        return not self._more

    # -- results ------------------------------------------------------------------------------------
    def _remember(self, task: Task) -> Task:
        self._tasks = [t for t in self._tasks if not t.cancelled][-4:] + [task]
        return task

    def _page(self, page) -> None:
        self._fetching = False
        start = len(self.rows)
        self.rows.extend(page.events)
        self._after = page.after
        self._more = page.after is not None
        if page.events:
            self.added.emit(start, len(self.rows))
        if not self._more:
            if self.total is None:
                self._counted(len(self.rows))
            self.finished.emit()

    def _counted(self, total: int) -> None:
        if self.total is None:
            self.total = total
            self.counted.emit(total)

    def _count_failed(self, error: BaseException) -> None:
        if not isinstance(error, CancelledError):
            self._failed(error)

    def _failed(self, error: BaseException) -> None:
        self._fetching = False
        self.error = first_line(error)
        self.failed.emit(self.error)


def pages(store: EventSource, search: Search, *, page_size: int = PAGE_SIZE, limit: int | None = None,
          task: Task | None = None) -> Iterator[list[Event]]:
    """Every result page in order (the command line), ``limit`` events at most."""
    query = search.query()
    after, given = None, 0
    checkpoint = checkpoint_of(task, "searching") if task is not None else None
    while limit is None or given < limit:
        size = page_size if limit is None else min(page_size, limit - given)
        page = store.search(query, sort=search.sort, after=after, limit=size, checkpoint=checkpoint)
        if page.events:
            yield page.events
            given += len(page.events)
        if page.after is None:
            return
        after = page.after


def search_of(*, stream_type: str = "", types: str = "", stream: str = "", since: str = "", until: str = "",
              where: str = "", sort: str = "time") -> Search:
    """A search from a form's texts (an empty field asks nothing); UsageError names the field that does not parse.

    ``types`` is a comma-separated list of event types or patterns (``re:Funds.*``).
    """
    from model.query import parse_where
    from ui.session.text import parse_moment

    return Search(stream_type=stream_type.strip() or None,
                  types=tuple(t.strip() for t in types.split(",") if t.strip()),
                  stream=stream.strip() or None,
                  since=parse_moment(since, "from") if since.strip() else None,
                  until=parse_moment(until, "to") if until.strip() else None,
                  where=parse_where(where, "condition") if where.strip() else {}, sort=sort)
