"""Large states in the tree: rows are made as they are seen, marks come from the diff, long values are cut."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from model.diff import diff
from model.freeze import FrozenList, FrozenMap
from ui.gui.state_model import CELL_CHARS
from ui.gui.state_view import StateView, ValueDialog


def made(model) -> int:
    """How many rows the model has made so far."""
    count, stack = 0, [model._root]
    while stack:
        node = stack.pop()
        count += len(node.nodes)
        stack.extend(node.nodes.values())
    return count


@pytest.fixture
def view(qtbot):
    w = StateView()
    qtbot.addWidget(w)
    w.resize(700, 500)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_state_of_100000_keys_makes_only_the_rows_in_sight(view):
    old = FrozenMap({f"sku-{i:06d}": i for i in range(100_000)})
    new = old.set("sku-054321", -1)
    view.show_state(new, diff(old, new), "big")
    QApplication.processEvents()
    # the first rows, a "more" row, and the changed row beyond them: not 100,000
    assert view.model.rowCount() < 1000 and view.model.index(500, 0).data() == "… 99,500 more"
    assert view.model.index(501, 0).data() == "sku-054321"
    assert made(view.model) < 1000
    assert view.marks() == {("sku-054321",): "changed"}
    assert view.select_path(("sku-054321",))
    index = view.tree.currentIndex()
    assert index.data() == "sku-054321" and index.siblingAtColumn(1).data() == "-1"
    assert index.data(Qt.ItemDataRole.BackgroundRole) is not None  # marked
    view.tree.doubleClicked.emit(view.model.index(500, 1))  # "more": the next rows
    assert view.model.index(1000, 0).data() == "… 99,000 more" and view.model.index(999, 0).data() == "sku-000999"
    assert made(view.model) < 2000


def test_stepping_a_large_state_keeps_its_rows_and_moves_the_mark(view):
    state = FrozenMap({f"k{i}": i for i in range(50_000)})
    states = [state]
    for i in range(5):
        states.append(states[-1].set(f"k{i * 1000}", -i - 1))
    view.show_state(states[0], None, "0")
    resets = view.model.resets
    for before, after in zip(states, states[1:]):
        view.show_state(after, diff(before, after), "step")
        assert view.model.resets == resets  # same keys: the rows stay, their values change
        [(path, mark)] = view.marks().items()
        assert mark == "changed" and after[path[0]] != before[path[0]]
    top = view.model.index(0, 1)
    assert top.data() == str(states[-1]["k0"])


def test_a_list_of_100000_items_and_its_appended_item(view):
    old = FrozenMap({"items": FrozenList(range(100_000))})
    new = old.set("items", old["items"] + [100_000])
    view.show_state(new, diff(old, new), "list")
    items = view.model.index(0, 0)
    assert items.siblingAtColumn(1).data() == "[100,001 items]"
    view.tree.expand(items)
    QApplication.processEvents()
    assert view.model.rowCount(items) < 1000 and made(view.model) < 1000
    assert view.model.index(view.model.rowCount(items) - 1, 0, items).data() == "100000"  # the new item, marked
    assert view.marks() == {("items", 100_000): "added"}
    assert view.select_path(("items", 100_000)) and view.tree.currentIndex().siblingAtColumn(1).data() == "100000"


def test_empty_containers_read_as_empty(view):
    view.show_state(FrozenMap({"tags": FrozenList([]), "address": FrozenMap({}), "one": FrozenList([1])}))
    texts = {view.model.index(r, 0).data(): view.model.index(r, 1).data() for r in range(3)}
    assert texts == {"tags": "[]", "address": "{}", "one": "[1 item]"}


def test_a_megabyte_of_text_is_cut_in_its_cell_and_readable_in_full(view, qtbot):
    text = "x" * 1_000_000 + "END"
    view.show_state(FrozenMap({"blob": text}))
    cell = view.model.index(0, 1)
    assert len(cell.data()) <= CELL_CHARS + 2 and cell.data().endswith('…"')
    assert "1,000,003 characters (double-click to read all)" in cell.data(Qt.ItemDataRole.ToolTipRole)
    view._read_all(cell)
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ValueDialog) and w.isVisible()]
    assert dialogs and dialogs[0].text.toPlainText() == text
    dialogs[0].close()


def test_removed_keys_show_struck_out_and_read_back_without_them(view):
    old = FrozenMap({"a": 1, "b": FrozenMap({"c": 2, "d": 3})})
    new = FrozenMap({"a": 1, "b": FrozenMap({"c": 2})})
    view.show_state(new, diff(old, new), "removed")
    assert view.marks() == {("b", "d"): "removed"}
    b = view.model.index_of(("b",))
    rows = {view.model.index(r, 0, b).data(): view.model.index(r, 0, b) for r in range(view.model.rowCount(b))}
    assert set(rows) == {"c", "d"} and rows["d"].data(Qt.ItemDataRole.FontRole).strikeOut()
    assert view.tree_value() == {"a": 1, "b": {"c": 2}}
    assert view.model.rowCount(QModelIndex()) == 2


def shown_rows(model, parent=QModelIndex()) -> list[tuple[str, str]]:
    return [(model.index(r, 0, parent).data(), model.index(r, 1, parent).data()) for r in range(model.rowCount(parent))]


def test_scrubbing_a_state_that_gains_a_key_per_event_keeps_its_rows(view):
    """Forward and back over a growing state: the first rows stay (no reset), the tail follows the state."""
    states = [FrozenMap({})]
    for i in range(3_000):
        states.append(states[-1].set(f"sku-{i:05d}", i))
    view.show_state(states[1_000], diff(states[999], states[1_000]), "1000")
    resets = view.model.resets
    first = view.model.index(0, 0)
    for version in (1_400, 900, 2_999, 120, 121, 2_000):
        state = states[version]
        view.show_state(state, diff(states[version - 1], state), str(version))
        QApplication.processEvents()
        newest = f"sku-{version - 1:05d}"
        rows = shown_rows(view.model)
        keys = list(state.keys())
        expected = [(k, str(state[k])) for k in keys[:500]]
        if len(keys) > 500:  # the first 500, "more", then the key this event added
            expected += [(f"… {len(keys) - 500:,} more", "double-click to show more"), (newest, str(state[newest]))]
        assert rows == expected, version
        assert view.marks() == {(newest,): "added"}
    assert view.model.resets == resets and view.model.index(0, 0).internalPointer() is first.internalPointer()


def test_scrubbing_a_list_that_gains_an_item_per_event_keeps_its_rows(view):
    states = [FrozenMap({"items": FrozenList([])})]
    for i in range(800):
        states.append(states[-1].set("items", states[-1]["items"] + [i]))
    view.show_state(states[300], diff(states[299], states[300]), "300")
    items = view.model.index(0, 0)
    view.tree.expand(items)
    QApplication.processEvents()
    resets = view.model.resets
    for version in (350, 200, 799):
        view.show_state(states[version], diff(states[version - 1], states[version]), str(version))
        QApplication.processEvents()
        items = view.model.index(0, 0)
        rows = shown_rows(view.model, items)
        n = version
        expected = [(str(i), str(i)) for i in range(min(n, 500))]
        if n > 500:
            expected += [(f"… {n - 500:,} more", "double-click to show more"), (str(n - 1), str(n - 1))]
        assert rows == expected, version
        assert items.siblingAtColumn(1).data() == f"[{n:,} items]"
    assert view.model.resets == resets
