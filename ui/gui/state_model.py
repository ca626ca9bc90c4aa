"""The state at the cursor as an item model: a tree over the state value itself, with marks.

A node's children are made when the view asks for them (an expanded node, a visible row), so
a state of 100,000 keys costs its visible rows, not 100,000. What is marked comes from the
diff's paths, never from walking the tree.
"""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QFont

from model.diff import Diff, format_path, same_scalar
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
MARKS = ("added", "changed", "removed")
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


def _same_value(old: Any, new: Any) -> bool:
    """Whether a row shows the same after its value changed from ``old`` to ``new``; a container
    that is not the very same object may differ (persistent states share what did not change)."""
    if old is new:
        return True
    if is_container(old) or is_container(new):
        return False
    return same_scalar(old, new)


def is_container(value: Any) -> bool:
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
        self._brushes = {mark: mark_color(mark, palette) for mark in MARKS}
        same_shape = (self.state is not None and state is not None and not removed and not self._removed
                      and self._same_keys(self.state, state))
        tail = None if same_shape or removed or self._removed else self._new_tail(self._root, state)
        self.state, self.marks, self._removed = state, marks, removed
        if same_shape:
            self._refresh(self._root, state)
            return
        if tail is not None:
            self._retail(self._root, QModelIndex(), state, tail)
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

    @staticmethod
    def _new_tail(node: _Node, new: Any) -> list | range | None:
        """The keys of ``new`` when it is the node's value with keys or items added or taken at the
        end only (a state that grows), else None: then the node's rows are made again."""
        old, old_keys = node.value, node.keys
        if old_keys is None or node.ghost:
            return None
        if isinstance(old, LIST_TYPES) and isinstance(new, LIST_TYPES):
            return range(len(new)) if isinstance(old_keys, range) else None  # rows are positions
        if not (isinstance(old, Mapping) and isinstance(new, Mapping)) or isinstance(old_keys, range):
            return None
        if len(old_keys) != len(old):  # removed keys shown beside the live ones
            return None
        n, new_keys = min(len(old), len(new)), list(new.keys())
        return new_keys if old_keys[:n] == new_keys[:n] else None

    def _retail(self, node: _Node, parent: QModelIndex, value: Any, keys: list | range) -> None:
        """Rows of a node that grew or shrank at its end: the rows kept refresh, the rest are made again.

        Scrubbing a state that gains a key (or an item) per event would otherwise make every row of
        it again on each move, and the view lay them all out again.
        """
        old_count = self._rows(node)
        all_shown = node.shown >= len(node.keys)  # no "more" row: what comes is in sight too
        kept = min(node.shown, len(keys))
        shown = min(len(keys), max(kept, CHUNK)) if all_shown else kept
        tail = [node.nodes.pop(row, None) for row in range(kept, old_count)]
        node.keys, node.shown, node.pinned = keys, kept, []
        # the rows after those kept, in place when their number stays (a scrub: "more" and the newest
        # key): a row removed and inserted would make the view lay out every row again
        in_place = all(t is not None and not t.nodes for t in tail)
        self._refresh(node, value)
        node.shown = shown
        node.pinned = self._pinned(node, keys) if shown else []
        count = shown + (shown < len(keys)) + len(node.pinned)
        if in_place and count == old_count and count > kept:
            for row, old in zip(range(kept, count), tail):
                fresh = self._child(node, row)
                for slot in _Node.__slots__:
                    setattr(old, slot, getattr(fresh, slot))
                node.nodes[row] = old
            self.dataChanged.emit(self.index(kept, 0, parent), self.index(count - 1, len(COLUMNS) - 1, parent))
            return
        node.shown, node.pinned = kept, []
        if old_count > kept:
            self.beginRemoveRows(parent, kept, old_count - 1)
            self.endRemoveRows()
        node.shown = shown
        node.pinned = self._pinned(node, keys) if shown else []
        if count > kept:
            self.beginInsertRows(parent, kept, count - 1)
            self.endInsertRows()

    def _refresh(self, node: _Node, value: Any) -> None:
        """The same keys at this node: new values and marks in the rows already made, children made again where they differ."""
        node.value = value
        changed: list[int] = []  # rows whose value or mark changed: only those repaint
        for row, child in list(node.nodes.items()):
            if child.more:
                continue
            new_value = value[child.key]
            mark = self._mark(child.path, node)
            if mark != child.mark or not _same_value(child.value, new_value):
                changed.append(row)
            child.mark = mark
            if child.keys is not None and not self._same_keys(child.value, new_value):
                index = self.createIndex(row, 0, child)
                tail = None if self._removed else self._new_tail(child, new_value)
                if tail is not None:
                    self._retail(child, index, new_value, tail)
                    continue
                shown = self._rows(child)  # the rows the view has: the first ones, "more", the marked ones
                if shown:
                    self.beginRemoveRows(index, 0, shown - 1)
                    child.keys, child.nodes, child.shown, child.pinned = [], {}, 0, []
                    self.endRemoveRows()
                child.value = new_value
                child.keys, child.shown, child.pinned = None, 0, []  # made again when asked
                count = self._rows(child)
                if count:
                    self.beginInsertRows(index, 0, count - 1)
                    self.endInsertRows()
            else:
                self._refresh(child, new_value) if child.keys is not None else setattr(child, "value", new_value)
        if changed:
            parent = QModelIndex() if node is self._root else self.createIndex(node.row, 0, node)
            self.dataChanged.emit(self.index(min(changed), 0, parent), self.index(max(changed), len(COLUMNS) - 1, parent))

    def _mark(self, path: Path, parent: _Node) -> str | None:
        # a row's own mark, else "added" when its parent shows added (everything under it is new)
        return self.marks.get(path) or ("added" if parent.mark == "added" else None)

    # -- the tree ---------------------------------------------------------------------------------
    def _keys_of(self, node: _Node) -> list | range:
        if node.keys is None:
            value = node.value
            if node.ghost or not is_container(value):
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
        if not marked:
            return []
        if isinstance(keys, range):
            return sorted(k for k in marked if k >= node.shown)
        # the keys in sight are few; the positions of all keys (100,000 in a growing state) are
        # looked up only to order several marked keys beyond them
        in_sight = set(keys[: node.shown])
        beyond = [k for k in marked if k not in in_sight]
        if len(beyond) <= 1:
            return [k for k in beyond if k in keys]  # a list scan in C: a marked key may have gone
        wanted = set(beyond)
        position = {k: i for i, k in enumerate(keys) if k in wanted}
        return sorted((k for k in beyond if k in position), key=position.__getitem__)

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
            live = is_container(value) and not node.ghost and (
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
        return (not node.ghost and is_container(node.value) and len(node.value) > 0) or bool(self._removed.get(node.path))

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
            if column == 1 and not is_container(node.value):
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
