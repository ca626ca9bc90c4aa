"""The connection dialog: a MongoDB server or an embedded store file, layout, TLS and read-only."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui.gui.settings import Settings
from ui.session.connection import Connection


def layout_presets() -> list[str]:
    """Layout preset names for foreign stores (the native one is the empty choice)."""
    from store.layout import preset_names

    return [name for name in preset_names() if name != "eventlens"]


def _file_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


class ConnectDialog(QDialog):
    """Asks where to connect; ``connection()`` gives the answer as a Connection."""

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None, initial: Connection | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connect — EventLens")
        self.settings = settings
        self._recent = settings.recent() if settings else []

        self.recent_box = QComboBox()
        self.recent_box.addItem("Recent connections…", None)
        for c in self._recent:
            self.recent_box.addItem(c.label(), c)
        self.recent_box.setEnabled(bool(self._recent))
        self.recent_box.activated.connect(self._recent_chosen)

        self.mongo_radio = QRadioButton("MongoDB server")
        self.file_radio = QRadioButton("Embedded store file")
        self.mongo_radio.setChecked(True)
        store_choice = QHBoxLayout()
        store_choice.addWidget(self.mongo_radio)
        store_choice.addWidget(self.file_radio)
        store_choice.addStretch(1)

        self.uri_edit = QLineEdit(placeholderText="mongodb://user@host:27017/?replicaSet=rs0  or  mongodb+srv://…")
        self.password_edit = QLineEdit(placeholderText="only when the URI names a user; never saved")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.db_edit = QLineEdit(placeholderText="database (default: from the URI, else eventlens)")
        self.file_edit = QLineEdit(placeholderText="path to an .sqlite store (created if missing)")
        self.file_button = QPushButton("Browse…")
        self.file_button.clicked.connect(self._browse_store)

        self.layout_box = QComboBox(editable=True)
        self.layout_box.addItem("")  # native, or auto-detected where the store supports it
        self.layout_box.addItems(layout_presets())
        self.layout_box.lineEdit().setPlaceholderText("native / auto-detect, a preset, or a layout file")
        self.layout_button = QPushButton("File…")
        self.layout_button.clicked.connect(self._browse_layout)

        self.read_only_box = QCheckBox("Read-only: refuse every write, snapshots included")
        self.timeout_spin = QDoubleSpinBox(minimum=0.5, maximum=600.0, value=10.0, suffix=" s", decimals=1)

        self.tls_group = QGroupBox("TLS")
        self.ca_edit = QLineEdit(placeholderText="CA file (PEM)")
        self.ca_button = QPushButton("Browse…")
        self.ca_button.clicked.connect(lambda: self._browse_into(self.ca_edit, "CA file"))
        self.cert_edit = QLineEdit(placeholderText="client certificate and key (PEM)")
        self.cert_button = QPushButton("Browse…")
        self.cert_button.clicked.connect(lambda: self._browse_into(self.cert_edit, "Client certificate"))
        self.invalid_hosts_box = QCheckBox("Allow invalid host names (only for servers you trust)")
        tls = QFormLayout(self.tls_group)
        tls.addRow("CA file", _file_row(self.ca_edit, self.ca_button))
        tls.addRow("Client certificate", _file_row(self.cert_edit, self.cert_button))
        tls.addRow("", self.invalid_hosts_box)

        form = QFormLayout()
        form.addRow("Recent", self.recent_box)
        form.addRow("Store", store_choice)
        form.addRow("URI", self.uri_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("Database", self.db_edit)
        form.addRow("File", _file_row(self.file_edit, self.file_button))
        form.addRow("Layout", _file_row(self.layout_box, self.layout_button))
        form.addRow("Timeout", self.timeout_spin)
        form.addRow("", self.read_only_box)
        self.hint = QLabel("Passwords are never stored; recent connections are saved without them.")
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.tls_group)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 90)

        self.mongo_radio.toggled.connect(self._kind_changed)
        self.set_connection(initial or (self._recent[0] if self._recent else Connection()))

    # -- values ---------------------------------------------------------------------------
    def set_connection(self, c: Connection) -> None:
        """Fill the fields from a connection (passwords are never filled in)."""
        mongo = c.is_mongo or (not c.uri and bool(c.db))
        self.mongo_radio.setChecked(mongo)
        self.file_radio.setChecked(not mongo)
        self.uri_edit.setText(c.redacted().uri if c.is_mongo else "")
        self.file_edit.setText("" if c.is_mongo else c.uri)
        self.db_edit.setText(c.db)
        self.layout_box.setCurrentText(c.layout)
        self.read_only_box.setChecked(c.read_only)
        self.timeout_spin.setValue(c.timeout_s)
        self.ca_edit.setText(c.tls_ca_file)
        self.cert_edit.setText(c.tls_cert_file)
        self.invalid_hosts_box.setChecked(c.tls_allow_invalid_hostnames)
        self.password_edit.clear()
        self.uri_edit.setCursorPosition(0)
        self._kind_changed()

    def connection(self) -> Connection:
        """The connection the fields describe."""
        mongo = self.mongo_radio.isChecked()
        return Connection(
            uri=self.uri_edit.text().strip() if mongo else self.file_edit.text().strip(),
            db=self.db_edit.text().strip() if mongo else "",
            layout=self.layout_box.currentText().strip(),
            read_only=self.read_only_box.isChecked(),
            timeout_s=float(self.timeout_spin.value()),
            tls_ca_file=self.ca_edit.text().strip() if mongo else "",
            tls_cert_file=self.cert_edit.text().strip() if mongo else "",
            tls_allow_invalid_hostnames=mongo and self.invalid_hosts_box.isChecked(),
            password=self.password_edit.text() if mongo else "",
        )

    def accept(self) -> None:
        c = self.connection()
        if self.mongo_radio.isChecked() and not c.is_mongo:
            self.hint.setText("The URI must start with mongodb:// or mongodb+srv://")
            return
        super().accept()

    # -- reactions ------------------------------------------------------------------------
    def _kind_changed(self) -> None:
        mongo = self.mongo_radio.isChecked()
        for widget in (self.uri_edit, self.password_edit, self.db_edit, self.tls_group):
            widget.setEnabled(mongo)
        for widget in (self.file_edit, self.file_button):
            widget.setEnabled(not mongo)

    def _recent_chosen(self, index: int) -> None:
        c = self.recent_box.itemData(index)
        if isinstance(c, Connection):
            self.set_connection(c)

    def _browse_store(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Embedded store", self.file_edit.text(), "EventLens store (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.file_edit.setText(path)

    def _browse_layout(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Layout file", "", "Layouts (*.json *.toml *.edn);;All files (*)")
        if path:
            self.layout_box.setCurrentText(path)

    def _browse_into(self, edit: QLineEdit, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, edit.text(), "PEM (*.pem *.crt *.key);;All files (*)")
        if path:
            edit.setText(path)
