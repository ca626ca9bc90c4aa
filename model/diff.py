"""Structural diff between two states: added, removed and changed paths."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from model.freeze import LIST_TYPES, changed_keys

Path = tuple[Any, ...]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One difference at ``path`` (keys and list indexes); ``old``/``new`` is None when absent."""

    path: Path
    old: Any = None
    new: Any = None


@dataclass(frozen=True, slots=True)
class Diff:
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self, value_encoder: Callable[[Any], Any] = lambda value: value) -> dict[str, list[dict]]:
        """A JSON-ready form with string paths like ``a.b[2]``."""
        return {
            "added": [{"path": format_path(c.path), "value": value_encoder(c.new)} for c in self.added],
            "removed": [{"path": format_path(c.path), "value": value_encoder(c.old)} for c in self.removed],
            "changed": [
                {"path": format_path(c.path), "old": value_encoder(c.old), "new": value_encoder(c.new)}
                for c in self.changed
            ],
        }


def _is_plain_key(key: str) -> bool:
    return bool(key) and not any(ch in key for ch in ".[]\"' ") and not key[0].isdigit()


def format_path(path: Path) -> str:
    """Render a path as ``a.b[2]``; keys that would be ambiguous are quoted: ``a["x.y"]``."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            parts.append(f"[{step}]")
        elif isinstance(step, str) and _is_plain_key(step):
            parts.append(f".{step}" if parts else step)
        else:
            parts.append(f"[{json.dumps(step if isinstance(step, str) else repr(step))}]")
    return "".join(parts)


def same_scalar(old: Any, new: Any) -> bool:
    """Whether two scalars are the same value of a state: of one type and equal (NaN equal to NaN)."""
    # Type-aware: 1, 1.0 and True are equal in Python but different values in a state.
    if type(old) is not type(new):
        return False
    if old == new:
        return True
    return isinstance(old, float) and math.isnan(old) and math.isnan(new)


def diff(old: Any, new: Any) -> Diff:
    """Compare two states: recurse into mappings, lists element by element, scalars by type and value.

    Persistent values derived one from the other (``model.freeze.changed_keys``) are compared
    at the keys and indexes their derivation changed, not walked: a state of 100,000 keys
    against the state one event later costs what the event changed.
    """
    result = Diff()
    # An explicit stack instead of recursion: payloads may nest thousands of levels deep.
    stack: list[tuple[Path, Any, Any]] = [((), old, new)]
    while stack:
        path, a, b = stack.pop()
        if a is b:
            continue  # structural sharing makes unchanged subtrees cheap to skip
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            keys = changed_keys(a, b)
            if keys is not None:
                _diff_keys(path, a, b, dict.fromkeys(keys), result, stack)
                continue
            children: list[tuple[Path, Any, Any]] = []
            for key, value in a.items():
                other = b.get(key, _MISSING) if key in b else _MISSING
                if other is _MISSING:
                    result.removed.append(Change(path + (key,), value, None))
                else:
                    children.append((path + (key,), value, other))
            for key, value in b.items():
                if key not in a:
                    result.added.append(Change(path + (key,), None, value))
            stack.extend(reversed(children))
        elif isinstance(a, LIST_TYPES) and isinstance(b, LIST_TYPES):
            common = min(len(a), len(b))
            for i in range(len(b) - 1, common - 1, -1):
                result.added.append(Change(path + (i,), None, b[i]))
            for i in range(len(a) - 1, common - 1, -1):
                result.removed.append(Change(path + (i,), a[i], None))
            indexes = changed_keys(a, b)
            if indexes is None:
                indexes = range(common - 1, -1, -1)
            else:
                indexes = sorted(set(indexes), reverse=True)
            stack.extend((path + (i,), a[i], b[i]) for i in indexes)
        elif not same_scalar(a, b):
            result.changed.append(Change(path, a, b))
    for changes in (result.added, result.removed, result.changed):
        changes.sort(key=lambda c: _sort_key(c.path))
    return result


def _diff_keys(path: Path, a: Mapping, b: Mapping, keys: Any, result: Diff, stack: list) -> None:
    # Only ``keys`` may differ between a and b; every other key holds the same value in both.
    children = []
    for key in keys:
        old = a.get(key, _MISSING) if key in a else _MISSING
        new = b.get(key, _MISSING) if key in b else _MISSING
        if old is _MISSING:
            if new is not _MISSING:
                result.added.append(Change(path + (key,), None, new))
        elif new is _MISSING:
            result.removed.append(Change(path + (key,), old, None))
        else:
            children.append((path + (key,), old, new))
    stack.extend(reversed(children))


def _sort_key(path: Path) -> tuple:
    return tuple((0, step, "") if isinstance(step, int) and not isinstance(step, bool) else (1, 0, str(step)) for step in path)
