"""Connecting: the dialog, recent connections without passwords, persisted layout, the first run."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import connect
from ui.gui.connect_dialog import ConnectDialog
from ui.gui.settings import Settings
from ui.session.connection import Connection

SECRET = "s3cr3t-Pa55"


def test_dialog_gives_a_connection_with_password_and_tls(qtbot, settings):
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    dialog.mongo_radio.setChecked(True)
    dialog.uri_edit.setText("mongodb://reader@db1:27017,db2:27017/?replicaSet=rs0")
    dialog.password_edit.setText(SECRET)
    dialog.db_edit.setText("orders")
    dialog.layout_box.setCurrentText("axon")
    dialog.read_only_box.setChecked(True)
    dialog.ca_edit.setText("/etc/ca.pem")
    dialog.invalid_hosts_box.setChecked(True)
    c = dialog.connection()
    assert c.full_uri() == f"mongodb://reader:{SECRET}@db1:27017,db2:27017/?replicaSet=rs0"
    assert (c.db, c.layout, c.read_only, c.tls_ca_file, c.tls_allow_invalid_hostnames) == ("orders", "axon", True, "/etc/ca.pem", True)
    assert "axon" in [dialog.layout_box.itemText(i) for i in range(dialog.layout_box.count())]
    # the embedded side ignores the server-only fields
    dialog.file_radio.setChecked(True)
    dialog.file_edit.setText("/tmp/x.sqlite")
    c = dialog.connection()
    assert (c.uri, c.db, c.password, c.tls_ca_file) == ("/tmp/x.sqlite", "", "", "")
    assert not dialog.tls_group.isEnabled()


def test_dialog_refuses_a_uri_that_is_not_mongodb(qtbot, settings):
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    dialog.mongo_radio.setChecked(True)
    dialog.uri_edit.setText("http://example.com")
    dialog.accept()
    assert dialog.result() == 0 and "mongodb://" in dialog.hint.text()


def test_recent_connections_are_saved_without_passwords(qtbot, settings, tmp_path):
    settings.remember(Connection(uri=f"mongodb://reader:{SECRET}@db1:27017/?authSource=admin", db="orders",
                                 password=SECRET, read_only=True))
    settings.remember(Connection(uri=str(tmp_path / "a.sqlite")))
    ini = (tmp_path / "settings" / "eventlens.ini").read_text()
    assert SECRET not in ini
    recent = Settings(str(tmp_path / "settings" / "eventlens.ini")).recent()
    assert [r.uri for r in recent] == [str(tmp_path / "a.sqlite"), "mongodb://reader@db1:27017/?authSource=admin"]
    assert recent[1].read_only and recent[1].db == "orders" and recent[1].password == ""
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.recent_box.count() == 3  # the prompt and two connections
    dialog.recent_box.setCurrentIndex(2)
    dialog.recent_box.activated.emit(2)
    assert dialog.uri_edit.text() == "mongodb://reader@db1:27017/?authSource=admin"
    assert dialog.read_only_box.isChecked() and dialog.password_edit.text() == ""


def test_connection_is_remembered_and_layout_persists(qtbot, settings, embedded_store, tmp_path):
    from ui.gui.main_window import MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    connect(qtbot, window, Connection(uri=str(embedded_store.path)))
    window.resize(760, 560)  # inside the offscreen screen: restoreGeometry keeps windows on screen
    window.panes.main_split.setSizes([200, 500])
    sizes = window.panes.main_split.sizes()
    window.close()
    assert Settings(str(tmp_path / "settings" / "eventlens.ini")).recent()[0].uri == str(embedded_store.path)

    again = MainWindow(Settings(str(tmp_path / "settings" / "eventlens.ini")))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == (760, 560)
    assert again.panes.main_split.sizes() == sizes
    again.close()


def test_first_run_opens_and_seeds_the_default_store(qtbot, window, tmp_path, monkeypatch):
    from ui.gui.app import initial_connection
    from ui.session.demo import FIRST_RUN_EVENTS as DEMO_EVENTS, FIRST_RUN_STREAMS as DEMO_STREAMS

    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MONGODB_URI", raising=False)
    connection, seed = initial_connection()
    assert seed and connection.uri == str(tmp_path / "home" / "eventlens.sqlite")
    asked = []
    monkeypatch.setattr("ui.gui.main_window.confirm", lambda parent, title, text: asked.append(text) or False)
    with qtbot.waitSignal(window.connectFailed, timeout=30_000):
        window.connect_to(connection)  # a plain connect to a missing file asks first, and creates nothing
    assert "There is no EventLens store at" in asked[0]
    assert not (tmp_path / "home").exists()
    with qtbot.waitSignal(window.connected, timeout=60_000):
        window.connect_to(connection, seed_demo_history=True)
    assert f"{DEMO_STREAMS:,} streams · {DEMO_STREAMS * DEMO_EVENTS:,} events" in window.status.size.text()
    assert initial_connection()[1] is False  # the file exists now: no second seeding


def test_run_with_no_arguments_shows_the_seeded_store_and_exits_cleanly(qtbot, tmp_path, monkeypatch):
    """``python main.py`` with no arguments: ui.gui.app.run() on the default store, then a clean exit."""
    from ui.gui.app import run
    from ui.gui.main_window import MainWindow

    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MONGODB_URI", raising=False)
    seen = {}

    def find_window():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(20, find_window)
            return
        w = windows[0]

        def done():
            seen["size"] = w.status.size.text()
            seen["title"] = w.windowTitle()
            w.close()

        w.streams.model.pageLoaded.connect(lambda _n: done())
        w.connectFailed.connect(lambda text: (seen.setdefault("error", text), w.close()))

    QTimer.singleShot(0, find_window)
    assert run(settings_path=str(tmp_path / "settings.ini")) == 0
    assert "error" not in seen, seen.get("error")
    assert "streams" in seen["size"] and seen["size"].split()[0] != "0"
    assert "eventlens.sqlite" in seen["title"]


def test_connect_through_the_dialog(qtbot, window, embedded_store):
    """File > Connect…: the user fills the dialog and presses Connect."""
    from PySide6.QtWidgets import QDialogButtonBox

    from model.event import NewEvent

    embedded_store.append("thing-1", [NewEvent("Made", {"a": 1})], 0)

    def fill_and_accept():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, fill_and_accept)
            return
        dialog.file_radio.setChecked(True)
        qtbot.keyClicks(dialog.file_edit, str(embedded_store.path))
        dialog.read_only_box.setChecked(True)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(0, fill_and_accept)
    with qtbot.waitSignal(window.connected, timeout=20_000):
        window.show_connect_dialog()
    assert window.store.read_only and window.session.connection.uri == str(embedded_store.path)
    assert "read-only" in window.status.connection.text()
