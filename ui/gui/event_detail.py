"""The event at the cursor: payload and metadata as JSON, BSON types kept (store.codec)."""
from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from model.event import Event
from store.codec import dumps_json, to_jsonable

MAX_CHARS = 200_000


def detail_text(event: Event, problems: list[str] | None = None) -> str:
    """The text the panel shows: one JSON document with the event's fields and problems."""
    document = {
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        "time": event.time,
        "data": event.data,
        "metadata": event.metadata,
    }
    if event.stream_type:
        document["stream_type"] = event.stream_type
    if problems:
        document["problems"] = list(problems)
    text = dumps_json(to_jsonable(document), pretty=True)
    text = text.decode() if isinstance(text, bytes) else text
    if len(text) > MAX_CHARS:  # a payload near 16 MB would stall the text widget
        text = text[:MAX_CHARS] + f"\n… {len(text) - MAX_CHARS:,} more characters (export the stream to see all)"
    return text


class EventDetail(QPlainTextEdit):
    """Read-only JSON of one event, in the fixed-width system font.

    While the panel is hidden (another tab in front) a cursor move only notes the event: the
    JSON is written when the panel shows, or when someone reads ``toPlainText``.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setPlaceholderText("No event at the cursor")
        self._shown: tuple = (None, None)
        self._stale = False  # the noted event is not in the text yet

    def show_event(self, event: Event | None, problems: list[str] | None = None) -> None:
        """Show ``event`` (None clears)."""
        shown_event, shown_problems = self._shown
        if event is not None and event is shown_event and problems == shown_problems:
            return  # the same event again (a drag's end, a redraw): keep the text and the scroll position
        self._shown = (event, list(problems) if problems is not None else None)
        self._stale = True
        if self.isVisible():
            self._write()

    def toPlainText(self) -> str:
        """The text shown, or about to be shown once the panel is visible."""
        self._write()
        return super().toPlainText()

    def showEvent(self, event) -> None:
        self._write()
        super().showEvent(event)

    def _write(self) -> None:
        if self._stale:
            self._stale = False
            event, problems = self._shown
            self.setPlainText("" if event is None else detail_text(event, problems))
