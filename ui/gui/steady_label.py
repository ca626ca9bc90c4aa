"""A one-line label whose new text never asks the window for a new layout."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class SteadyLabel(QWidget):
    """One line, elided to its width (the whole text in its tooltip), for texts that change on
    every cursor move.

    The label sits in this widget without a layout. A plain label's new text asks its layout to
    run again, and each layout up the chain asks its parent's in turn, up to the tab widget, which
    then repaints the whole pane (the position beside the go-to box cost a whole-window repaint,
    3-4 ms, on every move). Here the request stops at this widget, whose size hints never change.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *, chars: int = 60, whole: bool = False):
        super().__init__(parent)
        self.label = QLabel("", self)
        self._text = ""
        # whole: the widest text so far is the least room asked for, so a short text is never elided;
        # a new layout is asked for only when a text is wider than any before (a digit more)
        self._whole, self._widest = whole, 0
        height = self.fontMetrics().lineSpacing() + 4
        self.setMinimumHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._hint = QSize(self.fontMetrics().averageCharWidth() * chars, height)
        self.setText(text)

    def text(self) -> str:
        """The whole text (what shows may be elided)."""
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        self._text = text
        if self._whole:
            width = self.fontMetrics().horizontalAdvance(text) + 4
            if width > self._widest:
                self._widest = width
                self.updateGeometry()
        self._fit()

    def forget_width(self) -> None:
        """Ask for no more room than the next text needs (a new stream: other numbers)."""
        if self._widest:
            self._widest = 0
            self.updateGeometry()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, max(self.width(), 40))
        self.label.setText(shown)
        self.setToolTip(self._text if shown != self._text else "")

    def sizeHint(self) -> QSize:  # noqa: N802
        return self._hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(max(self.fontMetrics().averageCharWidth() * 10, self._widest), self._hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.label.setGeometry(self.rect())
        self._fit()
        super().resizeEvent(event)
