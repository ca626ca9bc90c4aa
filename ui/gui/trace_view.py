"""The trace view: every event sharing an event's correlation id, each under the event that caused it.

The tree comes from the session's ``Trace``; activating an event opens its stream at it.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ui.gui.columns import fit_columns
from ui.session.export import compact
from ui.session.text import number, one_line, plural, time_text
from ui.session.trace import Trace

COLUMNS = ("Type", "Stream", "Version", "Time (UTC)", "Data")
_TARGET = Qt.ItemDataRole.UserRole


class TraceView(QWidget):
    """Trace an event; ``openRequested(stream_id, version)`` when an event of the tree is activated."""

    openRequested = Signal(str, int)
    traced = Signal(object)  # the Trace shown

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.trace: Trace | None = None
        self.stream = QLineEdit(placeholderText="stream id")
        self.version = QSpinBox(minimum=1, maximum=2**31 - 1)
        self.version.setGroupSeparatorShown(True)
        self.trace_button = QPushButton("Trace")
        self.trace_button.setDefault(True)
        self.note = QLabel("Trace the event at the cursor with Ctrl+T, or name one here.")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        fit_columns(header, ("TransferReceived, caused", "account-000000", "1,000,000", "2024-01-01 00:00:00"),
                    COLUMNS)
        top = QHBoxLayout()
        top.addWidget(QLabel("Event"))
        top.addWidget(self.stream, 2)
        top.addWidget(QLabel("version"))
        top.addWidget(self.version, 1)
        top.addWidget(self.trace_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        self.trace_button.clicked.connect(lambda: self.run(self.stream.text().strip(), self.version.value()))
        self.stream.returnPressed.connect(lambda: self.run(self.stream.text().strip(), self.version.value()))
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)

    def run(self, stream_id: str, version: int):
        """Trace event ``version`` of ``stream_id`` (in the worker); the tree shows when it is done."""
        if not stream_id:
            self.note.setText("✗ name a stream")
            return None
        self.stream.setText(stream_id)
        self.version.setValue(version)
        self.note.setText(f"Tracing {stream_id} version {number(version)}…")
        self.tree.clear()
        return self.session.trace(stream_id, version, on_result=self.show_trace,
                                  on_error=lambda text: self.note.setText(f"✗ {text}"))

    def show_trace(self, trace: Trace) -> None:
        self.trace = trace
        self.tree.clear()
        origin = (trace.origin.event.stream_id, trace.origin.event.version)
        bold = QFont(self.tree.font())
        bold.setBold(True)
        items: list[QTreeWidgetItem] = []
        origin_item = None
        for depth, node in trace.nodes():
            event = node.event
            item = QTreeWidgetItem([event.type, event.stream_id, number(event.version),
                                    time_text(event.time) if event.time else "", one_line(compact(event.data), 200)])
            item.setData(0, _TARGET, Trace.target(node))
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if (event.stream_id, event.version) == origin:
                for column in range(len(COLUMNS)):
                    item.setFont(column, bold)
                origin_item = item
            del items[depth:]
            (items[-1].addChild(item) if items else self.tree.addTopLevelItem(item))
            items.append(item)
        self.tree.expandAll()
        if origin_item is not None:
            self.tree.setCurrentItem(origin_item)
        count = len(trace.nodes())
        if trace.correlation_id is None:
            text = f"{origin[0]} version {number(origin[1])} has no correlation id: it is its own trace"
        else:
            streams = len({n.event.stream_id for _, n in trace.nodes()})
            text = (f"{plural(count, 'event')} in {plural(streams, 'stream')} share the correlation id "
                    f"{trace.correlation_id} (the traced event in bold)")
        self.note.setText(text + (f" · {trace.note}" if trace.note else ""))
        self.traced.emit(trace)

    def _activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        target = item.data(0, _TARGET)
        if target:
            self.openRequested.emit(*target)
