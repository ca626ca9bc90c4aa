"""The status bar: where the window is connected, how big the store is, and the work in progress."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QSizePolicy, QStatusBar

from model.ports import StoreSize
from ui.gui.worker import Worker
from ui.session.jobs import Task
from ui.session.text import plural


class StatusBinding:
    """Shows the worker's shown jobs (progress, what, cancel) and the store's size in a status bar."""

    def __init__(self, bar: QStatusBar, worker: Worker):
        self.bar, self.worker = bar, worker
        self.connection = QLabel("Not connected")
        self.size = QLabel("")
        fm = bar.fontMetrics()
        # the text sits beside the bar, elided to its room: inside a small bar it wrapped and was cut
        self.what = QLabel("")
        self.what.setMinimumWidth(fm.averageCharWidth() * 12)
        self.what.setMaximumWidth(fm.averageCharWidth() * 40)
        self.what.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(fm.averageCharWidth() * 16)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        bar.addWidget(self.connection, 1)
        for widget in (self.size, self.what, self.progress, self.cancel_button):
            bar.addPermanentWidget(widget)
        self.connection.setMinimumWidth(fm.averageCharWidth() * 20)
        self._hide()
        worker.started_job.connect(self._started)
        worker.progress.connect(self._progress)
        worker.finished_job.connect(self._finished)

    def show_size(self, size: StoreSize | None) -> None:
        if size is None:  # a foreign store's stream list is being built: counted when it is done
            self.size.setText("counting streams…")
            return
        disk = f" · {size.bytes / 1e6:,.1f} MB" if size.bytes else ""
        self.size.setText(f"{plural(size.streams, 'stream')} · {plural(size.events, 'event')} · "
                          f"{plural(size.snapshots, 'snapshot')}{disk}")

    def _set_what(self, text: str) -> None:
        self.what.setToolTip(text)
        self.what.setText(self.what.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                             self.what.maximumWidth()))

    def _started(self, task: Task) -> None:
        job = self.worker.shown.get(task)
        self.progress.setRange(0, 0)
        self.progress.setFormat("")
        self._set_what(task.name)
        self.cancel_button.setVisible(bool(job and job.cancellable))
        for widget in (self.what, self.progress):
            widget.show()

    def _progress(self, task: Task, done: int, total: int, what: str) -> None:
        if task not in self.worker.shown:
            return
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat("%p%")
        else:
            self.progress.setRange(0, 0)
        self._set_what(what)

    def _finished(self, task: Task) -> None:
        if not self.worker.shown:
            self._hide()

    def _hide(self) -> None:
        for widget in (self.what, self.progress, self.cancel_button):
            widget.hide()

    def busy(self) -> bool:
        return self.progress.isVisible()
