"""The pinned PySide6 keeps None, True and False alive on its own: no reference-count patch is needed.

PySide6 6.12 on Python 3.11 returned these singletons from some calls without taking a reference,
so every call dropped one until the interpreter aborted; the project once patched their counts
with ctypes. ``pyproject.toml`` now keeps 6.12 off Python 3.11, and this test shows the pinned
version does not drop references on the calls that did.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

CALLS = 20_000


class _Emitter(QObject):
    ping = Signal()


def test_ordinary_calls_do_not_drop_references_to_none_true_or_false(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    emitter = _Emitter()
    emitter.ping.connect(lambda: None)
    before = {name: sys.getrefcount(value) for name, value in (("None", None), ("True", True), ("False", False))}
    for i in range(CALLS):
        label.setText(str(i & 7))  # returned None
        emitter.ping.emit()  # returned True
        label.isHidden()  # returns False
    after = {name: sys.getrefcount(value) for name, value in (("None", None), ("True", True), ("False", False))}
    # a reference dropped per call would show as tens of thousands here
    assert all(before[name] - after[name] < CALLS // 10 for name in before), (before, after)
