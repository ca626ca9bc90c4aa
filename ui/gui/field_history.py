"""The field history panel: every event that changed one field, with old and new value."""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from model.diff import format_path
from model.field_history import MISSING, FieldChange
from store.codec import dumps_json
from ui.session.text import plural, time_text

COLUMNS = ("Version", "Time (UTC)", "Type", "Old", "New")
VALUE_CHARS = 200
ABSENT_TEXT = "(absent)"
VERSION_ROLE = Qt.ItemDataRole.UserRole + 1


def value_text(value: Any) -> str:
    """One line for a value: compact JSON for containers and scalars, "(absent)" for MISSING."""
    if value is MISSING:
        return ABSENT_TEXT
    try:
        text = dumps_json(value).decode("utf-8", "replace")
    except Exception:  # a value the codec cannot encode is still shown, as Python prints it
        text = repr(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


class FieldChangeModel(QAbstractTableModel):
    """Adapts a list of FieldChange to a table; text is made only for rows on screen."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._changes: list[FieldChange] = []

    def set_changes(self, changes: Sequence[FieldChange]) -> None:
        self.beginResetModel()
        self._changes = list(changes)
        self.endResetModel()

    def changes(self) -> list[FieldChange]:
        return list(self._changes)

    def change(self, row: int) -> FieldChange:
        return self._changes[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._changes)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        change = self._changes[index.row()]
        column = index.column()
        if role == VERSION_ROLE:
            return change.version
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{change.version:,}"
            if column == 1:
                return time_text(change.time)
            if column == 2:
                return change.type
            return value_text(change.old if column == 3 else change.new)
        if role == Qt.ItemDataRole.ToolTipRole and column >= 3:
            value = change.old if column == 3 else change.new
            return value_text(value) if value is MISSING else _full_text(value)
        if role == Qt.ItemDataRole.FontRole and column >= 3:
            if (change.old if column == 3 else change.new) is MISSING:
                font = QFont()
                font.setItalic(True)
                return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _full_text(value: Any) -> str:
    try:
        return dumps_json(value, pretty=True).decode("utf-8", "replace")[:4000]
    except Exception:
        return repr(value)[:4000]


class FieldHistoryPanel(QWidget):
    """Lists the events that changed one field; double-click or Enter jumps to an event."""

    jumpTo = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._path: tuple = ()
        self.title = QLabel("Pick a field in the state tree to see its history.")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = FieldChangeModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # widths from the font (fixed pixels cut the time and value at other font sizes); New stretches
        fm = self.fontMetrics()
        for col, sample in enumerate(("1,000,000", "2024-01-01 00:00:00", "TransferReceived", "0" * 12)):
            header.resizeSection(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        self.table.doubleClicked.connect(self._jump_to_index)
        self.table.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)

    # -- content --------------------------------------------------------------------------------
    def set_changes(self, path: Sequence[Any], changes: Sequence[FieldChange]) -> None:
        """Show changes computed elsewhere (a worker) for ``path``."""
        self._path = tuple(path)
        self.model.set_changes(changes)
        name = format_path(self._path) or "(the whole state)"
        count = len(changes)
        if count == 0:
            self.title.setText(f"{name}: no loaded event changed it")
        else:
            self.title.setText(f"{name}: changed by {plural(count, 'event')}")

    def show_working(self, path: Sequence[Any]) -> None:
        """Say that the history of ``path`` is being looked for (it walks the whole stream)."""
        self._path = tuple(path)
        self.model.set_changes([])
        self.title.setText(f"{format_path(self._path) or '(the whole state)'}: looking through the stream…")

    def clear(self) -> None:
        """Show nothing (another stream was opened)."""
        self._path = ()
        self.model.set_changes([])
        self.title.setText("Pick a field in the state tree to see its history.")

    def path(self) -> tuple:
        return self._path

    def changes(self) -> list[FieldChange]:
        return self.model.changes()

    def select_version(self, version: int) -> None:
        """Select the last change at or before ``version`` (follows the cursor); emits nothing."""
        versions = [c.version for c in self.model.changes()]
        row = bisect_right(versions, version) - 1
        if row < 0:
            self.table.clearSelection()
            return
        index = self.model.index(row, 0)
        self.table.selectRow(row)
        self.table.scrollTo(index)

    # -- jumping ----------------------------------------------------------------------------------
    def _jump_to_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.jumpTo.emit(int(self.model.data(index, VERSION_ROLE)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._jump_to_index(self.table.currentIndex())
                return True
        return super().eventFilter(watched, event)
