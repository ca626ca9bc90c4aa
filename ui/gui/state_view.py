"""The state at the cursor as a tree, with what the current event (or a comparison) added,
changed or removed highlighted; a long value opens whole in a dialog.

The tree's model is ``ui.gui.state_model.StateModel``: it builds rows as the view asks for them.
"""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QPlainTextEdit, QTreeView, QVBoxLayout, QWidget)

from model.diff import Diff, format_path
from model.freeze import LIST_TYPES
from ui.gui.state_model import CELL_CHARS, MARKS, OPEN_TO_MARKS, Path, StateModel, full_text, is_container
from ui.gui.steady_label import SteadyLabel
from ui.gui.theme import mark_color

class StateView(QWidget):
    """A tree of one state; ``show_state(state, change)`` marks ``change``'s paths."""

    pathSelected = Signal(tuple)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = SteadyLabel("No stream open")
        self.tree = QTreeView()
        self.model = StateModel(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, self.fontMetrics().horizontalAdvance("x" * 24))
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(2, self.fontMetrics().horizontalAdvance("x" * 10))
        self.legend = QLabel(self._legend_html())
        small = self.legend.font()
        small.setPointSizeF(small.pointSizeF() * 0.85)  # the legend gives the title its room
        self.legend.setFont(small)
        heading = QHBoxLayout()
        heading.addWidget(self.title, 1)
        heading.addWidget(self.legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(heading)
        layout.addWidget(self.tree)
        self._key: object = None
        self._expanded: set[Path] = set()
        self._restoring = False
        self.tree.expanded.connect(self._opened)
        self.tree.collapsed.connect(lambda index: self._restoring or self._expanded.discard(self._path_of(index)))
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.doubleClicked.connect(self._read_all)
        self.model.modelReset.connect(self._restore_expansion)

    def _legend_html(self) -> str:
        swatches = []
        for mark in MARKS:
            colour = mark_color(mark, self.palette()).name()
            swatches.append(f'<span style="background-color:{colour}">&nbsp;{mark}&nbsp;</span>')
        return " ".join(swatches)

    # -- showing ---------------------------------------------------------------------------------
    def show_state(self, state: Mapping[str, Any] | None, change: Diff | None = None, title: str = "",
                   key: object = None) -> None:
        """Show ``state``; paths in ``change`` are marked added / changed / removed.

        ``key`` names what is shown (the cursor's version, its comparison and state), so the same
        point shown again costs nothing: see ``shown_key``.
        """
        self._key = key
        self.title.setText(title)
        selected = self.selected_path()
        scrolled = self.tree.verticalScrollBar().value()
        resets = self.model.resets
        self.model.show(state, change, self.palette())
        self._open_to_marks()
        if self.model.resets != resets:
            self.tree.verticalScrollBar().setValue(scrolled)  # rows made again: the reader stays where they were
        if selected is not None and self.selected_path() != selected:
            self.select_path(selected)

    def clear(self, title: str = "No stream open") -> None:
        """Show nothing."""
        self.show_state(None, None, title)

    def shown_state(self) -> Any:
        """The state currently shown."""
        return self.model.state

    def shown_key(self) -> object:
        """The ``key`` the shown state came with (None after ``clear``)."""
        return self._key

    def marks(self) -> dict[Path, str]:
        """Marked paths and their mark (from the diff), as the tree shows them."""
        return dict(self.model.marks)

    def tree_value(self) -> Any:
        """The value the rows show, read back row by row (removed rows left out): what a user reads."""
        return self._value_of(QModelIndex(), self.model.state)

    def _value_of(self, parent: QModelIndex, original: Any) -> Any:
        model = self.model
        if isinstance(original, Mapping):
            out: Any = {}
        elif isinstance(original, LIST_TYPES):
            out = []
        else:
            return original
        while True:  # a reader who asks sees every row: "more" until there is none
            rows = [model.index(r, 0, parent) for r in range(model.rowCount(parent))]
            more = [index for index in rows if model.node_of(index).more]
            if not more:
                break
            model.show_more(more[0])
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            node = model.node_of(index)
            if node.ghost:
                continue
            value = self._value_of(index, node.value)
            if isinstance(out, dict):
                out[node.key] = value
            else:
                out.append(value)
        return out

    def selected_path(self) -> Path | None:
        """The path of the selected row, or None."""
        index = self.tree.currentIndex()
        return self._path_of(index) if index.isValid() else None

    def select_path(self, path: Path) -> bool:
        """Select the row of ``path`` (expanding its parents); False when it is not shown."""
        index = self.model.index_of(tuple(path))
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        return True

    # -- expansion --------------------------------------------------------------------------------------
    def _opened(self, index: QModelIndex) -> None:
        if not self._restoring:
            self._expanded.add(self._path_of(index))

    def _restore_expansion(self) -> None:
        # keep what the user opened and open the top level (a new shape of state made every row again)
        self._restoring = True
        try:
            model = self.model
            for row in range(min(model.rowCount(), OPEN_TO_MARKS)):
                self.tree.expand(model.index(row, 0))
            for path in sorted(self._expanded, key=len):
                index = model.index_of(path)
                if index.isValid():
                    self.tree.expand(index)
        finally:
            self._restoring = False

    def _open_to_marks(self) -> None:
        self._restoring = True
        try:
            for path in list(self.model.marks)[:OPEN_TO_MARKS]:
                for depth in range(1, len(path)):
                    index = self.model.index_of(path[:depth])
                    if index.isValid() and not self.tree.isExpanded(index):
                        self.tree.expand(index)
        finally:
            self._restoring = False

    def _path_of(self, index: QModelIndex) -> Path:
        return self.model.node_of(index.siblingAtColumn(0)).path if index.isValid() else ()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            path = self._path_of(current)
            if path:
                self.pathSelected.emit(path)

    def _read_all(self, index: QModelIndex) -> None:
        """Double-click on a long value: read all of it in a window of its own ("… more": show more rows)."""
        if self.model.show_more(index.siblingAtColumn(0)):
            return
        node = self.model.node_of(index)
        if index.isValid() and not node.ghost and not is_container(node.value):
            text = full_text(node.value)
            if len(text) > CELL_CHARS:
                ValueDialog(format_path(node.path), text, self).open()


class ValueDialog(QDialog):
    """The whole of one value, however long."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"{title} ({len(text):,} characters)")
        self.text = QPlainTextEdit(readOnly=True)
        # a megabyte on one line takes Qt seconds to lay out unwrapped; wrapped anywhere, a fraction of one
        self.text.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.text.setPlainText(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy all", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(text))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(self.fontMetrics().averageCharWidth() * 100, self.fontMetrics().height() * 30)

