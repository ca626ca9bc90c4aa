"""The as-of view: every selected stream's state at a moment, a row per stream, with the foot of its numbers.

The rows come from the session's ``AsOfResults`` as the worker processes fold them; the columns
grow as new top-level fields appear. Activating a row opens its stream at that version.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from model.errors import EventLensError
from ui.gui.columns import row_table
from ui.gui.theme import banner_colors
from ui.session.asof import AsOfResults, as_of_of, cell_text, foot_text
from ui.session.export import compact
from ui.session.text import number, plural, time_text

FIXED = ("Stream", "Version", "Time (UTC)")


class AsOfTableModel(QAbstractTableModel):
    """Stream, version, time, one column per top-level field seen so far, and the reducer's error."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.results: AsOfResults | None = None
        self._columns: list[str] = []

    def set_results(self, results: AsOfResults | None) -> None:
        self.beginResetModel()
        self.results = results
        self._columns = []
        self.endResetModel()
        if results is not None:
            results.reset.connect(lambda: self.set_results(results))
            results.added.connect(self._added)

    def _added(self, start: int, end: int) -> None:
        results = self.results
        new = results.columns[len(self._columns):]
        if new:  # the error column stays last
            first = len(FIXED) + len(self._columns)
            self.beginInsertColumns(QModelIndex(), first, first + len(new) - 1)
            self._columns = list(results.columns)
            self.endInsertColumns()
        self.beginInsertRows(QModelIndex(), start, end - 1)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self.results is None else len(self.results.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(FIXED) + len(self._columns) + 1

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < len(FIXED):
            return FIXED[section]
        field = section - len(FIXED)
        return self._columns[field] if field < len(self._columns) else "Error"

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if self.results is None or not index.isValid():
            return None
        row = self.results.rows[index.row()]
        column = index.column()
        field = column - len(FIXED)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.stream_id
            if column == 1:
                return number(row.version)
            if column == 2:
                return time_text(row.time) if row.time else ""
            if field < len(self._columns):
                return cell_text(row.state.get(self._columns[field]))
            return row.error
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return compact(row.state)[:2000] + (f"\nstarted from the snapshot at version {row.snapshot:,}"
                                                    if row.snapshot else "")
            if 0 <= field < len(self._columns):
                return cell_text(row.state.get(self._columns[field]), 2000)
            return row.error or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            value = row.state.get(self._columns[field]) if 0 <= field < len(self._columns) else None
            if column == 1 or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and row.error:
            return QBrush(banner_colors(QApplication.palette(), "error")[0])
        return None


class AsOfView(QWidget):
    """Fold every selected stream to a moment; ``openRequested(stream_id, version)`` when a row is activated."""

    openRequested = Signal(str, int)

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.results: AsOfResults | None = None
        self.moment = QLineEdit(placeholderText="latest, or 2024-03-31T23:59:59")
        self.moment.setToolTip("Each stream's state after its last event at or before this moment (UTC when no "
                               "zone is given); empty or 'latest' for each stream's end")
        self.stream_type = QComboBox(editable=True)
        self.stream_type.setToolTip("A stream type, or empty for every type")
        self.stream = QLineEdit(placeholderText="streams: text, glob or re:…")
        self.snapshots_box = QCheckBox("Start from snapshots", checked=True)
        self.snapshots_box.setToolTip("Start each stream from its latest snapshot at or before the moment made by "
                                      "the same reducer")
        self.reducer_label = QLabel("")
        self.reducer_label.setWordWrap(True)  # a long reducer name must not widen the window
        self.run_button = QPushButton("Compute")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("The rows in so far, as CSV (.csv) or NDJSON (.ndjson), as the as-of command "
                                      "prints them")
        self.export_button.setEnabled(False)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.foot = QLabel("")
        self.foot.setWordWrap(True)
        self.foot.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = AsOfTableModel(self)
        self.table = row_table(self.model, ("account-000000", "1,000,000", "2024-01-01 00:00:00"), FIXED, 16)

        top = QHBoxLayout()
        top.addWidget(QLabel("As of"))
        top.addWidget(self.moment, 2)
        top.addWidget(self.stream_type, 1)
        top.addWidget(self.stream, 1)
        second = QHBoxLayout()
        second.addWidget(self.snapshots_box)
        second.addWidget(self.reducer_label, 1)
        second.addWidget(self.run_button)
        second.addWidget(self.cancel_button)
        second.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.foot)

        self.setFocusProxy(self.moment)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._export_dialog)
        self.moment.returnPressed.connect(self.run)
        self.stream.returnPressed.connect(self.run)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)
        session.reducer.changed.connect(lambda *_: self._show_reducer())
        self._show_reducer()

    def _show_reducer(self) -> None:
        self.reducer_label.setText(f"Reducer: {self.session.reducer.name} (the Reducer menu changes it)")

    def set_stream_types(self, types: list[str]) -> None:
        current = self.stream_type.currentText()
        self.stream_type.clear()
        self.stream_type.addItems([""] + list(types))
        self.stream_type.setCurrentText(current)

    def run(self) -> AsOfResults | None:
        """Compute with what the form says; a field that does not parse is named in the note."""
        try:
            request = as_of_of(self.moment.text(), stream_type=self.stream_type.currentText(),
                               stream=self.stream.text(),
                               reducer_path=str(self.session.reducer.path) if self.session.reducer.path else None,
                               use_snapshots=self.snapshots_box.isChecked())
        except EventLensError as error:
            self.note.setText(f"✗ {error}")
            return None
        self.cancel()
        results = self.session.as_of(request)
        if results is None:
            self.note.setText("Not connected")
            return None
        self.results = results
        self.model.set_results(results)
        self.foot.setText("")
        for signal in (results.added, results.finished, results.failed):
            signal.connect(lambda *_: self._show_state())
        results.summed.connect(lambda totals: self.foot.setText("\n".join(foot_text(totals))))
        self._show_state()
        return results

    def cancel(self) -> None:
        if self.results is not None and not self.results.complete and not self.results.error:
            self.results.cancel()

    def _show_state(self) -> None:
        results = self.results
        running = not results.complete and not results.error
        when = ("at its end" if results.request.moment is None else f"at {time_text(results.request.moment)}")
        text = f"{plural(len(results.rows), 'stream')} {when}"
        if running:
            text += (f" of {number(results.total)}" if results.total else "") + "…"
        if results.skipped:
            text += f"; {plural(results.skipped, 'stream')} had no event by then and are left out"
        failed = sum(1 for r in results.rows if r.error)
        if failed:
            text += f"; the reducer failed on {plural(failed, 'stream')} (their rows show the error)"
        if results.error:
            text = f"✗ {results.error} · " + text
        self.note.setText(text)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(bool(results.rows))

    def export_to(self, path: str):
        return self.session.export_as_of(self.results, path)

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export states", "states.csv", "CSV (*.csv);;NDJSON (*.ndjson)")
        if path:
            self.export_to(path)

    def _activated(self, index: QModelIndex) -> None:
        if self.results is not None and index.isValid():
            self.openRequested.emit(*self.results.target(index.row()))
