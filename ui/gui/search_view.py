"""The search view: a form for ``ui.session.search.search_of`` and its results, a page at a time.

The rows come from the session's ``SearchResults``; scrolling near the end asks for the next
page; activating a row opens its stream at that version (``openRequested``).
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from model.errors import UsageError
from ui.gui.columns import row_table
from ui.session.export import compact
from ui.session.search import SearchResults, search_of
from ui.session.text import number, one_line, plural, time_text

COLUMNS = ("Time (UTC)", "Stream", "Version", "Type", "Data")
DATA_CHARS = 200  # a cell shows the start of the payload; the event tab shows all of it


class SearchTableModel(QAbstractTableModel):
    """The rows of one ``SearchResults``; fetches the next page when the view reaches the end."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.results: SearchResults | None = None

    def set_results(self, results: SearchResults | None) -> None:
        self.beginResetModel()
        self.results = results
        self.endResetModel()
        if results is not None:
            results.reset.connect(self._reset)
            results.added.connect(self._added)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _added(self, start: int, end: int) -> None:
        self.beginInsertRows(QModelIndex(), start, end - 1)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self.results is None else len(self.results.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if self.results is None or not index.isValid():
            return None
        event = self.results.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return time_text(event.time) if event.time else ""
            if column == 1:
                return event.stream_id
            if column == 2:
                return number(event.version)
            if column == 3:
                return event.type
            return one_line(compact(event.data), DATA_CHARS)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            return one_line(compact(event.data), 2000)
        return None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and self.results is not None and self.results.can_fetch_more()

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802
        if self.results is not None:
            self.results.fetch_more()


class SearchView(QWidget):
    """Search events across every stream; ``openRequested(stream_id, version)`` when a row is activated."""

    openRequested = Signal(str, int)

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.results: SearchResults | None = None
        self.stream_type = QComboBox(editable=True)
        self.stream_type.setToolTip("A stream type, or empty for every type")
        self.types = QLineEdit(placeholderText="FundsWithdrawn, re:Transfer.*")
        self.types.setToolTip("Event types, separated by commas; re:… or /…/ is a regular expression")
        self.stream = QLineEdit(placeholderText="account-1*  (text, a glob, or re:…)")
        self.stream.setToolTip("Stream ids containing this text, matching this glob (* ? [ ]), or re:… / /…/")
        self.since = QLineEdit(placeholderText="from 2024-01-01")
        self.until = QLineEdit(placeholderText="to 2024-03-31T23:59:59")
        self.where = QLineEdit(placeholderText='{"data.amount": {"$gt": 10000}}')
        self.where.setToolTip("Conditions in MongoDB's query syntax over data.…, metadata.…, type, stream_id, "
                              "stream_type, version and time; comparison and logic operators only")
        self.sort = QComboBox()
        self.sort.addItem("by time", "time")
        self.sort.addItem("by stream and version", "stream")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = SearchTableModel(self)
        self.table = row_table(self.model, ("2024-01-01 00:00:00", "account-000000", "1,000,000", "TransferReceived"),
                               COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)

        form = QFormLayout()
        first = QHBoxLayout()
        first.addWidget(self.stream_type, 1)
        first.addWidget(QLabel("event types"))
        first.addWidget(self.types, 2)
        form.addRow("Stream type", first)
        second = QHBoxLayout()
        second.addWidget(self.stream, 2)
        second.addWidget(self.since, 1)
        second.addWidget(self.until, 1)
        form.addRow("Streams", second)
        third = QHBoxLayout()
        third.addWidget(self.where, 1)
        third.addWidget(self.sort)
        third.addWidget(self.search_button)
        third.addWidget(self.cancel_button)
        form.addRow("Where", third)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

        self.setFocusProxy(self.types)
        self.search_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        for edit in (self.types, self.stream, self.since, self.until, self.where):
            edit.returnPressed.connect(self.run)
        self.stream_type.lineEdit().returnPressed.connect(self.run)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)

    def set_stream_types(self, types: list[str]) -> None:
        """The stream types the store lists (the first entry, empty, asks for every type)."""
        current = self.stream_type.currentText()
        self.stream_type.clear()
        self.stream_type.addItems([""] + list(types))
        self.stream_type.setCurrentText(current)

    def run(self) -> SearchResults | None:
        """Search with what the form says; a field that does not parse is named in the note."""
        try:
            search = search_of(stream_type=self.stream_type.currentText(), types=self.types.text(),
                               stream=self.stream.text(), since=self.since.text(), until=self.until.text(),
                               where=self.where.text(), sort=self.sort.currentData())
        except UsageError as error:
            self.note.setText(f"✗ {error}")
            return None
        self.cancel()
        self.note.setText("Searching…")
        results = self.session.search(search)
        if results is None:
            self.note.setText("Not connected")
            return None
        self.results = results
        self.model.set_results(results)
        results.planned.connect(lambda plan: self._show_state())
        for signal in (results.added, results.counted, results.finished, results.failed):
            signal.connect(lambda *_: self._show_state())
        self.cancel_button.setEnabled(True)
        self._show_state()
        return results

    def cancel(self) -> None:
        if self.results is not None:
            self.results.cancel()
        self.cancel_button.setEnabled(False)

    def _show_state(self) -> None:
        results = self.results
        if results is None:
            return
        parts = []
        if results.error:
            parts.append(f"✗ {results.error}")
        shown = len(results.rows)
        if results.total is not None:
            parts.append(f"{plural(results.total, 'event')} found" + (f", {number(shown)} shown" if shown < results.total
                                                                       else ""))
        elif not results.error:
            parts.append(f"{number(shown)} shown so far, counting…" if shown else "Searching…")
        if results.plan is not None and results.plan.note:
            parts.append(results.plan.note)
        if results.plan is not None and results.plan.index:
            parts.append(f"no index serves this search; an index on {results.plan.index} would")
        self.note.setText(" · ".join(parts))
        self.cancel_button.setEnabled(not results.error and (results.total is None or not results.done))

    def _activated(self, index: QModelIndex) -> None:
        if self.results is not None and index.isValid():
            self.openRequested.emit(*self.results.target(index.row()))
