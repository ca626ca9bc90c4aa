"""The statistics view: what the store holds, per stream type, with a histogram of events per day.

The figures come from the session's ``Statistics`` (kept per connection; their age is shown and
Refresh computes them again in the worker).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ui.gui.timeline import TimeAxis
from ui.session.stats import Statistics, age_text
from ui.session.text import number, plural, time_text

COLUMNS = ("Stream type", "Streams", "Events", "First event (UTC)", "Last event (UTC)")
_DAY_S = 86_400


def _item(text: str, right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class StatsView(QWidget):
    """Per stream type: streams, events, first and last time; for the selected type its event types,
    its longest streams and its events per day."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.statistics: Statistics | None = None
        self.age = QLabel("Not computed yet")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Compute the statistics again from the store (they are kept per connection)")
        self.table = self._table(COLUMNS)
        self.types = self._table(("Event type", "Events"))
        self.longest = self._table(("Longest streams", "Events"))
        palette = self.palette()
        self.histogram = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base),
                                       axisItems={"bottom": TimeAxis("bottom")})
        self.histogram.setMouseEnabled(x=True, y=False)
        self.histogram.hideButtons()
        self.histogram.setLabel("left", "events per day")
        self.histogram.setMinimumHeight(self.fontMetrics().height() * 8)
        self._bars = pg.BarGraphItem(x=[], height=[], width=_DAY_S * 0.9, brush=palette.color(QPalette.ColorRole.Highlight))
        self.histogram.addItem(self._bars)
        top = QHBoxLayout()
        top.addWidget(self.age, 1)
        top.addWidget(self.refresh_button)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.types)
        lower.addWidget(self.longest)
        lower.addWidget(self.histogram)
        lower.setStretchFactor(2, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.refresh_button.clicked.connect(lambda: self.load(refresh=True))
        self.table.currentCellChanged.connect(lambda row, *_: self._show_type(row))

    def _table(self, headings: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headings))
        table.setHorizontalHeaderLabels(headings)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def load(self, *, refresh: bool = False):
        """Show the kept statistics, or compute them (``refresh``: always) in the worker."""
        self.age.setText("Computing the statistics…" if refresh or self.statistics is None else self.age.text())
        return self.session.statistics(refresh=refresh, on_result=self.show_statistics,
                                       on_error=lambda text: self.age.setText(f"✗ {text}"))

    def clear(self) -> None:
        self.statistics = None
        for table in (self.table, self.types, self.longest):
            table.setRowCount(0)
        self._bars.setOpts(x=[], height=[])
        self.age.setText("Not computed yet")

    def show_statistics(self, statistics: Statistics) -> None:
        self.statistics = statistics
        per_types = statistics.stream_types
        self.table.setRowCount(len(per_types))
        for row, per_type in enumerate(per_types):
            cells = (_item(per_type.stream_type or "(none)"), _item(number(per_type.streams), True),
                     _item(number(per_type.events), True),
                     _item(time_text(per_type.first_time) if per_type.first_time else ""),
                     _item(time_text(per_type.last_time) if per_type.last_time else ""))
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        events = sum(k.events for k in per_types)
        where = "kept from " if statistics.cached else "computed "
        self.age.setText(f"{plural(sum(k.streams for k in per_types), 'stream')}, {plural(events, 'event')} · "
                         f"{where}{age_text(statistics.age_s())} ({time_text(statistics.computed_at)} UTC)")
        if per_types:
            self.table.setCurrentCell(0, 0)
            self._show_type(0)

    def _show_type(self, row: int) -> None:
        if self.statistics is None or not 0 <= row < len(self.statistics.stream_types):
            return
        per_type = self.statistics.stream_types[row]
        counts = sorted(per_type.event_types.items(), key=lambda item: (-item[1], item[0]))
        self.types.setRowCount(len(counts))
        for i, (name, n) in enumerate(counts):
            self.types.setItem(i, 0, _item(name))
            self.types.setItem(i, 1, _item(number(n), True))
        self.longest.setRowCount(len(per_type.longest))
        for i, (stream_id, n) in enumerate(per_type.longest):
            self.longest.setItem(i, 0, _item(stream_id))
            self.longest.setItem(i, 1, _item(number(n), True))
        days = [(datetime.combine(date.fromisoformat(d), datetime.min.time(), timezone.utc).timestamp() + _DAY_S / 2, n)
                for d, n in per_type.per_day.items()]
        x = np.array([d for d, _ in days], dtype=float)
        heights = np.array([n for _, n in days], dtype=float)
        self._bars.setOpts(x=x, height=heights, width=_DAY_S * 0.9)
        self.histogram.setTitle(f"{per_type.stream_type or '(none)'}: events per day (UTC)")
        if len(x):
            self.histogram.setXRange(x.min() - _DAY_S, x.max() + _DAY_S, padding=0)
            self.histogram.setYRange(0, max(heights.max(), 1) * 1.05, padding=0)
