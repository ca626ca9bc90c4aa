"""The state at the cursor as a tree, with what the current event (or a comparison) added,
changed or removed highlighted.

The tree is a model over the state value itself: a node's children are made when the view
asks for them (an expanded node, a visible row), so a state of 100,000 keys costs its visible
rows, not 100,000. What is marked comes from the diff's paths, never from walking the tree.
"""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QPlainTextEdit, QSizePolicy, QTreeView, QVBoxLayout, QWidget)

from model.diff import Diff, format_path
from model.freeze import LIST_TYPES, changed_keys
from ui.gui.theme import mark_color

Path = tuple
#: Characters of a value the tree shows in its cell; all of it is one double-click away.
CELL_CHARS = 200
TOOLTIP_CHARS = 4000
#: Keys compared one by one at most, to tell whether a state kept its shape (else the rows are made again).
SMALL = 1000
#: Rows a node shows at first, and per "more" after that: a view lays out every row it is given.
CHUNK = 500
#: The tree opens the way to this many marked paths at most (a comparison may mark thousands).
OPEN_TO_MARKS = 50
COLUMNS = ("Field", "Value", "Type")
_MARKS = ("added", "changed", "removed")
_NOTES = {"added": "added by this event", "changed": "changed by this event", "removed": "removed by this event"}


def value_text(value: Any, limit: int = CELL_CHARS) -> str:
    """How a value reads in the tree: containers by size ("[]" when empty), strings quoted, others as they print."""
    if isinstance(value, Mapping):
        return "{}" if not value else f"{{{len(value):,} {'key' if len(value) == 1 else 'keys'}}}"
    if isinstance(value, LIST_TYPES):
        return "[]" if not value else f"[{len(value):,} {'item' if len(value) == 1 else 'items'}]"
    if isinstance(value, str):
        return '"' + (value if len(value) <= limit else value[: limit - 1] + "…") + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def full_text(value: Any) -> str:
    """The whole value, as the "show all" window reads it."""
    if isinstance(value, str):
        return value
    from store.codec import dumps_json

    try:
        return dumps_json(value, pretty=True).decode("utf-8", "replace")
    except Exception:  # a value the codec cannot encode is still shown, as Python prints it
        return repr(value)


def type_text(value: Any) -> str:
    """The value's type, so BSON types (ObjectId, Decimal128, datetime) stay visible."""
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, LIST_TYPES):
        return "array"
    return "null" if value is None else type(value).__name__


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping) or isinstance(value, LIST_TYPES)


class _Node:
    """One row: where it sits, its value, and its children once asked for."""

    __slots__ = ("parent", "row", "path", "key", "value", "ghost", "mark", "keys", "nodes", "shown", "pinned", "more")

    def __init__(self, parent: "_Node | None", row: int, path: Path, key: Any, value: Any, ghost: bool, mark: str | None,
                 more: bool = False):
        self.parent, self.row, self.path, self.key, self.value = parent, row, path, key, value
        self.ghost, self.mark, self.more = ghost, mark, more  # ``more``: the "… N more" row of a long node
        self.keys: list | range | None = None  # the children's keys, made on first use
        self.nodes: dict[int, _Node] = {}
        self.shown = 0  # children shown in order; then the "more" row, then the marked ones beyond
        self.pinned: list = []


class StateModel(QAbstractItemModel):
    """A state value as a lazy tree; ``show(state, change)`` marks the change's paths."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state: Any = None
        self.marks: dict[Path, str] = {}
        self._removed: dict[Path, dict[Any, Any]] = {}  # parent path -> {key: old value} shown struck out
        self._root = _Node(None, 0, (), None, None, False, None)
        self._brushes: dict[str, Any] = {}
        self.resets = 0  # how often the rows were made again (a state of a new shape)

    # -- showing ----------------------------------------------------------------------------
    def show(self, state: Any, change: Diff | None, palette) -> None:
        marks: dict[Path, str] = {}
        removed: dict[Path, dict[Any, Any]] = {}
        if change is not None:
            for mark, changes in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
                for c in changes:
                    marks[tuple(c.path)] = mark
            for c in change.removed:
                if c.path:
                    removed.setdefault(tuple(c.path[:-1]), {})[c.path[-1]] = c.old
        self._brushes = {mark: mark_color(mark, palette) for mark in _MARKS}
        same_shape = (self.state is not None and state is not None and not removed and not self._removed
                      and self._same_keys(self.state, state))
        self.state, self.marks, self._removed = state, marks, removed
        if same_shape:
            self._refresh(self._root, state)
            return
        self.beginResetModel()
        self._root = _Node(None, 0, (), None, state, False, None)
        self.resets += 1
        self.endResetModel()

    @staticmethod
    def _same_keys(old: Any, new: Any) -> bool:
        """Whether two values have the same keys, decided cheaply (False when it would cost a walk)."""
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            if len(old) != len(new):
                return False
            changed = changed_keys(old, new)  # derived states know what may differ
            if changed is not None:
                return all((k in old) == (k in new) for k in changed)
            return len(old) <= SMALL and old.keys() == new.keys()
        if isinstance(old, LIST_TYPES) and isinstance(new, LIST_TYPES):
            return len(old) == len(new)
        return False

    def _refresh(self, node: _Node, value: Any) -> None:
        """The same keys at this node: new values and marks in the rows already made, children made again where they differ."""
        node.value = value
        for row, child in list(node.nodes.items()):
            if child.more:
                continue
            new_value = value[child.key]
            child.mark = self._mark(child.path, node)
            if child.keys is not None and not self._same_keys(child.value, new_value):
                index = self.createIndex(row, 0, child)
                if child.keys:
                    self.beginRemoveRows(index, 0, len(child.keys) - 1)
                    child.keys, child.nodes = [], {}
                    self.endRemoveRows()
                child.value = new_value
                child.keys = None  # made again when asked
                count = len(self._keys_of(child))
                if count:
                    self.beginInsertRows(index, 0, count - 1)
                    self.endInsertRows()
            else:
                self._refresh(child, new_value) if child.keys is not None else setattr(child, "value", new_value)
        if node.nodes:
            rows = sorted(node.nodes)
            parent = QModelIndex() if node is self._root else self.createIndex(node.row, 0, node)
            self.dataChanged.emit(self.index(rows[0], 0, parent), self.index(rows[-1], len(COLUMNS) - 1, parent))

    def _mark(self, path: Path, parent: _Node) -> str | None:
        # a row's own mark, else "added" when its parent shows added (everything under it is new)
        return self.marks.get(path) or ("added" if parent.mark == "added" else None)

    # -- the tree ---------------------------------------------------------------------------------
    def _keys_of(self, node: _Node) -> list | range:
        if node.keys is None:
            value = node.value
            if node.ghost or not _is_container(value):
                keys: list | range = []
            elif isinstance(value, Mapping):
                keys = list(value.keys())
            else:
                keys = range(len(value))
            extra = self._removed.get(node.path)
            if extra:
                keys = list(keys) + [k for k in extra if not (isinstance(keys, range) and isinstance(k, int) and k < len(keys))]
            node.keys = keys
        return node.keys

    def _rows(self, node: _Node) -> int:
        """How many rows a node shows: its first children, a "more" row, the marked children beyond."""
        keys = self._keys_of(node)
        if node.shown == 0 and len(keys):
            node.shown = min(len(keys), CHUNK)
            node.pinned = self._pinned(node, keys)
        return node.shown + (node.shown < len(keys)) + len(node.pinned)

    def _pinned(self, node: _Node, keys) -> list:
        if node.shown >= len(keys):
            return []
        depth = len(node.path) + 1
        marked = [p[-1] for p in self.marks if len(p) == depth and p[:-1] == node.path][:OPEN_TO_MARKS]
        position = {k: i for i, k in enumerate(keys)} if not isinstance(keys, range) else None
        beyond = [k for k in marked if (k >= node.shown if position is None else position.get(k, -1) >= node.shown)]
        return sorted(beyond, key=(lambda k: k) if position is None else position.__getitem__)

    def _key_at(self, node: _Node, row: int):
        """The key a row shows, or None for the "more" row."""
        keys = self._keys_of(node)
        if row < node.shown:
            return keys[row]
        if node.shown < len(keys):
            if row == node.shown:
                return None
            row -= 1
        return node.pinned[row - node.shown]

    def show_more(self, index: QModelIndex) -> bool:
        """Show the next CHUNK children of the node whose "more" row ``index`` is; False for other rows."""
        node = self.node_of(index)
        if not node.more:
            return False
        parent, parent_index = node.parent, index.parent()
        keys = self._keys_of(parent)
        # the rows from "more" on are made again: a longer run of children, then the marked ones beyond
        first = parent.shown
        last = self._rows(parent) - 1
        self.beginRemoveRows(parent_index, first, last)
        for row in range(first, last + 1):
            parent.nodes.pop(row, None)
        parent.shown = min(len(keys), parent.shown + CHUNK)
        parent.pinned = []
        self.endRemoveRows()
        parent.pinned = self._pinned(parent, keys)
        count = self._rows(parent)
        if count > first:
            self.beginInsertRows(parent_index, first, count - 1)
            self.endInsertRows()
        return True

    def _child(self, node: _Node, row: int) -> _Node:
        child = node.nodes.get(row)
        if child is None:
            keys = self._keys_of(node)
            key = self._key_at(node, row)
            if key is None:
                hidden = len(keys) - node.shown
                child = _Node(node, row, node.path, f"… {hidden:,} more", None, True, None, more=True)
                node.nodes[row] = child
                return child
            value = node.value
            live = _is_container(value) and not node.ghost and (
                (isinstance(value, Mapping) and key in value) or (isinstance(value, LIST_TYPES) and isinstance(key, int)
                                                                  and key < len(value)))
            path = node.path + (key,)
            if live:
                child = _Node(node, row, path, key, value[key], False, self._mark(path, node))
            else:
                old = self._removed.get(node.path, {}).get(key)
                child = _Node(node, row, path, key, old, True, "removed")
            node.nodes[row] = child
        return child

    def node_of(self, index: QModelIndex) -> _Node:
        return index.internalPointer() if index.isValid() else self._root

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        node = self.node_of(parent)
        if self.state is None or not 0 <= row < self._rows(node) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, self._child(node, row))

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        parent = index.internalPointer().parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if self.state is None or (parent.isValid() and parent.column() != 0):
            return 0
        return self._rows(self.node_of(parent))

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        if self.state is None:
            return False
        node = self.node_of(parent)
        if node is self._root:
            return True
        if node.more:
            return False
        return (not node.ghost and _is_container(node.value) and len(node.value) > 0) or bool(self._removed.get(node.path))

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node: _Node = index.internalPointer()
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if node.more:
                return (node.key, "double-click to show more", "")[column]
            return (str(node.key), value_text(node.value), type_text(node.value))[column]
        if role == Qt.ItemDataRole.BackgroundRole and node.mark:
            return self._brushes.get(node.mark)
        if role == Qt.ItemDataRole.ToolTipRole:
            note = f"{format_path(node.path)}: {_NOTES[node.mark]}" if node.mark else format_path(node.path)
            if column == 1 and not _is_container(node.value):
                text = full_text(node.value)
                if len(text) > CELL_CHARS:
                    cut = text if len(text) <= TOOLTIP_CHARS else text[:TOOLTIP_CHARS] + "…"
                    return f"{note}\n{len(text):,} characters (double-click to read all)\n\n{cut}"
            return note
        if role == Qt.ItemDataRole.FontRole and node.ghost and not node.more:
            font = QFont()
            font.setStrikeOut(True)
            return font
        return None

    # -- paths ---------------------------------------------------------------------------------------
    def index_of(self, path: Path) -> QModelIndex:
        """The index of the row at ``path`` (making the rows on the way), or invalid."""
        node, index = self._root, QModelIndex()
        for step in path:
            row = self._row_of(node, step)
            if row < 0:
                return QModelIndex()
            index = self.index(row, 0, index)
            node = self._child(node, row)
        return index

    def _row_of(self, node: _Node, key: Any) -> int:
        keys = self._keys_of(node)
        count = self._rows(node)
        if isinstance(keys, range):
            position = key if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(keys) else -1
        else:
            try:
                position = keys.index(key)
            except ValueError:
                return -1
        if position < 0:
            return -1
        if position < node.shown:
            return position
        if key in node.pinned:
            return node.shown + (node.shown < len(keys)) + node.pinned.index(key)
        while position >= node.shown and count:  # beyond what shows: show more until it does
            more = self.createIndex(node.shown, 0, self._child(node, node.shown))
            self.show_more(more)
            count = self._rows(node)
        return position


class _Title(QWidget):
    """The heading over the tree: one line, elided to its width (the whole text in its tooltip).

    The label sits in this widget without a layout. A label's new text asks its layout to run
    again, and each layout up the chain asks its parent's in turn, up to the tab widget, which
    then repaints the whole pane: about a millisecond on every cursor move. Here the request
    stops at this widget, whose size hints never change.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("", self)
        self._text = ""
        height = self.fontMetrics().lineSpacing() + 4
        self.setMinimumHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._hint = QSize(self.fontMetrics().averageCharWidth() * 60, height)
        self.setText(text)

    def text(self) -> str:
        """The whole title (what shows may be elided)."""
        return self._text

    def setText(self, text: str) -> None:
        self._text = text
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, max(self.width(), 40))
        self.label.setText(shown)
        self.setToolTip(self._text if shown != self._text else "")

    def sizeHint(self) -> QSize:
        return self._hint

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().averageCharWidth() * 10, self._hint.height())

    def resizeEvent(self, event) -> None:
        self.label.setGeometry(self.rect())
        self._fit()
        super().resizeEvent(event)


class StateView(QWidget):
    """A tree of one state; ``show_state(state, change)`` marks ``change``'s paths."""

    pathSelected = Signal(tuple)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = _Title("No stream open")
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
        for mark in _MARKS:
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
        if index.isValid() and not node.ghost and not _is_container(node.value):
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

