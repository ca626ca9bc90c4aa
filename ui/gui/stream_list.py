"""The stream browser: a paged table model over ``store.streams`` with a search box and type filter.

The session's StreamList fetches pages through the worker when the view scrolls near the end
(canFetchMore / fetchMore), so 100,000 streams cost one count and a page, never a full listing.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from model.event import StreamInfo
from ui.gui.columns import fit_columns, fixed_rows
from ui.session.streams import StreamList
from ui.session.text import number, plural, time_text

COLUMNS = ("Stream", "Type", "Events", "Last change (UTC)")
SORT_KEYS = ("stream_id", "stream_type", "events", "last_time")


class StreamTableModel(QAbstractTableModel):
    """Adapts the session's StreamList (pages fetched as the view scrolls) to a table."""

    pageLoaded = Signal(int)  # rows now loaded
    countChanged = Signal(int)  # streams matching the filter
    failed = Signal(object)  # the exception of a count or page query

    def __init__(self, streams: StreamList, parent: QObject | None = None):
        super().__init__(parent)
        self.streams = streams
        streams.reset.connect(self._reset)
        streams.added.connect(self._added)
        streams.counted.connect(self.countChanged.emit)
        streams.failed.connect(self.failed.emit)
        streams.marked.connect(self._marked)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _added(self, start: int, end: int) -> None:
        if end > start:
            self.beginInsertRows(QModelIndex(), start, end - 1)
            self.endInsertRows()
        self.pageLoaded.emit(end)

    def _marked(self, stream_id: str) -> None:
        row = self.streams.row_of(stream_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def stream_at(self, row: int) -> StreamInfo | None:
        """The stream shown in ``row``."""
        rows = self.streams.rows
        return rows[row] if 0 <= row < len(rows) else None

    def total(self) -> int | None:
        return self.streams.total

    # -- Qt model -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.streams.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        info, col = self.streams.rows[index.row()], index.column()
        problems = self.streams.problems.get(info.stream_id)
        if role == Qt.ItemDataRole.DisplayRole:
            return (info.stream_id, info.stream_type, number(info.events), time_text(info.last_time))[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            note = f"\n{plural(problems, 'integrity problem')}" if problems else ""
            return f"{info.stream_id}\nversions {number(info.first_version)}–{number(info.last_version)}{note}"
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and problems:
            from PySide6.QtWidgets import QApplication

            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and self.streams.can_fetch_more()

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:
        if not parent.isValid():
            self.streams.fetch_more()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the store by the column's key; reloads from the first page."""
        self.streams.set_sort(SORT_KEYS[column], order == Qt.SortOrder.DescendingOrder)


class StreamBrowser(QWidget):
    """Search box, type filter and the paged stream table; emits streamActivated(stream_id)."""

    streamActivated = Signal(str)

    def __init__(self, streams: StreamList, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = StreamTableModel(streams, self)
        self.search = QLineEdit(placeholderText="Search streams…", clearButtonEnabled=True)
        self.type_filter = QComboBox()
        self.type_filter.addItem("All types", "")
        self.count_label = QLabel("")
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        # each column as wide as its heading and a typical value: never "ast chan"
        fit_columns(header, ("account-000000", "account", "1,000,000", "2024-01-01 00:00:00"), COLUMNS)
        fixed_rows(self.view.verticalHeader())

        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.type_filter, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view)
        layout.addWidget(self.count_label)

        # typing refilters after a short pause, not on every key
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        self.search.returnPressed.connect(self.apply_filter)
        self.type_filter.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.model.countChanged.connect(lambda n: self.count_label.setText(plural(n, "stream")))
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)

    def set_types(self, types: list[str]) -> None:
        """A new store: its stream types in the filter, the search cleared (the list reloads itself)."""
        self.type_filter.blockSignals(True)
        self.type_filter.clear()
        self.type_filter.addItem("All types", "")
        for t in types:
            self.type_filter.addItem(t or "(no type)", t)
        self.type_filter.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)

    def stop_timers(self) -> None:
        self._debounce.stop()

    def apply_filter(self) -> None:
        """Apply the search text and type now."""
        self._debounce.stop()
        self.model.streams.set_filter(self.search.text().strip(), self.type_filter.currentData() or None)

    def _activated(self, index: QModelIndex) -> None:
        info = self.model.stream_at(index.row())
        if info is not None:
            self.streamActivated.emit(info.stream_id)
