"""The stream browser: a paged table model over ``store.streams`` with a search box and type filter.

Pages are fetched through the worker when the view scrolls near the end (canFetchMore /
fetchMore), so 100,000 streams cost one count and a page, never a full listing.
"""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from model.event import StreamInfo
from ui.gui.workers import Job, Worker

COLUMNS = ("Stream", "Type", "Events", "Last change (UTC)")
SORT_KEYS = ("stream_id", "stream_type", "events", "last_time")
PAGE_SIZE = 200


def format_time(moment: datetime | None) -> str:
    """A compact UTC time for lists."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


class StreamTableModel(QAbstractTableModel):
    """Streams matching the current filter, loaded page by page through the worker."""

    pageLoaded = Signal(int)  # rows now loaded
    countChanged = Signal(int)  # streams matching the filter
    failed = Signal(object)  # the exception of a count or page query

    def __init__(self, worker: Worker, parent: QObject | None = None, page_size: int = PAGE_SIZE):
        super().__init__(parent)
        self._worker, self._page_size = worker, page_size
        self._store = None
        self._rows: list[StreamInfo] = []
        self._total: int | None = None
        self._fetching = False
        self._generation = 0  # results of an older filter are dropped
        self._match: str | None = None
        self._type: str | None = None
        self._sort, self._descending = "stream_id", False
        self._problems: dict[str, int] = {}

    # -- control ------------------------------------------------------------------
    def set_store(self, store) -> None:
        """Show the streams of ``store`` (None clears)."""
        self._store = store
        self.refresh()

    def set_filter(self, match: str | None = None, type: str | None = None) -> None:
        """Filter by id substring and exact stream type; reloads from the first page."""
        self._match, self._type = (match or None), (type or None)
        self.refresh()

    def refresh(self) -> None:
        """Drop what is loaded and count and load the first page again."""
        self.beginResetModel()
        self._generation += 1
        self._rows, self._total, self._fetching = [], None, False
        self.endResetModel()
        if self._store is None:
            return
        store, gen, match, type_ = self._store, self._generation, self._match, self._type
        sort, desc, size = self._sort, self._descending, self._page_size

        def count_and_first_page(job: Job):
            total = store.count_streams(type=type_, match=match)
            job.check()
            page = store.streams(type=type_, match=match, sort=sort, descending=desc, offset=0, limit=size)
            return total, page

        self._fetching = True
        self._worker.submit("list streams", count_and_first_page,
                            result=lambda value: self._first_page(gen, *value),
                            error=lambda exc: self._failed(gen, exc))

    def mark_problems(self, stream_id: str, count: int) -> None:
        """Mark a stream that the integrity check found problems in."""
        self._problems[stream_id] = count
        for row, info in enumerate(self._rows):
            if info.stream_id == stream_id:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def stream_at(self, row: int) -> StreamInfo | None:
        """The stream shown in ``row``."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def total(self) -> int | None:
        """How many streams match the filter (None while counting)."""
        return self._total

    # -- results --------------------------------------------------------------------
    def _first_page(self, gen: int, total: int, page: list[StreamInfo]) -> None:
        if gen != self._generation:
            return
        self._fetching = False
        self._total = total
        self.countChanged.emit(total)
        self._append(page)

    def _next_page(self, gen: int, page: list[StreamInfo]) -> None:
        if gen != self._generation:
            return
        self._fetching = False
        if not page:  # the store shrank under us: stop asking
            self._total = len(self._rows)
        self._append(page)

    def _append(self, page: list[StreamInfo]) -> None:
        if page:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
        self.pageLoaded.emit(len(self._rows))

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen == self._generation:
            self._fetching = False
            self._total = len(self._rows)  # stop paging until the next refresh
            self.failed.emit(exc)

    # -- Qt model -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        info, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (info.stream_id, info.stream_type, f"{info.events:,}", format_time(info.last_time))[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            problems = self._problems.get(info.stream_id)
            note = f"\n{problems} integrity problem(s)" if problems else ""
            return f"{info.stream_id}\nversions {info.first_version}–{info.last_version}{note}"
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and self._problems.get(info.stream_id):
            from PySide6.QtWidgets import QApplication

            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:
        if parent.isValid() or self._store is None or self._total is None:
            return False
        return not self._fetching and len(self._rows) < self._total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        store, gen, offset = self._store, self._generation, len(self._rows)
        match, type_, sort, desc, size = self._match, self._type, self._sort, self._descending, self._page_size
        self._fetching = True
        self._worker.submit(
            "list streams",
            lambda job: store.streams(type=type_, match=match, sort=sort, descending=desc, offset=offset, limit=size),
            result=lambda page: self._next_page(gen, page),
            error=lambda exc: self._failed(gen, exc),
        )

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort on the server by the column's key; reloads from the first page."""
        key = SORT_KEYS[column]
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) != (self._sort, self._descending):
            self._sort, self._descending = key, descending
            self.refresh()


class StreamBrowser(QWidget):
    """Search box, type filter and the paged stream table; emits streamActivated(stream_id)."""

    streamActivated = Signal(str)

    def __init__(self, worker: Worker, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = StreamTableModel(worker, self)
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
        fm = self.view.fontMetrics()  # widths from the font: no per-row measuring
        for col, sample in ((0, "account-000000"), (1, "account"), (2, "1,000,000")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        self.view.verticalHeader().setDefaultSectionSize(fm.height() + fm.height() // 3)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)

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
        self.model.countChanged.connect(lambda n: self.count_label.setText(f"{n:,} streams"))
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)

    def set_store(self, store, types: list[str]) -> None:
        """Show a store's streams, with its stream types in the filter."""
        self.type_filter.blockSignals(True)
        self.type_filter.clear()
        self.type_filter.addItem("All types", "")
        for t in types:
            self.type_filter.addItem(t or "(no type)", t)
        self.type_filter.blockSignals(False)
        self.model._match, self.model._type = None, None
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.model.set_store(store)

    def apply_filter(self) -> None:
        """Apply the search text and type now."""
        self._debounce.stop()
        self.model.set_filter(self.search.text().strip(), self.type_filter.currentData() or None)

    def _activated(self, index: QModelIndex) -> None:
        info = self.model.stream_at(index.row())
        if info is not None:
            self.streamActivated.emit(info.stream_id)
