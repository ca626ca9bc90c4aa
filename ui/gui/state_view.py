"""The state at the cursor as a tree, with what the current event (or a comparison) added,
changed or removed highlighted."""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSizePolicy, QTreeView,
                               QVBoxLayout, QWidget)

from model.diff import Diff, format_path
from model.freeze import LIST_TYPES
from ui.gui.theme import mark_color

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
MARK_ROLE = Qt.ItemDataRole.UserRole + 2
MAX_CHILDREN = 500  # per node; the rest is summarised in one row
MAX_ITEMS = 20_000  # per tree, so a huge state cannot stall a cursor move

Path = tuple


def value_text(value: Any) -> str:
    """How a value reads in the tree: containers by size, strings quoted, others as they print."""
    if isinstance(value, Mapping):
        return "{%d}" % len(value)
    if isinstance(value, LIST_TYPES):
        return "[%d]" % len(value)
    if isinstance(value, str):
        return '"' + (value if len(value) <= 200 else value[:199] + "…") + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def type_text(value: Any) -> str:
    """The value's type, so BSON types (ObjectId, Decimal128, datetime) stay visible."""
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, LIST_TYPES):
        return "array"
    return "null" if value is None else type(value).__name__


def _children(value: Any):
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, LIST_TYPES):
        return list(enumerate(value))
    return []


class _Title(QWidget):
    """The heading over the tree: a word-wrapped label two lines high, whatever it says.

    The label sits in this widget without a layout. A label's new text asks its layout to run
    again, and each layout up the chain asks its parent's in turn, up to the tab widget, which
    then repaints the whole pane: about a millisecond on every cursor move. Here the request
    stops at this widget, whose size hints never change.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        lines = 2 * self.fontMetrics().lineSpacing()
        self.setMinimumHeight(lines)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._hint = QSize(self.fontMetrics().averageCharWidth() * 60, lines)

    def text(self) -> str:
        """The title shown."""
        return self.label.text()

    def setText(self, text: str) -> None:
        """Show ``text`` (wrapped; a third line and beyond is cut off in a narrow pane)."""
        self.label.setText(text)

    def sizeHint(self) -> QSize:
        return self._hint

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().averageCharWidth() * 10, self._hint.height())

    def resizeEvent(self, event) -> None:
        self.label.setGeometry(self.rect())
        super().resizeEvent(event)


class StateView(QWidget):
    """A tree of one state; ``show_state(state, change)`` marks ``change``'s paths."""

    pathSelected = Signal(tuple)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = _Title("No stream open")
        self.tree = QTreeView()
        self.model = QStandardItemModel(self)
        self.model.setHorizontalHeaderLabels(["Field", "Value", "Type"])
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().resizeSection(0, self.fontMetrics().horizontalAdvance("x" * 24))
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.tree.header().resizeSection(2, self.fontMetrics().horizontalAdvance("x" * 10))
        self.legend = QLabel(self._legend_html())
        heading = QHBoxLayout()
        heading.addWidget(self.title, 1)
        heading.addWidget(self.legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(heading)
        layout.addWidget(self.tree)
        self._state: Any = None
        self._key: object = None
        self._marks: dict[Path, str] = {}
        self._expanded: set[Path] = set()
        self._path_items: dict[Path, QStandardItem] = {}
        # the shown rows (path, the row's three items) in build order, when the tree holds the
        # whole state with no ghost or "… more" rows: then a state of the same shape is shown by
        # setting texts and marks in place, which costs far less than building every row again
        self._rows_in_place: list[tuple[Path, list[QStandardItem]]] | None = None
        self.tree.expanded.connect(lambda index: self._expanded.add(self._path_of(index)))
        self.tree.collapsed.connect(lambda index: self._expanded.discard(self._path_of(index)))
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

    def _legend_html(self) -> str:
        swatches = []
        for mark in ("added", "changed", "removed"):
            colour = mark_color(mark, self.palette()).name()
            swatches.append(f'<span style="background-color:{colour}">&nbsp;{mark}&nbsp;</span>')
        return "&nbsp;".join(swatches)

    # -- showing ------------------------------------------------------------------------
    def show_state(self, state: Mapping[str, Any] | None, change: Diff | None = None, title: str = "",
                   key: object = None) -> None:
        """Show ``state``; paths in ``change`` are marked added / changed / removed.

        ``key`` names what is shown (the cursor's version, its comparison and state), so the same
        point shown again costs nothing: see ``shown_key``.
        """
        self._key = key
        self._state = state
        self._marks = {}
        if change is not None:
            for kind, changes in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
                for c in changes:
                    self._marks[tuple(c.path)] = kind
        self.title.setText(title)
        if not self._update_in_place(change):
            self._rebuild(change)

    def clear(self, title: str = "No stream open") -> None:
        """Show nothing."""
        self.show_state(None, None, title)

    def shown_state(self) -> Any:
        """The state currently shown."""
        return self._state

    def shown_key(self) -> object:
        """The ``key`` the shown state came with (None after ``clear``)."""
        return self._key

    def marks(self) -> dict[Path, str]:
        """Marked paths and their kind, as the tree shows them."""
        out = {}
        for path, item in self._path_items.items():
            kind = item.data(MARK_ROLE)
            if kind:
                out[path] = kind
        return out

    def tree_value(self) -> Any:
        """Rebuild the shown value from the tree's rows (removed rows left out): what a user reads."""
        return _value_of(self.model.invisibleRootItem(), self._state)

    def selected_path(self) -> Path | None:
        """The path of the selected row, or None."""
        index = self.tree.currentIndex()
        return self._path_of(index) if index.isValid() else None

    def select_path(self, path: Path) -> bool:
        """Select the row of ``path`` (expanding its parents); False when it is not shown."""
        item = self._path_items.get(tuple(path))
        if item is None:
            return False
        index = item.index()
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        self.tree.setCurrentIndex(index)
        return True

    # -- building -------------------------------------------------------------------------
    def _update_in_place(self, change: Diff | None) -> bool:
        """Show the new state in the existing rows when it has the same shape; False when it has not."""
        rows = self._rows_in_place
        if rows is None or self._state is None or any(kind == "removed" for kind in self._marks.values()):
            return False
        wanted = _shape(self._state)
        if wanted is None or len(wanted) != len(rows) or any(w[0] != r[0] for w, r in zip(wanted, rows)):
            return False
        palette = self.palette()
        brushes = {kind: mark_color(kind, palette) for kind in ("added", "changed", "removed")}
        shown_marks: dict[Path, str | None] = {}
        for (path, value), (_path, items) in zip(wanted, rows):
            text, kind = value_text(value), type_text(value)
            if items[1].text() != text:
                items[1].setText(text)
            if items[2].text() != kind:
                items[2].setText(kind)
            # as a rebuild marks: a row's own mark, else "added" when its parent row shows added
            mark = self._marks.get(path) or ("added" if shown_marks.get(path[:-1]) == "added" else None)
            shown_marks[path] = mark
            if items[0].data(MARK_ROLE) != mark:
                _set_mark(items, path, mark, brushes)
        self._restore_expansion()
        return True

    def _rebuild(self, change: Diff | None) -> None:
        selected = self.selected_path()
        palette = self.palette()
        brushes = {kind: mark_color(kind, palette) for kind in ("added", "changed", "removed")}
        self.tree.setUpdatesEnabled(False)
        self.model.removeRows(0, self.model.rowCount())
        self._path_items = {}
        self._rows_in_place = None
        root = self.model.invisibleRootItem()
        if self._state is None:
            self.tree.setUpdatesEnabled(True)
            return
        removed_under: dict[Path, list] = {}
        for path, kind in self._marks.items():
            if kind == "removed" and path:
                removed_under.setdefault(path[:-1], []).append(path)
        removed_values = {tuple(c.path): c.old for c in (change.removed if change else [])}
        budget = [MAX_ITEMS]
        built: list[tuple[Path, list[QStandardItem]]] = []
        whole = True
        # an explicit stack: states can nest deeper than Python's recursion limit
        stack: list[tuple[QStandardItem, Path, Any, str | None]] = [(root, (), self._state, None)]
        while stack and budget[0] > 0:
            parent_item, path, value, inherited = stack.pop()
            rows = []
            children = _children(value)
            for key, child in children[:MAX_CHILDREN]:
                child_path = path + (key,)
                mark = self._marks.get(child_path) or inherited
                row = self._row(key, child, child_path, mark, brushes)
                rows.append((row, child_path, child, "added" if mark == "added" else None))
            for row, child_path, child, inherit in rows:
                parent_item.appendRow(row)
                built.append((child_path, row))
                budget[0] -= 1
                if _children(child):
                    stack.append((row[0], child_path, child, inherit))
            if len(children) > MAX_CHILDREN:
                whole = False
                parent_item.appendRow([QStandardItem(f"… {len(children) - MAX_CHILDREN:,} more"), QStandardItem(""), QStandardItem("")])
            for gone in removed_under.get(path, []):
                whole = False
                parent_item.appendRow(self._row(gone[-1], removed_values.get(gone), gone, "removed", brushes, ghost=True))
        if whole and not stack:
            self._rows_in_place = built
        self._restore_expansion()
        self.tree.setUpdatesEnabled(True)
        if selected is not None:
            self.select_path(selected)

    def _row(self, key, value, path: Path, mark: str | None, brushes, ghost: bool = False) -> list[QStandardItem]:
        items = [QStandardItem(str(key)), QStandardItem(value_text(value)), QStandardItem(type_text(value))]
        items[0].setData(path, PATH_ROLE)
        items[0].setData(ghost, Qt.ItemDataRole.UserRole + 3)
        if mark:
            _set_mark(items, path, mark, brushes)
            if ghost:
                font = items[0].font()
                font.setStrikeOut(True)
                for item in items:
                    item.setFont(font)
        if not ghost:
            self._path_items[path] = items[0]
        else:
            self._path_items.setdefault(path, items[0])
        return items

    def _restore_expansion(self) -> None:
        # keep what the user opened, open the top level, and open the way to every mark
        wanted = set(self._expanded)
        for path in self._marks:
            wanted.update(path[:i] for i in range(1, len(path)))
        root = self.model.invisibleRootItem()
        for row in range(root.rowCount()):
            self.tree.expand(root.child(row, 0).index())
        for path in sorted(wanted, key=len):
            item = self._path_items.get(path)
            if item is not None:
                self.tree.expand(item.index())

    def _path_of(self, index: QModelIndex) -> Path:
        item = self.model.itemFromIndex(index.siblingAtColumn(0))
        return tuple(item.data(PATH_ROLE) or ()) if item is not None else ()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            path = self._path_of(current)
            if path:
                self.pathSelected.emit(path)


_NOTES = {"added": "added by this event", "changed": "changed by this event", "removed": "removed by this event"}


def _set_mark(items: list[QStandardItem], path: Path, mark: str | None, brushes) -> None:
    """Tint a row and say why in its tooltip; None takes a mark away."""
    items[0].setData(mark, MARK_ROLE)
    for item in items:
        if mark:
            item.setBackground(brushes[mark])
            item.setToolTip(f"{format_path(path)}: {_NOTES[mark]}")
        else:
            item.setData(None, Qt.ItemDataRole.BackgroundRole)
            item.setData(None, Qt.ItemDataRole.ToolTipRole)


def _shape(state: Any) -> list[tuple[Path, Any]] | None:
    """(path, value) of every row a rebuild would make, parents first; None past the limits."""
    out: list[tuple[Path, Any]] = []
    stack: list[tuple[Path, Any]] = [((), state)]
    while stack:
        path, value = stack.pop()
        children = _children(value)
        if len(children) > MAX_CHILDREN:
            return None
        for key, child in children:
            out.append((path + (key,), child))
            if len(out) > MAX_ITEMS:
                return None
        for key, child in children:
            if _children(child):
                stack.append((path + (key,), child))
    return out


def _value_of(item: QStandardItem, original: Any) -> Any:
    """The value the rows under ``item`` show, following the original's container kinds."""
    if isinstance(original, Mapping):
        out = {}
    elif isinstance(original, LIST_TYPES):
        out = []
    else:
        return original
    for row in range(item.rowCount()):
        child = item.child(row, 0)
        path = child.data(PATH_ROLE)
        if path is None or child.data(Qt.ItemDataRole.UserRole + 3):
            continue  # "… more" rows and removed ghosts are not part of the state
        key = path[-1]
        sub = original[key]
        value = _value_of(child, sub) if _children(sub) or isinstance(sub, (Mapping, *LIST_TYPES)) else sub
        if isinstance(out, dict):
            out[key] = value
        else:
            out.append(value)
    return out
