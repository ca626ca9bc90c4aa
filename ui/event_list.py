"""The event list beside the timeline: version, time, type and a one-line summary per event."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from model.event import Event
from ui.theme import mark_color

COLUMNS = ("Version", "Time (UTC)", "Type", "Summary")
SUMMARY_CHARS = 160
#: rows whose display texts are kept; a view shows a few dozen, so this only bounds memory
TEXT_CACHE_ROWS = 20_000
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{…%d}" % len(value)
    if isinstance(value, (list, tuple)):
        return "[…%d]" % len(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:39] + "…")
    return str(value)


def time_text(event: Event) -> str:
    """The event's time as the list shows it (2024-01-05 10:00:00); isoformat costs a tenth of strftime."""
    return event.time.isoformat(" ", "seconds")[:19]


def summary(event: Event) -> str:
    """One line of an event's payload: its top-level fields, nested values abbreviated."""
    text = ", ".join(f"{k}={_short(v)}" for k, v in event.data.items()) if isinstance(event.data, Mapping) else _short(event.data)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


class EventTableModel(QAbstractTableModel):
    """Loaded events of one stream, appended batch by batch as the worker reads them."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._events: list[Event] = []
        self._problems: dict[int, list[str]] = {}
        # row -> (version, time, type, summary, has a problem): a view asks each cell for
        # several roles on every repaint, and a cursor move repaints every visible row
        self._texts: dict[int, tuple[str, str, str, str, bool]] = {}

    def clear(self) -> None:
        """Forget every event (a new stream is opening)."""
        self.beginResetModel()
        self._events, self._problems, self._texts = [], {}, {}
        self.endResetModel()

    def append(self, events: Sequence[Event]) -> None:
        """Add a batch at the end."""
        if not events:
            return
        start = len(self._events)
        self.beginInsertRows(QModelIndex(), start, start + len(events) - 1)
        self._events.extend(events)
        self.endInsertRows()

    def set_problems(self, problems: Mapping[int, list[str]]) -> None:
        """Integrity problems by version; those rows are tinted and carry the messages as tooltips."""
        self._problems = dict(problems)
        self._texts = {}  # the type column and the tint depend on the problems
        if self._events:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._events) - 1, len(COLUMNS) - 1))

    def events(self) -> list[Event]:
        """The loaded events (shared, do not change)."""
        return self._events

    def row_of(self, version: int) -> int:
        """The row showing ``version``, or -1."""
        if not self._events:
            return -1
        row = version - self._events[0].version  # versions are contiguous
        return row if 0 <= row < len(self._events) else -1

    def version_at_row(self, row: int) -> int | None:
        return self._events[row].version if 0 <= row < len(self._events) else None

    def problems_of(self, version: int) -> list[str]:
        """Messages shown for an event: decoding problems and integrity problems."""
        row = self.row_of(version)
        decoded = list(self._events[row].problems) if row >= 0 else []
        return decoded + self._problems.get(version, [])

    # -- Qt model ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        # checked first and kept lean: a repaint asks every visible cell for about seven roles
        row = index.row()
        if row < 0:
            return None  # an invalid index
        if role == _DISPLAY:
            return self._row_texts(row)[index.column()]
        if role == _ALIGNMENT:
            return _RIGHT if index.column() == 0 else None
        if role == _BACKGROUND:
            if not self._row_texts(row)[4]:
                return None
            from PySide6.QtWidgets import QApplication

            return mark_color("warning", QApplication.palette())
        if role == _TOOLTIP:
            event = self._events[row]
            notes = self.problems_of(event.version)
            return "\n".join(notes) if notes else event.time.isoformat()
        return None

    def _row_texts(self, row: int) -> tuple[str, str, str, str, bool]:
        texts = self._texts.get(row)
        if texts is None:
            event = self._events[row]
            problem = self._has_problem(event)
            texts = (str(event.version), time_text(event), ("⚠ " if problem else "") + event.type, summary(event), problem)
            if len(self._texts) >= TEXT_CACHE_ROWS:
                self._texts.clear()  # rows seen long ago; the visible ones come back at once
            self._texts[row] = texts
        return texts

    def _has_problem(self, event: Event) -> bool:
        return bool(event.problems) or event.version in self._problems


class EventList(QTableView):
    """The view; emits versionSelected when the user selects a row, not when the cursor moves it."""

    versionSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.event_model = EventTableModel(self)
        self.setModel(self.event_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        # widths from the font, never ResizeToContents: that measures every one of a million rows
        fm = self.fontMetrics()
        for col, sample in ((0, "10000000"), (1, "2024-01-01 00:00:00"), (2, "⚠ TransferReceived")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        header.setStretchLastSection(True)
        self.verticalHeader().setDefaultSectionSize(fm.height() + fm.height() // 3)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._quiet = False
        self.selectionModel().currentRowChanged.connect(self._row_changed)

    def select_version(self, version: int) -> None:
        """Select and show the row of ``version`` without emitting versionSelected."""
        row = self.event_model.row_of(version)
        if row < 0:
            return
        self._quiet = True
        try:
            index = self.event_model.index(row, 0)
            self.selectionModel().setCurrentIndex(
                index,
                self.selectionModel().SelectionFlag.ClearAndSelect | self.selectionModel().SelectionFlag.Rows,
            )
            self.scrollTo(index)
        finally:
            self._quiet = False

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        version = self.event_model.version_at_row(current.row())
        if version is not None:
            self.versionSelected.emit(version)
