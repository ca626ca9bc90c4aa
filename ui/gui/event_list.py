"""The event list beside the timeline: version, time, type and a one-line summary per event."""
from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QFontMetricsF, QPainter, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QAbstractSlider, QHeaderView, QScrollBar, QStyle,
                               QStyleOptionFocusRect, QStyleOptionSlider, QStyleOptionViewItem, QTableView, QWidget)

from model.errors import EventLensError
from model.event import Event
from model.loaded import LoadedStream
from model.freeze import LIST_TYPES
from ui.gui.theme import mark_color
from ui.session.text import iso
from ui.session.text import time_text as _time_text

COLUMNS = ("Version", "Time (UTC)", "Type", "Summary")
SUMMARY_CHARS = 160
#: rows whose display texts are kept; a view shows a few dozen, so this only bounds memory
TEXT_CACHE_ROWS = 20_000
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{…%d}" % len(value)
    if isinstance(value, LIST_TYPES):
        return "[…%d]" % len(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:39] + "…")
    return str(value)


def time_text(event: Event) -> str:
    """The event's time as every list shows it (``ui.session.text.time_text``)."""
    return _time_text(event.time)


def summary(event: Event) -> str:
    """One line of an event's payload: its top-level fields, nested values abbreviated."""
    text = ", ".join(f"{k}={_short(v)}" for k, v in event.data.items()) if isinstance(event.data, Mapping) else _short(event.data)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


class EventTableModel(QAbstractTableModel):
    """The listed events of one loaded stream: rows as its index grows, summaries as payloads arrive."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._loaded: LoadedStream | None = None
        self._rows = 0
        self._problems: dict[int, list[str]] = {}
        # row -> (version, time, type, summary, has a problem): a view asks each cell for
        # several roles on every repaint, and a cursor move repaints every visible row
        self._texts: dict[int, tuple[str, str, str, str, bool]] = {}
        self._waiting: set[int] = set()  # rows whose summary waits for their payload

    def clear(self) -> None:
        """Forget every event (a new stream is opening)."""
        self.set_stream(None)

    def set_stream(self, loaded: LoadedStream | None) -> None:
        """Show the events of ``loaded`` (rows come with ``grow``)."""
        self.beginResetModel()
        self._loaded, self._rows, self._problems, self._texts, self._waiting = loaded, 0, {}, {}, set()
        self.endResetModel()

    def grow(self, last_version: int) -> None:
        """The index is known up to ``last_version``: list the new rows."""
        if self._loaded is None:
            return
        rows = last_version - self._loaded.first_version + 1
        if rows > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, rows - 1)
            self._rows = rows
            self.endInsertRows()

    def filled(self) -> None:
        """More payloads are in: the rows that waited for theirs show their summary now."""
        if not self._waiting or self._loaded is None:
            return
        ready = self._loaded.payload_version - self._loaded.first_version
        done = [row for row in self._waiting if row <= ready]
        if not done:
            return
        for row in done:
            self._waiting.discard(row)
            self._texts.pop(row, None)
        self.dataChanged.emit(self.index(min(done), 0), self.index(max(done), len(COLUMNS) - 1))

    def set_problems(self, problems: Mapping[int, list[str]]) -> None:
        """Integrity problems by version; those rows are tinted and carry the messages as tooltips."""
        self._problems = dict(problems)
        self._texts, self._waiting = {}, set()  # the type column and the tint depend on the problems
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, len(COLUMNS) - 1))

    def row_of(self, version: int) -> int:
        """The row showing ``version``, or -1."""
        if self._loaded is None:
            return -1
        row = version - self._loaded.first_version  # versions are contiguous
        return row if 0 <= row < self._rows else -1

    def version_at_row(self, row: int) -> int | None:
        return self._loaded.first_version + row if self._loaded is not None and 0 <= row < self._rows else None

    def problems_of(self, version: int) -> list[str]:
        """Messages shown for an event: what the store could not read, then integrity problems."""
        loaded = self._loaded
        read: list[str] = []
        if loaded is not None and self.row_of(version) >= 0:
            try:
                read = list(loaded.event(version).problems) if version <= loaded.payload_version \
                    else list(loaded.index_row(version)[3])
            except EventLensError:
                read = []
        return read + self._problems.get(version, [])

    # -- Qt model ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        # checked first and kept lean: a repaint asks every visible cell for about seven roles
        row = index.row()
        if row < 0:
            return None  # an invalid index
        if role == _DISPLAY:
            return self.row_texts(row)[index.column()]
        if role == _ALIGNMENT:
            return _RIGHT if index.column() == 0 else None
        if role == _BACKGROUND:
            if not self.row_texts(row)[4]:
                return None
            from PySide6.QtWidgets import QApplication

            return mark_color("warning", QApplication.palette())
        if role == _TOOLTIP:
            version = self.version_at_row(row)
            notes = self.problems_of(version)
            return "\n".join(notes) if notes else (iso(self._loaded.time_of(version)) or "no time recorded")
        return None

    def row_texts(self, row: int) -> tuple[str, str, str, str, bool]:
        """A row's display texts (version, time, type, summary) and whether it has a problem."""
        texts = self._texts.get(row)
        if texts is None:
            loaded = self._loaded
            version, moment, event_type, read_problems = loaded.index_row(loaded.first_version + row)
            if version <= loaded.payload_version:
                event = loaded.event(version)
                text, problem = summary(event), bool(event.problems)
            else:
                text, problem = "…", bool(read_problems)
                self._waiting.add(row)
            problem = problem or version in self._problems
            texts = (f"{version:,}", _time_text(moment), ("⚠ " if problem else "") + event_type, text, problem)
            if len(self._texts) >= TEXT_CACHE_ROWS:
                self._texts.clear()  # rows seen long ago; the visible ones come back at once
            self._texts[row] = texts
        return texts


class _SteadyScrollBar(QScrollBar):
    """A scroll bar that repaints only when its slider or arrows look different.

    A cursor move scrolls the list by up to a few hundred of a million rows: the slider stays
    on the same pixels, yet a plain scroll bar repaints itself (a few milliseconds in Fusion).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self._painted: tuple | None = None

    def _look(self) -> tuple:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        slider = self.style().subControlRect(QStyle.ComplexControl.CC_ScrollBar, option,
                                             QStyle.SubControl.SC_ScrollBarSlider, self)
        return slider.getRect(), self.value() == self.minimum(), self.value() == self.maximum()

    def sliderChange(self, change: QAbstractSlider.SliderChange) -> None:
        if change == QAbstractSlider.SliderChange.SliderValueChange and self._painted == self._look():
            return
        super().sliderChange(change)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self._painted = self._look()


class EventList(QTableView):
    """The view; emits versionSelected when the user selects a row, not when the cursor moves it.

    Rows are painted here from the model's cached texts (``paintEvent``) rather than by Qt's item
    delegate: a cursor move scrolls every visible row, and the delegate asks each cell for seven
    roles through Python and lays its whole text out before eliding it, twice the cost.
    """

    versionSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.event_model = EventTableModel(self)
        self.setModel(self.event_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollBar(_SteadyScrollBar(self))
        self.verticalHeader().hide()
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        # a whole-row selection covers every column: highlighting sections would repaint the
        # header on every cursor move to show the same thing
        header.setHighlightSections(False)
        # ... and a header repaints the sections of every selection change it sees, highlighted or
        # not: with a selection model of its own it sees none (clicks still select through the view)
        header.setSelectionModel(QItemSelectionModel(self.event_model, header))
        # widths from the font, never ResizeToContents: that measures every one of a million rows
        fm = self.fontMetrics()
        for col, sample in ((0, "10,000,000"), (1, "2024-01-01 00:00:00"), (2, "⚠ TransferReceived")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, fm.horizontalAdvance(sample) + fm.averageCharWidth() * 3)
        header.setStretchLastSection(True)
        self.verticalHeader().setDefaultSectionSize(fm.height() + fm.height() // 3)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._quiet = False
        self._char_widths: dict[str, int] = {}
        self._metrics_font = None
        self.selectionModel().currentRowChanged.connect(self._row_changed)

    def select_version(self, version: int) -> None:
        """Select and show the row of ``version`` without emitting versionSelected."""
        row = self.event_model.row_of(version)
        if row < 0:
            return
        self._quiet = True
        try:
            index = self.event_model.index(row, 0)
            self.selectionModel().setCurrentIndex(
                index,
                self.selectionModel().SelectionFlag.ClearAndSelect | self.selectionModel().SelectionFlag.Rows,
            )
            self.scrollTo(index)
        finally:
            self._quiet = False

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        version = self.event_model.version_at_row(current.row())
        if version is not None:
            self.versionSelected.emit(version)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        """Paint the visible rows as Qt's table would: alternating or tinted rows, the selected
        row highlighted, texts elided, the grid, the focus frame."""
        model = self.event_model
        area = event.rect()
        count = model.rowCount()
        top = self.rowAt(area.top())
        if count == 0 or top < 0:
            super().paintEvent(event)  # nothing of ours to paint: Qt draws the empty area
            return
        bottom = self.rowAt(area.bottom())
        bottom = count - 1 if bottom < 0 else bottom
        font = self.font()
        fm = QFontMetrics(font)
        if self._metrics_font != font:
            self._metrics_font, self._char_widths = font, {}
        palette = self.palette()
        if not self.isEnabled():
            group = QPalette.ColorGroup.Disabled
        else:
            group = QPalette.ColorGroup.Active if self.isActiveWindow() else QPalette.ColorGroup.Inactive
        alternate = palette.brush(group, QPalette.ColorRole.AlternateBase)
        highlight = palette.brush(group, QPalette.ColorRole.Highlight)
        text_colour = palette.color(group, QPalette.ColorRole.Text)
        highlighted_text = palette.color(group, QPalette.ColorRole.HighlightedText)
        warning = None
        style = self.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        grid = self.showGrid()
        gap = 1 if grid else 0
        columns = []
        for col in range(model.columnCount()):
            x, width = self.columnViewportPosition(col), self.columnWidth(col)
            if width > 0 and not self.isColumnHidden(col) and x + width > area.left() and x <= area.right():
                columns.append((col, x, width))
        if not columns:
            super().paintEvent(event)
            return
        left = min(x for _, x, _ in columns)
        right = max(x + w for _, x, w in columns)
        height = self.rowHeight(top)
        current = self.currentIndex()
        selected = {index.row() for index in self.selectionModel().selectedRows()}
        elide = self.textElideMode()
        ascent, text_height = fm.ascent(), fm.height()
        exact = QFontMetricsF(font)
        painter = QPainter(self.viewport())
        painter.setFont(font)
        y = self.rowViewportPosition(top)
        for row in range(top, bottom + 1):
            texts = model.row_texts(row)
            if row in selected:
                painter.fillRect(left, y, right - left, height - gap, highlight)
                painter.setPen(highlighted_text)
            else:
                if texts[4]:
                    if warning is None:
                        warning = mark_color("warning", palette)
                    painter.fillRect(left, y, right - left, height - gap, warning)
                elif row & 1 and self.alternatingRowColors():
                    painter.fillRect(left, y, right - left, height - gap, alternate)
                painter.setPen(text_colour)
            baseline = y + (height - gap - text_height) // 2 + ascent
            for col, x, width in columns:
                room = width - gap - 2 * margin
                text = self._fitted(texts[col], room, fm, elide)
                if col == 0:  # right-aligned; the exact advance keeps glyphs where Qt puts them
                    painter.drawText(QPointF(x + width - gap - margin - exact.horizontalAdvance(text), baseline), text)
                else:
                    painter.drawText(QPointF(x + margin, baseline), text)
            y += height
        if grid:
            line = style.styleHint(QStyle.StyleHint.SH_Table_GridLineColor, QStyleOptionViewItem(), self)
            painter.setPen(QColor.fromRgba(line & 0xFFFFFFFF))
            ends = self.rowViewportPosition(top)
            for row in range(top, bottom + 1):
                ends += height
                painter.drawLine(area.left(), ends - 1, min(area.right(), right - 1), ends - 1)
            for _col, x, width in columns:
                painter.drawLine(x + width - 1, area.top(), x + width - 1, min(area.bottom(), ends - 1))
        if self.hasFocus() and top <= current.row() <= bottom:  # as Qt's delegate frames the current cell
            frame = QStyleOptionFocusRect()
            frame.initFrom(self)
            frame.state |= QStyle.StateFlag.State_KeyboardFocusChange | QStyle.StateFlag.State_Item
            if current.row() in selected:
                frame.state |= QStyle.StateFlag.State_Selected
            frame.rect = self.visualRect(current)  # the cell without its grid line
            frame.backgroundColor = palette.color(group, QPalette.ColorRole.Highlight if current.row() in selected
                                                  else QPalette.ColorRole.Window)
            style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, frame, painter, self)
        painter.end()

    def _fitted(self, text: str, room: int, fm: QFontMetrics, mode: Qt.TextElideMode) -> str:
        # the sum of the characters' advances bounds the shaped width well enough to skip eliding
        # texts that fit; a long text is cut before eliding, so only what can show is laid out
        widths = self._char_widths
        total = 0
        for char in text:
            width = widths.get(char)
            if width is None:
                width = widths[char] = fm.horizontalAdvance(char) + 1
            total += width
            if total > room:
                break
        else:
            return text
        narrowest = min(widths.values()) - 1 or 1
        cut = text[: room // narrowest + 2]
        elided = fm.elidedText(cut, mode, room)
        if elided == cut and len(cut) < len(text):  # the cut fits after all (unmeasured narrow characters)
            elided = fm.elidedText(text, mode, room)
        return elided
