"""Fusion style on the system palette, and highlight colours that read on light and dark."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


THEMES = ("system", "light", "dark")
THEME_KEY = "view/theme"


def apply_theme(app: QApplication, choice: str = "system") -> None:
    """Fusion with the chosen palette: "light", "dark", or "system" (follow it); EVENTLENS_THEME overrides."""
    app.setStyle("Fusion")
    wanted = os.environ.get("EVENTLENS_THEME", "").lower() or choice
    if wanted == "dark" or (wanted not in ("light", "dark") and _system_is_dark()):
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def add_theme_menu(menu, settings) -> None:
    """A "Theme" submenu (follow the system, light, dark) whose choice is remembered between runs.

    A new theme applies to the whole application at once; colours a widget computed from the
    old palette (marks in the state tree) follow on its next redraw.
    """
    from PySide6.QtGui import QActionGroup

    themes = menu.addMenu("&Theme")
    group = QActionGroup(themes)
    current = settings.get(THEME_KEY) or "system"
    for choice, text in (("system", "Follow the &system"), ("light", "&Light"), ("dark", "&Dark")):
        action = themes.addAction(text)
        action.setCheckable(True)
        action.setChecked(choice == current)
        action.setData(choice)
        group.addAction(action)
    group.triggered.connect(lambda action: _choose_theme(settings, action.data()))


def _choose_theme(settings, choice: str) -> None:
    settings.set(THEME_KEY, choice)
    app = QApplication.instance()
    if app is not None:
        apply_theme(app, choice)


def _system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def is_dark(palette: QPalette) -> bool:
    """True when the window background is dark."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    """A dark palette for Fusion, used when the system asks for dark or the user forces it."""
    p = QPalette()
    base, window, text = QColor(35, 35, 38), QColor(45, 45, 48), QColor(225, 225, 225)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, window),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor(255, 80, 80)),
        (QPalette.ColorRole.Link, QColor(100, 160, 255)),
        (QPalette.ColorRole.Highlight, QColor(42, 110, 200)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


# added / changed / removed, and warnings: tints mixed into the base colour so text stays legible
_MARKS = {"added": QColor(60, 170, 80), "changed": QColor(220, 160, 30), "removed": QColor(210, 60, 60),
          "warning": QColor(230, 120, 0), "error": QColor(210, 60, 60)}


def mark_color(mark: str, palette: QPalette) -> QColor:
    """Background tint for a mark (added, changed, removed, warning) on this palette."""
    base = palette.color(QPalette.ColorRole.Base)
    tint = _MARKS[mark]
    share = 0.45 if is_dark(palette) else 0.30
    return QColor(
        round(base.red() * (1 - share) + tint.red() * share),
        round(base.green() * (1 - share) + tint.green() * share),
        round(base.blue() * (1 - share) + tint.blue() * share),
    )


def banner_colors(palette: QPalette, mark: str = "error") -> tuple[QColor, QColor]:
    """Background and text colour for the message banner."""
    return mark_color(mark, palette), palette.color(QPalette.ColorRole.Text)
