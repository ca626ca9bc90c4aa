"""store.natural: a plain string key whose order is the natural order of stream ids."""
from __future__ import annotations

import re
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from store.natural import natural_key


def test_numbers_inside_ids_sort_by_value():
    ids = ["account-10", "account-2", "account-1", "account-100", "account-9", "account-02b", "account-"]
    assert sorted(ids, key=natural_key) == ["account-", "account-1", "account-2", "account-02b", "account-9",
                                            "account-10", "account-100"]


def test_text_without_digits_is_its_own_key():
    assert natural_key("order-abc/x") == "order-abc/x"


def test_long_numbers_and_zero():
    ids = ["x-12345678901234", "x-9", "x-0", "x-123456789", "x-99999999", "x-00"]
    assert sorted(ids, key=lambda s: (natural_key(s), s)) == ["x-0", "x-00", "x-9", "x-99999999", "x-123456789",
                                                              "x-12345678901234"]


def test_sqlite_orders_the_key_column_the_same_way():
    ids = [f"user-{n}" for n in (1, 10, 2, 33, 3, 200, 20)] + ["user-a", "user-", "User-5"]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT, k TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, natural_key(i)) for i in ids])
    assert [r[0] for r in db.execute("SELECT id FROM t ORDER BY k, id")] == sorted(ids, key=lambda s: (natural_key(s), s))
    assert [r[0] for r in db.execute("SELECT id FROM t ORDER BY k, id")][:6] == [
        "User-5", "user-", "user-1", "user-2", "user-3", "user-10"]


def _reference(a: str, b: str) -> int:
    """Natural comparison done the long way: character by character, a digit run compared as a number."""
    def tokens(text: str) -> list[tuple[int, object]]:
        out: list[tuple[int, object]] = []
        for run in re.findall(r"[0-9]+|[^0-9]", text):
            out.append((1, int(run)) if run[0].isdigit() else (0, run))
        return out

    ta, tb = tokens(a), tokens(b)
    for (ka, va), (kb, vb) in zip(ta, tb):
        if ka == kb:
            if va != vb:
                return -1 if va < vb else 1
            continue
        # a number against a character: where a digit sorts against that character
        char = va if ka == 0 else vb
        number_first = char > "9"
        return (-1 if number_first else 1) if ka == 1 else (1 if number_first else -1)
    return (len(ta) > len(tb)) - (len(ta) < len(tb))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab-.Z0123456789", max_size=12), st.text(alphabet="ab-.Z0123456789", max_size=12))
def test_the_key_orders_as_natural_comparison_does(a, b):
    ka, kb = natural_key(a), natural_key(b)
    expected = _reference(a, b)
    assert ((ka > kb) - (ka < kb)) == expected
