"""``python -m ui.gui.screenshots``: write resources/screenshot-*.png from the real window on a demo stream.

The demo history is written into a temporary embedded store, so the pictures can be refreshed
on any machine; the window is driven the way a user would (connect, open, move the cursor).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

STREAM = "account-3"  # a demo stream with a snapshot


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


def make_screenshots(out_dir: Path, *, width: int = 1600, height: int = 1000, suffix: str = "") -> list[Path]:
    """Draw the main window on a demo stream and the connection dialog; return the files written."""
    from ui.gui.app import application
    from ui.gui.connect_dialog import ConnectDialog
    from ui.gui.main_window import MainWindow
    from ui.gui.settings import Settings
    from ui.session.connection import Connection

    app = application()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="eventlens-shots-") as tmp:
        settings = Settings(str(Path(tmp) / "settings.ini"))
        window = MainWindow(settings)
        window.resize(width, height)
        window.show()
        window.connect_to(Connection(uri=str(Path(tmp) / "demo.sqlite")), seed_demo_history=True)
        if not _wait(window.connected):
            raise SystemExit(f"screenshots: could not open the demo store: {window.banner.text()}")
        _wait(window.streams.model.pageLoaded, 10_000)
        window.open_stream(STREAM)
        if not _wait(window.streamLoaded):
            raise SystemExit(f"screenshots: could not load {STREAM}: {window.banner.text()}")
        history = window.loaded
        target = next(
            (v for v in range(history.last_version * 2 // 3, 0, -1) if not history.change_at(v).is_empty),
            history.last_version,
        )
        window.set_cursor(target)
        for row in range(window.streams.model.rowCount()):
            if window.streams.model.stream_at(row).stream_id == STREAM:
                window.streams.view.selectRow(row)
        if window.state_view.select_path(("balance",)):  # show a field's history too
            _wait(window.fieldHistoryShown, 10_000)
        window.event_list.setFocus()
        _settle()
        main = out_dir / f"screenshot-main{suffix}.png"
        window.grab().save(str(main))
        written.append(main)

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

        dialog = ConnectDialog(settings, window, initial=Connection(
            uri="mongodb://explorer@db1.example.net:27017,db2.example.net:27017/?replicaSet=rs0",
            db="orders", read_only=True, tls_ca_file="/etc/ssl/certs/company-ca.pem"))
        dialog.resize(dialog.sizeHint().expandedTo(dialog.minimumSizeHint()))
        dialog.show()
        _settle(100)
        shot = out_dir / f"screenshot-connect{suffix}.png"
        dialog.grab().save(str(shot))
        written.append(shot)
        dialog.close()
        window.close()
        app.processEvents()
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots (offscreen unless a display platform is set)."""
    parser = argparse.ArgumentParser(prog="python -m ui.gui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "resources"))
    parser.add_argument("--dark", action="store_true", help="force the dark palette; files end in -dark")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.dark:
        os.environ["EVENTLENS_THEME"] = "dark"
    for path in make_screenshots(Path(args.out), suffix="-dark" if args.dark else ""):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
