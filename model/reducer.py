"""Reducers: ``evolve(state, event) -> new state``; the generic default and user-named files."""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from model.errors import ReducerLoadError
from model.event import Event, ReducerId
from model.freeze import FrozenDict, FrozenMap

Evolve = Callable[[Mapping[str, Any], Event], Mapping[str, Any]]

DEFAULT_TIMEOUT_S = 5.0

# "added" and "removed" are left out on purpose: ItemAdded or ItemRemoved on a cart changes
# the cart, it neither creates nor deletes it, and merging is the safe reading.
CREATED_WORDS = ("created", "registered", "opened", "started")
DELETED_WORDS = ("deleted", "closed", "archived")


@dataclass(frozen=True)
class Reducer:
    """A named fold function; ``known_types`` None means it accepts every event type."""

    id: ReducerId
    evolve: Evolve
    known_types: frozenset[str] | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def name(self) -> str:
        return self.id.name


# -- the generic reducer ---------------------------------------------------------------------


def _ends_with_word(event_type: str, word: str) -> bool:
    """True when ``event_type`` is ``word`` or ends with it at a word boundary (UserCreated, user.created)."""
    lowered = event_type.lower()
    if not lowered.endswith(word):
        return False
    start = len(event_type) - len(word)
    if start == 0:
        return True
    before, first = event_type[start - 1], event_type[start]
    # "UserCreated" (camel case) or "user_created"/"user.created"; never "Disclosed" or "Readded".
    return not before.isalpha() or (first.isupper() and (before.islower() or event_type[start + 1 :].islower()))


@lru_cache(maxsize=4096)
def event_role(event_type: str) -> str:
    """Classify an event type as "created", "deleted" or "changed" (the generic reducer's view)."""
    if not isinstance(event_type, str):
        return "changed"
    core = event_type.rstrip("0123456789")
    if core != event_type and core[-1:] in ("v", "V"):
        core = core[:-1].rstrip("._-:")  # a trailing version tag: user.created.v2
    else:
        core = event_type
    if any(_ends_with_word(core, w) for w in CREATED_WORDS):
        return "created"
    if any(_ends_with_word(core, w) for w in DELETED_WORDS):
        return "deleted"
    return "changed"


def _payload(event: Event) -> Mapping[str, Any]:
    data = event.data
    if type(data) is FrozenDict:
        return data
    if not isinstance(data, Mapping):
        raise TypeError(f"payload is {type(data).__name__}, not a mapping")
    return data  # FrozenMap and merge freeze its values


def generic_evolve(state: Mapping[str, Any], event: Event) -> Mapping[str, Any]:
    """Created-like sets the state from the payload, deleted-like marks it deleted, others merge."""
    role = event_role(event.type)
    if role == "created":
        return FrozenMap(_payload(event))
    if type(state) is not FrozenMap:
        state = FrozenMap(state)
    if role == "deleted":
        return state.set("deleted", True)
    # A persistent merge: O(log n) per payload key, everything else shared with the old state.
    data = event.data
    return state.merge(data if type(data) is FrozenDict else _payload(event))


def _source_fingerprint(*objects: Any) -> str:
    digest = hashlib.sha256()
    for obj in objects:
        try:
            digest.update(inspect.getsource(obj).encode())
        except (OSError, TypeError):  # no source (frozen application): fall back to the byte code
            digest.update(obj.__code__.co_code)
    digest.update(repr((CREATED_WORDS, DELETED_WORDS)).encode())
    return digest.hexdigest()


def default_reducer() -> Reducer:
    """The generic reducer that needs no configuration."""
    fingerprint = _source_fingerprint(_ends_with_word, event_role, _payload, generic_evolve)
    return Reducer(ReducerId("generic", fingerprint), generic_evolve, None)


# -- reducers from files --------------------------------------------------------------------


def _keep(state: Mapping[str, Any], event: Event) -> Mapping[str, Any]:
    return state


def _dispatching(handlers: Mapping[str, Evolve]) -> Evolve:
    def evolve(state: Mapping[str, Any], event: Event) -> Mapping[str, Any]:
        # Types without a handler leave the state as it was (integrity checks report them).
        return handlers.get(event.type, _keep)(state, event)

    return evolve


def _takes_two_positional(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 2 and all(p.default is p.empty for p in positional)


def load_reducer(path: str | Path) -> Reducer:
    """Load a reducer from a Python file the user named: ``evolve``, ``HANDLERS`` or one function per type."""
    path = Path(path)
    try:
        source = path.read_bytes()
    except OSError as error:
        raise ReducerLoadError(f"cannot read reducer file {str(path)!r}: {error.strerror or error}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise ReducerLoadError(f"reducer file {str(path)!r}: syntax error at line {error.lineno}: {error.msg}") from None
    except ValueError as error:  # e.g. null bytes
        raise ReducerLoadError(f"reducer file {str(path)!r}: {error}") from None
    module_name = f"eventlens_reducer_{path.stem}"
    namespace: dict[str, Any] = {"__name__": module_name, "__file__": str(path)}
    try:
        exec(code, namespace)
    except Exception as error:  # the user's code failed at import time
        first_line = (str(error).splitlines() or [""])[0]
        raise ReducerLoadError(
            f"reducer file {str(path)!r} failed while loading: {type(error).__name__}: {first_line}"
        ) from None

    name = namespace.get("NAME") if isinstance(namespace.get("NAME"), str) else path.stem
    timeout = namespace.get("TIMEOUT_S", DEFAULT_TIMEOUT_S)
    timeout_s = float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else DEFAULT_TIMEOUT_S
    fingerprint = hashlib.sha256(source).hexdigest()
    reducer_id = ReducerId(name, fingerprint)

    evolve = namespace.get("evolve")
    if callable(evolve):
        known = namespace.get("KNOWN_TYPES")
        known_types = frozenset(known) if isinstance(known, (set, frozenset, list, tuple)) else None
        return Reducer(reducer_id, evolve, known_types, timeout_s)

    handlers = namespace.get("HANDLERS")
    if handlers is not None:
        if not isinstance(handlers, Mapping) or not all(callable(fn) for fn in handlers.values()):
            raise ReducerLoadError(f"reducer file {str(path)!r}: HANDLERS must map event types to functions")
        handlers = dict(handlers)
    else:
        # One function per event type: the public two-argument functions this file defines.
        handlers = {
            key: value
            for key, value in namespace.items()
            if inspect.isfunction(value)
            and not key.startswith("_")
            and value.__module__ == module_name
            and _takes_two_positional(value)
        }
    if not handlers:
        raise ReducerLoadError(
            f"reducer file {str(path)!r} defines no evolve(state, event), no HANDLERS "
            "and no function per event type"
        )
    return Reducer(reducer_id, _dispatching(handlers), frozenset(handlers), timeout_s)
