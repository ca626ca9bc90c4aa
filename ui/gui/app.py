"""The GUI entry point: ``run()`` builds the application and the window and opens the store."""
from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from ui.gui.settings import APPLICATION, ORGANISATION, Settings
from ui.gui.theme import THEME_KEY, apply_theme
from ui.session.collector import tune_collector
from ui.session.connection import Connection


UI_SWITCH_INTERVAL_S = 0.0005


def application() -> QApplication:
    """The QApplication, created once with EventLens' names, Fusion style and the system palette."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setOrganizationName(ORGANISATION)
        app.setApplicationName(APPLICATION)
        apply_theme(app)
        # The loading worker runs Python while the UI thread paints through many short calls that
        # each take the GIL again; at the default 5 ms hand-over a repaint waited for the worker
        # long enough to stall the window past 100 ms while a million events loaded.
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    return app


def initial_connection(uri=None, db=None, layout=None, read_only=False, timeout_s=10.0) -> tuple[Connection, bool]:
    """What to open at start, and whether to seed the demo (a default store opened the first time)."""
    seed = False
    if not uri and not os.environ.get("MONGODB_URI"):
        from store.connect import default_store_path

        path = str(default_store_path())
        seed = not os.path.exists(path)
        uri = path
    return Connection(uri=uri or "", db=db or "", layout=layout or "", read_only=bool(read_only),
                      timeout_s=float(timeout_s)), seed


def run(uri=None, db=None, layout=None, read_only=False, timeout_s=10.0, settings_path: str | None = None) -> int:
    """Open the window on a store (default: the embedded store, seeded on first run); return the exit code."""
    from ui.gui.main_window import MainWindow

    app = application()
    settings = Settings(settings_path)
    apply_theme(app, settings.get(THEME_KEY) or "system")
    window = MainWindow(settings)
    window.show()
    connection, seed = initial_connection(uri, db, layout, read_only, timeout_s)
    window.connect_to(connection, seed_demo_history=seed and not read_only)
    tune_collector()  # again, now that Qt's and pyqtgraph's objects are alive: they are never walked
    return app.exec()
