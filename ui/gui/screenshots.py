"""``python -m ui.gui.screenshots``: write resources/screenshot-*.png from the real window on a demo stream.

The demo history is written into a temporary embedded store, so the pictures can be refreshed
on any machine; the window is driven the way a user would (connect, open, move the cursor).
Each picture is made in a process of its own, because the scale factor and the theme are the
application's from its start: the main window at 1024×640, 1600×1000 and at scale factor 2 (a
1600×1000 screen: 800×500 logical pixels), each in the light and the dark theme, then the
snapshot tab, the search, as-of and trace tabs, and the connection dialog.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

STREAM = "account-3"  # a demo stream with a snapshot
ROOT = Path(__file__).resolve().parents[2]
#: (file name part, logical width, height, scale factor)
SIZES = (("1024x640", 1024, 640, 1), ("1600x1000", 1600, 1000, 1), ("scale2", 800, 500, 2))


def _wait(signal, timeout_ms: int = 60_000) -> bool:
    """Run the event loop until ``signal`` fires; False on timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop, fired = QEventLoop(), []
    signal.connect(lambda *args: (fired.append(True), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return bool(fired)


def _settle(ms: int = 300) -> None:
    # let deferred redraws (timeline, tree expansion) happen before grabbing
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _open_demo(window, tmp: str) -> None:
    from ui.session.connection import Connection

    window.connect_to(Connection(uri=str(Path(tmp) / "demo.sqlite")), seed_demo_history=True)
    if not _wait(window.connected):
        raise SystemExit(f"screenshots: could not open the demo store: {window.banner.text()}")
    _wait(window.streams.model.pageLoaded, 10_000)
    window.open_stream(STREAM)
    if not _wait(window.streamLoaded):
        raise SystemExit(f"screenshots: could not load {STREAM}: {window.banner.text()}")
    loaded = window.loaded
    target = next((v for v in range(loaded.last_version * 2 // 3, 0, -1) if not loaded.change_at(v).is_empty),
                  loaded.last_version)
    window.set_cursor(target)
    for row in range(window.streams.model.rowCount()):
        if window.streams.model.stream_at(row).stream_id == STREAM:
            window.streams.view.selectRow(row)
    if window.state_view.select_path(("balance",)):  # show a field's history too
        _wait(window.fieldHistoryShown, 10_000)
    window.event_list.setFocus()
    _settle()


def make_main(out_dir: Path, name: str, width: int, height: int, suffix: str, extras: bool) -> list[Path]:
    """The main window at one size (and, with ``extras``, the snapshot tab and the connection dialog)."""
    from ui.gui.app import application
    from ui.gui.main_window import MainWindow
    from ui.gui.settings import Settings

    app = application()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="eventlens-shots-") as tmp:
        window = MainWindow(Settings(str(Path(tmp) / "settings.ini")))
        window.resize(width, height)
        window.show()
        _open_demo(window, tmp)
        shot = out_dir / f"screenshot-main-{name}{suffix}.png"
        window.grab().save(str(shot))
        written.append(shot)
        if extras:
            written += _extras(window, out_dir, suffix)
        window.close()
        app.processEvents()
    return written


def _extras(window, out_dir: Path, suffix: str) -> list[Path]:
    from ui.gui.connect_dialog import ConnectDialog
    from ui.session.connection import Connection

    written = []
    window.tabs.setCurrentWidget(window.snapshot_panel)
    snaps = window.snapshot_panel.snapshots()
    if snaps:
        window.snapshot_panel.select_version(snaps[0].version)
        window.verify_snapshot(snaps[0])
        _wait(window.verified, 30_000)
    _settle()
    shot = out_dir / f"screenshot-snapshots{suffix}.png"
    window.grab().save(str(shot))
    written.append(shot)
    written += _questions(window, out_dir, suffix)
    dialog = ConnectDialog(window.settings, window, initial=Connection(
        uri="mongodb://explorer@db1.example.net:27017,db2.example.net:27017/?replicaSet=rs0",
        db="orders", read_only=True, tls_ca_file="/etc/ssl/certs/company-ca.pem"))
    dialog.resize(dialog.sizeHint().expandedTo(dialog.minimumSizeHint()))
    dialog.show()
    _settle(100)
    shot = out_dir / f"screenshot-connect{suffix}.png"
    dialog.grab().save(str(shot))
    written.append(shot)
    dialog.close()
    return written


def _questions(window, out_dir: Path, suffix: str) -> list[Path]:
    """The search, as-of and trace tabs on the demo store, each with its answer in."""
    panes, written = window.panes, []
    search = panes.search_view
    panes.show_view(search)
    search.types.setText("FundsWithdrawn, re:Transfer.*")
    search.where.setText('{"data.amount": {"$gte": 400}}')
    results = search.run()
    if results is not None and results.total is None:
        _wait(results.counted, 30_000)
    as_of = panes.as_of_view
    loaded = window.loaded
    moment = loaded.time_of(loaded.last_version * 2 // 3)
    panes.show_view(as_of)
    as_of.moment.setText(moment.strftime("%Y-%m-%dT%H:%M:%S"))
    as_of.stream_type.setCurrentText("account")
    found = as_of.run()
    if found is not None and not found.totals:
        _wait(found.summed, 60_000)
    trace = panes.trace_view
    sent = next((v for v in range(loaded.last_version, 0, -1) if loaded.type_of(v) == "TransferSent"), None)
    if sent is not None:
        window.set_cursor(sent)
        window.trace_cursor()
        _wait(trace.traced, 30_000)
    for view, name in ((search, "search"), (as_of, "as-of"), (trace, "trace")):
        panes.show_view(view)
        _settle()
        shot = out_dir / f"screenshot-{name}{suffix}.png"
        window.grab().save(str(shot))
        written.append(shot)
    panes.show_view(panes.right_split)
    return written


def main(argv: list[str] | None = None) -> int:
    """Write every screenshot, one process per size, scale and theme (offscreen unless a display is set)."""
    parser = argparse.ArgumentParser(prog="python -m ui.gui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources"))
    parser.add_argument("--one", nargs=4, metavar=("NAME", "WIDTH", "HEIGHT", "THEME"),
                        help="make one main-window picture in this process (the script runs itself so)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.one:
        name, width, height, theme = args.one
        suffix = "-dark" if theme == "dark" else ""
        for path in make_main(Path(args.out), name, int(width), int(height), suffix, extras=name == "1600x1000"):
            print(path)
        return 0
    failed = 0
    for theme in ("light", "dark"):
        for name, width, height, scale in SIZES:
            env = {**os.environ, "EVENTLENS_THEME": theme, "QT_SCALE_FACTOR": str(scale)}
            done = subprocess.run([sys.executable, "-m", "ui.gui.screenshots", "--out", args.out,
                                   "--one", name, str(width), str(height), theme], cwd=ROOT, env=env)
            failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
