"""Immutable states: dict and list subclasses that refuse mutation, with structural sharing.

A reducer receives a frozen state, so a reducer that mutates its input fails at once (with
:class:`FrozenError`) instead of silently corrupting every checkpoint that shares the value.
They stay real ``dict``/``list`` subclasses so JSON encoders, ``==`` and ``isinstance`` work.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from itertools import chain, repeat
from typing import Any


class FrozenError(TypeError):
    """Raised by every mutating method of a frozen value."""


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise FrozenError(f"{type(self).__name__} is immutable: build a new value instead of changing it")


class FrozenDict(dict):
    """A dict that refuses mutation; make one with :func:`freeze` so its children are frozen too."""

    __slots__ = ()
    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _refuse

    def __reduce__(self) -> tuple:
        # The default dict pickling refills the object with __setitem__, which we refuse.
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> "FrozenDict":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenDict":
        return self

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


class FrozenList(list):
    """A list that refuses mutation; make one with :func:`freeze` so its children are frozen too."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = __iadd__ = __imul__ = _refuse

    def __reduce__(self) -> tuple:
        return (FrozenList, (list(self),))

    def __copy__(self) -> "FrozenList":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenList":
        return self

    def __hash__(self) -> int:  # type: ignore[override]
        raise TypeError("unhashable type: 'FrozenList'")

    def __repr__(self) -> str:
        return f"FrozenList({list.__repr__(self)})"


_FROZEN = (FrozenDict, FrozenList)
# Scalars that need no work; checked by exact type because that is the fast path of a fold.
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})
#: Types freeze() returns unchanged.
IMMUTABLE_TYPES = _SCALARS | {FrozenDict, FrozenList}


class ThawedDict(dict):
    """A plain dict that :func:`freeze_each` may turn into a FrozenDict in place; decoders build these."""

    __slots__ = ()


_PLAIN_DICTS = frozenset({dict, ThawedDict})


def _for_each(function: Any, *iterables: Any) -> None:
    # Calls function over the items for its effect, without a Python step each.
    deque(map(function, *iterables), maxlen=0)


def freeze(value: Any) -> Any:
    """Return ``value`` with every dict, list and tuple inside made frozen; frozen parts are shared."""
    t = type(value)
    if t in IMMUTABLE_TYPES:
        return value
    if t is dict or isinstance(value, Mapping):
        # Payloads are mostly flat: copy once when every value is already frozen (a C-level check).
        if IMMUTABLE_TYPES.issuperset(map(type, value.values())):
            return FrozenDict(value)
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        if IMMUTABLE_TYPES.issuperset(map(type, value)):
            return FrozenList(value)
        return FrozenList([freeze(v) for v in value])
    return value


def freeze_each(values: list[Any]) -> list[Any]:
    """``[freeze(v) for v in values]``, in one C-level pass when every value is a flat dict of scalars.

    A flat ThawedDict becomes the FrozenDict itself (its class changes, nothing is copied): pass
    only ThawedDicts that nothing else holds yet, such as a decoder's fresh output.
    """
    # A stream's payloads are mostly flat dicts of scalars: checking all their values at once and
    # freezing each takes no Python step per payload (the store's read uses this).
    kinds = set(map(type, values))
    if kinds and kinds <= _PLAIN_DICTS:
        if IMMUTABLE_TYPES.issuperset(map(type, chain.from_iterable(map(dict.values, values)))):
            if dict in kinds:
                return list(map(FrozenDict, values))
            # ThawedDict and FrozenDict share dict's layout, so the class can change in place;
            # half the cost of copying each payload into a new FrozenDict.
            _for_each(setattr, values, repeat("__class__"), repeat(FrozenDict))
            return list(values)
    return list(map(freeze, values))


def thaw(value: Any) -> Any:
    """Return plain dicts and lists (new objects) for a frozen or partly frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def is_frozen(value: Any) -> bool:
    """True for the values :func:`freeze` returns unchanged at the top level."""
    t = type(value)
    return t in _SCALARS or t in _FROZEN
