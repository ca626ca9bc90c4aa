"""The reducer in use: the generic one, a shipped example, or a file the user named."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.reducer import Reducer, default_reducer, load_reducer
from ui.session.jobs import Job
from ui.session.signals import Signal

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "resources" / "reducers"
GENERIC = "generic"


@dataclass(frozen=True)
class ReducerOption:
    """A reducer the picker offers: its name and file (None for the generic reducer)."""

    name: str
    path: Path | None


def shipped() -> list[ReducerOption]:
    """The generic reducer and the example reducers that ship in resources/reducers."""
    files = sorted(SHIPPED_DIR.glob("*.py")) if SHIPPED_DIR.is_dir() else []
    return [ReducerOption(GENERIC, None)] + [ReducerOption(p.stem, p) for p in files if not p.stem.startswith("_")]


class ReducerChoice:
    """The reducer every fold uses; ``changed`` fires when another is chosen."""

    def __init__(self) -> None:
        self.reducer: Reducer = default_reducer()
        self.path: Path | None = None
        self.changed = Signal()

    @property
    def name(self) -> str:
        return self.reducer.name

    def describe(self) -> str:
        """The reducer in words for the window: "generic" or "accounts (resources/reducers/accounts.py)"."""
        return self.reducer.name if self.path is None else f"{self.reducer.name} ({self.path})"

    def use(self, reducer: Reducer, path: Path | None) -> None:
        if reducer.id == self.reducer.id and path == self.path:
            return
        self.reducer, self.path = reducer, path
        self.changed.emit()

    def use_generic(self) -> None:
        self.use(default_reducer(), None)

    def load_job(self, path: str | Path) -> Job[Reducer]:
        """Load a reducer file (in the worker: it runs the user's module code); on success it is in use."""
        path = Path(path)
        return Job(f"loading reducer {path.name}", lambda task: load_reducer(path),
                   on_result=lambda reducer: self.use(reducer, path))
