"""Connecting to a foreign store without a layout: detection's proposal is confirmed (or edited) first."""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from store.codec import CODEC_OPTIONS
from tests.layouts.documents import seed_documents
from tests.ui.conftest import LOAD_TIMEOUT_MS


@pytest.fixture
def seed_db(mongo_uri, mongo_db_name):
    """A database written the way the Clojure/monger seed writes it (no EventLens collections)."""
    events, snapshots = seed_documents()
    with MongoClient(mongo_uri) as client:
        db = client.get_database(mongo_db_name, codec_options=CODEC_OPTIONS)
        db["events"].insert_many(events)
        db["snapshots"].insert_many(snapshots)
    return {d["aggregate-id"] for d in events}


def test_a_confirmed_proposal_opens_the_store_with_that_layout(qtbot, window, mongo_uri, mongo_db_name, seed_db,
                                                               monkeypatch):
    import ui.gui.main_window
    from ui.session.connection import Connection

    shown = []

    def accept(parent, proposal, database):
        shown.append((proposal.preset, database, proposal.to_toml()))
        return proposal.layout

    monkeypatch.setattr(ui.gui.main_window, "confirm_layout", accept)
    with qtbot.waitSignal(window.streams.model.pageLoaded, timeout=LOAD_TIMEOUT_MS):
        with qtbot.waitSignal(window.connected, timeout=LOAD_TIMEOUT_MS):
            window.connect_to(Connection(uri=mongo_uri, db=mongo_db_name))
    assert shown and shown[0][0] == "seed" and shown[0][1] == mongo_db_name
    assert "aggregate-id" in shown[0][2]
    assert window.store.layout.name == "seed"
    assert {info.stream_id for info in window.store.streams(limit=100)} == seed_db
    # EventLens writes its own snapshots beside a foreign store's: in eventlens_snapshots, as the question says
    assert window.snapshot_panel.create_button.isEnabled()
    stream_id = sorted(seed_db)[0]
    with qtbot.waitSignal(window.streamLoaded, timeout=LOAD_TIMEOUT_MS):
        window.open_stream(stream_id)
    asked = []
    monkeypatch.setattr(ui.gui.main_window, "confirm", lambda parent, title, text: asked.append(text) or True)
    with qtbot.waitSignal(window.snapshotsChanged, timeout=LOAD_TIMEOUT_MS):
        window.create_snapshot()
    assert "'eventlens_snapshots'" in asked[0]
    with MongoClient(mongo_uri) as client:
        written = list(client[mongo_db_name]["eventlens_snapshots"].find({"stream_id": stream_id}))
    assert [(d["layout"], d["version"]) for d in written] == [("seed", window.cursor)]


def test_a_declined_proposal_connects_to_nothing(qtbot, window, mongo_uri, mongo_db_name, seed_db, monkeypatch):
    import ui.gui.main_window
    from ui.session.connection import Connection

    monkeypatch.setattr(ui.gui.main_window, "confirm_layout", lambda parent, proposal, database: None)
    with qtbot.waitSignal(window.connectFailed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.connect_to(Connection(uri=mongo_uri, db=mongo_db_name))
    assert "not confirmed" in failed.args[0]
    assert window.store is None


def test_the_dialog_refuses_an_edit_that_is_not_a_layout(qtbot, mongo_uri, mongo_db_name, seed_db):
    from store.connect import propose_layout
    from ui.gui.layout_proposal import LayoutProposalDialog

    proposal = propose_layout(mongo_uri, mongo_db_name, timeout_s=5)
    dialog = LayoutProposalDialog(proposal, mongo_db_name)
    qtbot.addWidget(dialog)
    assert dialog.editor.toPlainText() == proposal.to_toml()
    dialog.editor.setPlainText("[events]\ncollection = 3\n")
    dialog.accept()
    assert dialog.chosen is None and dialog.error.text() and dialog.result() == 0
    dialog.editor.setPlainText(proposal.to_toml())
    dialog.accept()
    assert dialog.chosen is not None and dialog.chosen.name == proposal.layout.name
