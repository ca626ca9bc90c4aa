"""The session with a foreign store's stream list cache: built in the background, its age, refresh now.

No window and no threads: ``run_now`` runs the session's jobs at once, and a deferred runner
holds the background jobs until the test runs them, so every step is in the test's order.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from model.ports import CatalogueState
from tests.layouts import documents as docs
from ui.session.connection import Connection
from ui.session.jobs import Job, Task, run_now
from ui.session.session import Session


class Deferred:
    """A runner that keeps jobs until ``run_pending()``: the background, in the test's own time."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def __call__(self, job: Job) -> Task:
        self.jobs.append(job)
        return Task(job.name)

    def run_pending(self) -> int:
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            run_now(job)
        return len(jobs)


def orders(n: int, start: int = 0, events: int = 2) -> list[dict]:
    return [docs.axon_entry(f"order-{i}", "Order", seq, i, "com.shop.OrderChanged", {"n": seq})
            for i in range(start, start + n) for seq in range(events)]


@pytest.fixture
def tool_db(mongo_client, mongo_db_name):
    """The test database, written exactly as Axon writes it."""
    from store.codec import CODEC_OPTIONS

    return mongo_client.get_database(mongo_db_name, codec_options=CODEC_OPTIONS)


@pytest.fixture
def connection(mongo_uri, mongo_db_name) -> Connection:
    return Connection(uri=mongo_uri, db=mongo_db_name, layout="axon")


def watch(session: Session) -> dict[str, list]:
    seen: dict[str, list] = {"catalogue": [], "size": [], "types": [], "messages": []}
    session.catalogue_changed.connect(seen["catalogue"].append)
    session.size_changed.connect(seen["size"].append)
    session.types_changed.connect(seen["types"].append)
    session.message.connect(lambda text, severity: seen["messages"].append((text, severity)))
    return seen


def test_the_first_connect_builds_the_list_in_the_background_and_shows_it_when_done(tool_db, connection):
    tool_db["domainevents"].insert_many(orders(12))
    background = Deferred()
    session = Session(run_now, background=background)
    seen = watch(session)
    opened: list = []
    session.connected.connect(opened.append)
    session.connect(connection)
    try:
        assert opened and opened[0].size is None and opened[0].stream_types == []  # counted once built
        assert session.catalogue is not None and not session.catalogue.ready
        assert session.streams.waiting and session.streams.rows == []  # not built on the way
        assert [j.name for j in background.jobs] == ["building the stream list"] and background.jobs[0].shown
        assert not any("holds no streams" in text for text, _ in seen["messages"])

        assert background.run_pending() == 1
        state = session.catalogue
        assert state.ready and state.streams == 12 and seen["catalogue"][-1] is state
        assert [i.stream_id for i in session.streams.rows[:3]] == ["order-0", "order-1", "order-2"]
        assert session.streams.total == 12 and not session.streams.waiting
        assert (seen["size"][-1].streams, seen["size"][-1].events) == (12, 24) and seen["types"][-1] == ["Order"]
        assert state.describe(state.refreshed_at + timedelta(minutes=3)) == "stream list from the cache refreshed 3 minutes ago"
    finally:
        session.close()


def test_reconnecting_shows_the_cached_list_at_once_and_refreshes_behind_it(tool_db, connection):
    tool_db["domainevents"].insert_many(orders(5))
    first = Session(run_now)
    first.connect(connection)
    built = first.catalogue
    first.close()
    tool_db["domainevents"].insert_many(orders(2, start=5) + [
        docs.axon_entry("order-1", "Order", 2, 30, "com.shop.OrderShipped", {})])

    background = Deferred()
    session = Session(run_now, background=background)
    opened: list = []
    session.connected.connect(opened.append)
    session.connect(connection)
    try:
        assert opened[0].size.streams == 5 and opened[0].catalogue.ready  # from the file, before any refresh
        assert len(session.streams.rows) == 5 and session.streams.total == 5
        assert [j.name for j in background.jobs] == ["refreshing the stream list"]
        background.run_pending()
        assert session.catalogue.refreshed_at > built.refreshed_at and session.catalogue.built_at == built.built_at
        assert session.streams.total == 7 and [i.stream_id for i in session.streams.rows][-2:] == ["order-5", "order-6"]
        assert session.streams.rows[1].events == 3
    finally:
        session.close()


def test_refresh_now_and_read_everything_again(tool_db, connection):
    tool_db["domainevents"].insert_many(orders(3))
    session = Session(run_now)
    seen = watch(session)
    session.connect(connection)
    try:
        built = session.catalogue
        tool_db["domainevents"].insert_many(orders(1, start=3))
        session.refresh_catalogue()
        assert session.streams.total == 4 and session.catalogue.built_at == built.built_at
        session.refresh_catalogue(full=True)
        assert session.catalogue.built_at > built.built_at and session.streams.total == 4
        assert all(isinstance(s, CatalogueState) for s in seen["catalogue"]) and len(seen["catalogue"]) == 4
    finally:
        session.close()


def test_a_native_store_has_no_cache_to_show(tmp_path):
    from store.embedded import EmbeddedStore

    path = tmp_path / "native.sqlite"
    EmbeddedStore(path, create=True).close()
    session = Session(run_now)
    session.connect(Connection(uri=str(path)))
    try:
        assert session.opened is not None and session.catalogue is None
        assert session.refresh_catalogue() is None
    finally:
        session.close()


def test_a_store_closed_before_its_list_is_built_stops_the_build_quietly(tool_db, connection):
    from pathlib import Path

    tool_db["domainevents"].insert_many(orders(3))
    background = Deferred()
    session = Session(run_now, background=background)
    seen = watch(session)
    session.connect(connection)
    path = Path(session.catalogue.path)
    session.close()  # the window closed before the background build ran
    assert background.run_pending() == 1
    assert not path.exists() and list(path.parent.glob("*")) == []  # nothing built, nothing left half-built
    assert not [text for text, severity in seen["messages"] if severity in ("error", "warning")]
