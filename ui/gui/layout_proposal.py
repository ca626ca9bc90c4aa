"""The detected layout of a foreign store, shown for the user to confirm or edit before use."""
from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from model.errors import LayoutError
from store.layout import Layout, parse_layout


class LayoutProposalDialog(QDialog):
    """Shows detection's TOML (with a confidence and reason per field); accepts only a valid layout."""

    def __init__(self, proposal, database: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Confirm the detected layout")
        self.chosen: Layout | None = None
        found = f"the {proposal.preset!r} preset" if proposal.preset else "a layout built from the documents' fields"
        doubt = ""
        if not proposal.certain:
            doubt = (" Detection is not certain"
                     + (f" of: {', '.join(proposal.undecided_fields)}" if proposal.undecided_fields else "")
                     + "; check those fields before use.")
        self.intro = QLabel(
            f"Database {database!r} is not in EventLens's own layout. Detection found {found}.{doubt} "
            "Edit the layout if needed; EventLens only reads this store (its own snapshots go to "
            "'eventlens_snapshots')."
        )
        self.intro.setWordWrap(True)
        self.editor = QPlainTextEdit(proposal.to_toml())
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: palette(highlight)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this layout")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.editor, self.error, buttons):
            layout.addWidget(widget)
        self.resize(self.fontMetrics().averageCharWidth() * 90, self.fontMetrics().height() * 32)

    def accept(self) -> None:
        # A layout is data: parsing it is the whole check, and a bad edit keeps the dialog open.
        try:
            self.chosen = parse_layout(self.editor.toPlainText(), source="the detected layout")
        except LayoutError as error:
            self.error.setText(str(error))
            return
        super().accept()


def confirm_layout(parent: QWidget | None, proposal, database: str) -> Layout | None:
    """Ask the user to confirm (or edit) a detected layout; None when they decline."""
    dialog = LayoutProposalDialog(proposal, database, parent)
    return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None
