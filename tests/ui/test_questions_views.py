"""The window's views of the questions across streams: search, as of, trace, statistics, on both backends.

Each test works out what the window should show from the documents it wrote, on its own.
"""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from model.freeze import thaw
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from tests.ui.conftest import DEMO_STREAMS, LOAD_TIMEOUT_MS, connect

TIMEOUT = LOAD_TIMEOUT_MS


def every_event(store):
    return [e for info in store.streams(limit=1000) for batch in store.read(info.stream_id) for e in batch]


def wait_results(qtbot, results, done):
    qtbot.waitUntil(lambda: done(results) or bool(results.error), timeout=TIMEOUT)
    assert not results.error, results.error


def test_search_shows_what_the_store_holds_and_opens_a_row_at_its_version(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    view = window.panes.search_view
    everything = every_event(demo_store)
    amounts = sorted(e.data["amount"] for e in everything if e.type == "FundsWithdrawn")
    limit = amounts[len(amounts) // 2]  # about half of them
    expected = sorted(((e.time, e.stream_id, e.version) for e in everything
                       if e.type == "FundsWithdrawn" and e.data["amount"] > limit))
    view.types.setText("FundsWithdrawn")
    view.where.setText('{"data.amount": {"$gt": %d}}' % limit)
    results = view.run()
    wait_results(qtbot, results, lambda r: r.total is not None)
    while view.model.canFetchMore():
        view.model.fetchMore()
        qtbot.waitUntil(lambda: not results._fetching, timeout=TIMEOUT)
    assert results.total == len(expected) > 0
    shown = [(view.model.index(r, 1).data(), view.model.index(r, 2).data()) for r in range(view.model.rowCount())]
    assert shown == [(s, f"{v:,}") for _, s, v in expected]  # time order, every one of them
    assert f"{len(expected):,} events found" in view.note.text()

    row = len(expected) // 2
    _, stream_id, version = expected[row]
    with qtbot.waitSignal(window.streamLoaded, timeout=TIMEOUT):
        view.table.doubleClicked.emit(view.model.index(row, 0))
    assert window.panes.views.currentWidget() is window.panes.right_split
    qtbot.waitUntil(lambda: window.cursor == version, timeout=TIMEOUT)
    assert window.stream.stream_id == stream_id


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize("field, text, named", [
    ("where", "{", "not JSON"),
    ("where", '{"data.amount": {"$where": "1"}}', "$where"),
    ("since", "last tuesday", "not an ISO-8601 moment"),
    ("types", "re:(", "not a regular expression"),
])
def test_a_search_form_that_does_not_parse_names_the_problem_and_starts_nothing(qtbot, window, demo_store,
                                                                                 demo_connection, field, text, named):
    connect(qtbot, window, demo_connection)
    view = window.panes.search_view
    getattr(view, field).setText(text)
    with qtbot.assertNotEmitted(window.worker.started_job):
        assert view.run() is None
    assert view.note.text().startswith("✗") and named in view.note.text() and "\n" not in view.note.text()
    assert view.model.rowCount() == 0


def test_as_of_folds_every_stream_to_the_moment_with_its_foot_and_export(qtbot, window, demo_store, demo_connection,
                                                                         tmp_path):
    connect(qtbot, window, demo_connection)
    view = window.panes.as_of_view
    everything = every_event(demo_store)
    moment = sorted(e.time for e in everything)[len(everything) // 2]
    versions = {}
    for e in everything:
        if e.stream_type == "account" and e.time <= moment:
            versions[e.stream_id] = max(versions.get(e.stream_id, 0), e.version)
    expected = {sid: thaw(reconstruct(demo_store, sid, default_reducer(), version=v, use_snapshots=False).state)
                for sid, v in versions.items()}
    view.moment.setText(moment.isoformat())
    view.stream_type.setCurrentText("account")
    results = view.run()
    wait_results(qtbot, results, lambda r: r.complete)
    qtbot.waitUntil(lambda: bool(view.foot.text()), timeout=TIMEOUT)
    model = view.model
    columns = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert columns[:3] == ["Stream", "Version", "Time (UTC)"] and columns[-1] == "Error" and "balance" in columns
    rows = {model.index(r, 0).data(): r for r in range(model.rowCount())}
    assert set(rows) == set(expected)
    balance = columns.index("balance")
    for stream_id, r in rows.items():
        assert model.index(r, 1).data() == f"{versions[stream_id]:,}"
        assert model.index(r, balance).data() == f"{expected[stream_id]['balance']:,}"
    balances = [s["balance"] for s in expected.values()]
    assert (f"balance: sum {sum(balances):,}, count {len(balances):,}, min {min(balances):,}, max {max(balances):,}"
            in view.foot.text())

    path = tmp_path / "states.csv"
    with qtbot.waitSignal(window.worker.finished_job, timeout=TIMEOUT):
        view.export_to(str(path))
    with open(path, newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert {r["stream_id"]: int(r["balance"]) for r in exported} == {s: v["balance"] for s, v in expected.items()}

    stream_id = sorted(expected)[0]
    with qtbot.waitSignal(window.streamLoaded, timeout=TIMEOUT):
        view.table.doubleClicked.emit(model.index(rows[stream_id], 0))
    qtbot.waitUntil(lambda: window.cursor == versions[stream_id], timeout=TIMEOUT)


def test_trace_from_the_cursor_shows_the_transfer_across_accounts_and_jumps_to_it(qtbot, window, demo_store,
                                                                                  demo_connection):
    connect(qtbot, window, demo_connection)
    everything = every_event(demo_store)
    sent = next(e for e in everything if e.type == "TransferSent")
    caused = [e for e in everything if e.metadata.get("causation_id") == sent.metadata["event_id"]]
    sharing = [e for e in everything if e.metadata.get("correlation_id") == sent.metadata["correlation_id"]]
    assert caused and caused[0].stream_id != sent.stream_id
    with qtbot.waitSignal(window.streamLoaded, timeout=TIMEOUT):
        window.open_stream(sent.stream_id)
    window.set_cursor(sent.version)
    view = window.panes.trace_view
    with qtbot.waitSignal(view.traced, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.panes.views.currentWidget() is view
    tree = view.tree
    shown = []
    stack = [(tree.topLevelItem(i), None) for i in range(tree.topLevelItemCount())]
    while stack:
        item, parent = stack.pop()
        shown.append(((item.text(1), item.text(2)), parent))
        stack += [(item.child(i), (item.text(1), item.text(2))) for i in range(item.childCount())]
    assert sorted(s for s, _ in shown) == sorted((e.stream_id, f"{e.version:,}") for e in sharing)
    for e in caused:  # each caused event sits under the event that caused it
        assert ((e.stream_id, f"{e.version:,}"), (sent.stream_id, f"{sent.version:,}")) in shown
    assert tree.currentItem().text(1) == sent.stream_id and tree.currentItem().font(0).bold()

    target = next(tree.currentItem().child(i) for i in range(tree.currentItem().childCount())
                  if tree.currentItem().child(i).text(1) == caused[0].stream_id)
    with qtbot.waitSignal(window.streamLoaded, timeout=TIMEOUT):
        tree.itemDoubleClicked.emit(target, 0)
    qtbot.waitUntil(lambda: window.cursor == caused[0].version, timeout=TIMEOUT)
    assert window.stream.stream_id == caused[0].stream_id


def test_statistics_show_each_stream_type_and_its_days(qtbot, window, demo_store, demo_connection):
    connect(qtbot, window, demo_connection)
    everything = every_event(demo_store)
    view = window.panes.stats_view
    window.panes.show_view(view)  # shown once: computed
    qtbot.waitUntil(lambda: view.statistics is not None, timeout=TIMEOUT)
    kinds = sorted({e.stream_type for e in everything})
    assert [view.table.item(r, 0).text() for r in range(view.table.rowCount())] == kinds
    for r, kind in enumerate(kinds):
        assert view.table.item(r, 1).text() == f"{len({e.stream_id for e in everything if e.stream_type == kind}):,}"
        assert view.table.item(r, 2).text() == f"{sum(1 for e in everything if e.stream_type == kind):,}"
    assert f"{DEMO_STREAMS:,} streams" in view.age.text() and "computed just now" in view.age.text()
    first = kinds[0]
    days = {}
    for e in everything:
        if e.stream_type == first:
            days[e.time.date().isoformat()] = days.get(e.time.date().isoformat(), 0) + 1
    assert sorted(view.statistics.stream_types[0].per_day.items()) == sorted(days.items())
    heights = list(view._bars.opts["height"])
    assert sorted(heights) == sorted(days.values())  # one bar per day, as high as its events
    kept = view.statistics
    view.clear()
    with qtbot.waitSignal(window.worker.finished_job, timeout=TIMEOUT):
        view.load()  # kept for this connection: read back, not computed
    assert view.statistics.cached and view.statistics.computed_at == kept.computed_at and "kept from" in view.age.text()
    with qtbot.waitSignal(window.worker.finished_job, timeout=TIMEOUT):
        view.load(refresh=True)
    assert not view.statistics.cached and view.statistics.computed_at > kept.computed_at


def test_no_view_widens_the_window_past_a_small_screen(qtbot, window, tmp_path):
    """A long reducer name wraps: the tabs beside the stream keep the window narrower than 760 pixels."""
    from model.reducer import load_reducer

    reducer = tmp_path / ("a_reducer_with_a_name_long_enough_to_fill_a_line_" * 2 + ".py")
    reducer.write_text("def evolve(state, event):\n    return state\n")
    window.session.reducer.use(load_reducer(reducer), reducer)
    assert window.session.reducer.name in window.panes.as_of_view.reducer_label.text()
    assert window.minimumSizeHint().width() < 760
