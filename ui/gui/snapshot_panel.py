"""The stream's snapshots: list them, create one at the cursor, verify one against a full replay."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.diff import format_path
from model.event import Snapshot
from ui.session.text import number, time_text

COLUMNS = ("Version", "Reducer", "Created", "By")
MAX_DIFF_LINES = 200


def verification_text(verification) -> str:
    """A readable verdict: matches, differs (with the paths), or could not replay."""
    snap = verification.snapshot
    where = f"snapshot at version {snap.version} ({snap.reducer.name})"
    if verification.error is not None:
        return f"✗ {where}: could not verify: {verification.error}"
    if verification.ok:
        return f"✓ {where} matches a full replay"
    lines = [f"✗ {where} differs from a full replay (snapshot → replay):"]
    d = verification.diff
    for c in d.added:
        lines.append(f"  + {format_path(c.path)} = {c.new!r} (missing from the snapshot)")
    for c in d.removed:
        lines.append(f"  - {format_path(c.path)} = {c.old!r} (only in the snapshot)")
    for c in d.changed:
        lines.append(f"  ~ {format_path(c.path)}: {c.old!r} → {c.new!r}")
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"  … {len(lines) - MAX_DIFF_LINES} more"]
    return "\n".join(lines)


class SnapshotPanel(QWidget):
    """Lists snapshots; emits createRequested, verifyRequested(snapshot) and jumpTo(version)."""

    createRequested = Signal()
    verifyRequested = Signal(object)
    jumpTo = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.create_button = QPushButton("Create at cursor…")
        self.verify_button = QPushButton("Verify selected")
        self.verify_button.setEnabled(False)
        self.result = QPlainTextEdit(readOnly=True)
        self.result.setPlaceholderText("Verify a snapshot to compare it with a full replay")
        self.result.setMaximumBlockCount(MAX_DIFF_LINES + 10)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.verify_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.result, 1)
        self._snapshots: list[Snapshot] = []
        self.create_button.clicked.connect(self.createRequested)
        self.verify_button.clicked.connect(self._verify_selected)
        self.table.itemSelectionChanged.connect(
            lambda: self.verify_button.setEnabled(self.selected() is not None)
        )
        self.table.cellDoubleClicked.connect(lambda row, _c: self.jumpTo.emit(self._snapshots[row].version))

    def set_snapshots(self, snapshots: list[Snapshot]) -> None:
        """Show these snapshots, by version."""
        self._snapshots = sorted(snapshots, key=lambda s: (s.version, s.created_at))
        self.table.setRowCount(len(self._snapshots))
        for row, snap in enumerate(self._snapshots):
            reducer = snap.reducer.name + (" (foreign)" if snap.foreign else "")
            created = time_text(snap.created_at)
            for col, text in enumerate((number(snap.version), reducer, created, snap.created_by)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"fingerprint {snap.reducer.fingerprint}")
                if col == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.verify_button.setEnabled(self.selected() is not None)

    def snapshots(self) -> list[Snapshot]:
        return list(self._snapshots)

    def selected(self) -> Snapshot | None:
        """The selected snapshot, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self._snapshots[rows[0].row()] if rows else None

    def select_version(self, version: int) -> bool:
        """Select the first snapshot at ``version``."""
        for row, snap in enumerate(self._snapshots):
            if snap.version == version:
                self.table.selectRow(row)
                return True
        return False

    def set_writable(self, writable: bool, reason: str = "") -> None:
        """Enable creation, or say why it is refused (read-only connection)."""
        self.create_button.setEnabled(writable)
        self.create_button.setToolTip("" if writable else reason)
        self.note.setText("" if writable else reason)
        self.note.setVisible(not writable)

    def show_verification(self, verification) -> None:
        """Show a Verification's verdict and differences."""
        self.result.setPlainText(verification_text(verification))

    def show_message(self, text: str) -> None:
        self.result.setPlainText(text)

    def _verify_selected(self) -> None:
        snap = self.selected()
        if snap is not None:
            self.verifyRequested.emit(snap)
