"""Column widths from the font and a typical value, never from measuring rows."""
from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def fit_columns(header: QHeaderView, samples: tuple[str, ...], headings: tuple[str, ...] = ()) -> None:
    """Size each column to its sample (and its heading, drawn bold): ResizeToContents reads every row."""
    fm = QFontMetrics(header.parentWidget().font() if header.parentWidget() else header.font())
    bold = header.font()
    bold.setBold(True)
    heading = QFontMetrics(bold)
    for column, sample in enumerate(samples):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        width = fm.horizontalAdvance(sample)
        if column < len(headings):
            width = max(width, heading.horizontalAdvance(headings[column]))
        header.resizeSection(column, width + fm.averageCharWidth() * 3)


def fixed_rows(header: QHeaderView) -> None:
    """Rows a third taller than the font, all alike, so a view never asks a row its height."""
    fm = QFontMetrics(header.parentWidget().font() if header.parentWidget() else header.font())
    header.setDefaultSectionSize(fm.height() + fm.height() // 3)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)


def row_table(model, samples: tuple[str, ...], headings: tuple[str, ...], other_chars: int = 0) -> QTableView:
    """A table of results a row at a time: one row selected whole, no row numbers, no wrapping.

    Columns past the samples are ``other_chars`` average characters wide, when given."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if other_chars:
        table.horizontalHeader().setDefaultSectionSize(table.fontMetrics().averageCharWidth() * other_chars)
    fit_columns(table.horizontalHeader(), samples, headings)
    fixed_rows(table.verticalHeader())
    return table
