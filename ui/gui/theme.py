"""Fusion style on the system palette, and highlight colours that read on light and dark."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def apply_theme(app: QApplication) -> None:
    """Use Fusion with the system's palette; EVENTLENS_THEME=dark|light forces one."""
    app.setStyle("Fusion")
    wanted = os.environ.get("EVENTLENS_THEME", "").lower()
    if wanted == "dark" or (wanted == "" and _system_is_dark()):
        app.setPalette(dark_palette())
    elif wanted == "light":
        app.setPalette(app.style().standardPalette())


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


def mark_color(kind: str, palette: QPalette) -> QColor:
    """Background tint for a mark (added, changed, removed, warning) on this palette."""
    base = palette.color(QPalette.ColorRole.Base)
    tint = _MARKS[kind]
    share = 0.45 if is_dark(palette) else 0.30
    return QColor(
        round(base.red() * (1 - share) + tint.red() * share),
        round(base.green() * (1 - share) + tint.green() * share),
        round(base.blue() * (1 - share) + tint.blue() * share),
    )


def banner_colors(palette: QPalette, kind: str = "error") -> tuple[QColor, QColor]:
    """Background and text colour for the message banner."""
    return mark_color(kind, palette), palette.color(QPalette.ColorRole.Text)
