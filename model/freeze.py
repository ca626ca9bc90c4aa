"""Immutable values: persistent states and read-only payloads.

A state is a :class:`FrozenMap` whose lists are :class:`FrozenList`\\ s. Both are persistent:
``state.set(key, value)``, ``state.delete(key)``, ``state.merge(...)`` (or ``state | {...}``)
and ``items + [item]`` return a new value that shares everything they did not change with the
old one, at O(log n) per change, so a fold over a state that grows stays linear and the
checkpoints of a history share structure. A FrozenMap of up to SMALL_MAP keys holds a dict it
copies on change (cheaper at that size); a larger one a hash array mapped trie (``immutables``,
the structure behind CPython's ``contextvars``) beside a list of its keys in insertion order.
FrozenList is a persistent vector (a 32-way trie of tuples, Clojure's design) written here.
``bench/bench_states.py`` holds the measurements that picked them.

An event's payload (``data`` and ``metadata``) is a :class:`FrozenDict`, a dict that refuses
mutation: a store's decoder hands it out without a copy (:func:`freeze_each`) and reading it is a
dict lookup. Its nested dicts and lists are FrozenMaps and FrozenLists, so a reducer can put
them into a state as they are.

Every mutating method of the three raises :class:`FrozenError`, so a reducer that mutates its
input fails at once instead of silently corrupting every checkpoint that shares the value. They
are ``collections.abc.Mapping``/``Sequence``, compare equal to plain dicts and lists, pickle, and
``copy``/``deepcopy`` return them unchanged; ``thaw`` gives plain dicts and lists back.
"""
from __future__ import annotations

import operator
from collections import deque
from collections.abc import ItemsView, Iterable, KeysView, Mapping, Sequence, ValuesView
from itertools import chain, filterfalse, islice, repeat
from typing import Any

import immutables

#: How many changed keys (or list items) a derived value remembers since the value it came from:
#: enough for :func:`changed_keys`, and so ``model.diff``, to compare the two without a walk.
TRACE_LIMIT = 64


class FrozenError(TypeError):
    """Raised by every mutating method of a frozen value."""


_HOW = {
    "FrozenMap": "use set(), delete() or merge() (or |), which return a new FrozenMap",
    "FrozenList": "use + [item], set() or delete(), which return a new FrozenList",
}


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    name = type(self).__name__
    raise FrozenError(f"{name} is immutable: {_HOW.get(name, 'build a new value instead of changing it')}")


_new = object.__new__
# A FrozenList's trie branches _WIDTH ways.
_BITS = 5
_WIDTH = 1 << _BITS
_MASK = _WIDTH - 1
_EMPTY_HAMT = immutables.Map()


# -- the persistent map ---------------------------------------------------------------------


#: Up to this many keys a FrozenMap holds a dict, copied on every change: below it a copy costs
#: less than a trie's change and its bookkeeping (bench/bench_states.py); above it, the trie.
SMALL_MAP = 64


class FrozenMap(Mapping):
    """A persistent mapping: the state a reducer receives and returns.

    ``FrozenMap(mapping_or_pairs, **entries)`` (or :func:`freeze`) makes one with its values
    frozen. ``set``, ``delete`` and ``merge`` (also ``|``) return a new FrozenMap that shares
    what did not change; ``copy()`` gives a plain dict, as ``dict.copy`` would. Keys iterate in
    the order they were first set, as a dict's do (a key deleted and set again keeps its place).
    """

    # Small (at most SMALL_MAP keys when made): _map is a dict that nothing else holds, and
    # _order is None. Large: _map is the trie (key -> value), which iterates in hash order, so
    # _order keeps the keys in the order they were added: the first len(_map) + len(_dead) keys
    # of a _Run that maps derived one from another share and only append to; _dead
    # holds the keys deleted since the list was last compacted (a trie, or None). A large map
    # stays large.
    # The trace (large maps only): _base is the trie this one was derived from and _keys the
    # keys changed since (None when not known); _open says whether values derived from this
    # one may keep _base (False once a fold has made it a state: the next event's trace starts here).
    __slots__ = ("_map", "_order", "_dead", "_base", "_keys", "_open")

    def __new__(cls, value: Any = (), /, **entries: Any) -> "FrozenMap":
        if type(value) is FrozenMap and not entries:
            return value
        return _map_of(_frozen_entries(value, entries) if value or entries else {}, copy=True)

    # -- reading
    def __getitem__(self, key: Any) -> Any:
        return self._map[key]

    def __iter__(self):
        order = self._order
        if order is None:
            return iter(self._map)
        dead = self._dead
        if dead is None:
            return _run_keys(order, len(self._map))
        return filterfalse(dead.__contains__, _run_keys(order, len(self._map) + len(dead)))

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, key: Any) -> bool:
        return key in self._map

    def get(self, key: Any, default: Any = None) -> Any:
        return self._map.get(key, default)

    def keys(self) -> KeysView:
        return _Keys(self)

    def items(self) -> ItemsView:
        return _Items(self)

    def values(self) -> ValuesView:
        return _Values(self)

    def __eq__(self, other: Any) -> bool:
        if self is other:
            return True
        mine = self._map
        if type(other) is FrozenMap:
            theirs = other._map
            if type(mine) is type(theirs):
                return mine == theirs
            if len(mine) != len(theirs):
                return False
            return _as_dict(mine) == _as_dict(theirs)
        if isinstance(other, dict):
            return len(other) == len(mine) and _as_dict(mine) == other
        if isinstance(other, Mapping):
            return len(other) == len(mine) and all(
                key in other and (other[key] is value or other[key] == value) for key, value in mine.items()
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to dicts, which are unhashable

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self.items())!r})"

    def __reduce__(self) -> tuple:
        return (FrozenMap, (dict(self.items()),))

    def __copy__(self) -> "FrozenMap":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenMap":
        return self

    def copy(self) -> dict:
        """A plain, mutable dict with the same entries in the same order (a shallow copy, O(n))."""
        return dict(self.items())

    # -- persistent changes: each returns a new FrozenMap
    def set(self, key: Any, value: Any) -> "FrozenMap":
        """This map with ``key`` set to ``value`` (frozen)."""
        if type(value) not in IMMUTABLE_TYPES:
            value = freeze(value)
        old = self._map
        if self._order is None:
            small = old.copy()
            small[key] = value
            return _map_of(small)
        hamt = old.set(key, value)
        order, dead = self._order, self._dead
        if len(hamt) != len(old):  # a new key
            if dead is not None and key in dead:
                dead = dead.delete(key) or None
            else:
                order = _run_plus(order, len(old) + (len(dead) if dead is not None else 0), (key,))
        return _derived_map(self, hamt, order, dead, (key,))

    def delete(self, key: Any) -> "FrozenMap":
        """This map without ``key``; KeyError when it has no such key."""
        old = self._map
        if self._order is None:
            small = old.copy()
            del small[key]
            return _map_of(small)
        hamt = old.delete(key)
        dead = (self._dead or _EMPTY_HAMT).set(key, None)
        order = self._order
        if len(dead) > len(hamt):  # more deleted keys than live ones in the order: compact it
            order = _run_of(list(filterfalse(dead.__contains__, _run_keys(order, len(old) + len(dead) - 1))))
            dead = None
        return _derived_map(self, hamt, order, dead, (key,))

    def merge(self, other: Any = (), /, **entries: Any) -> "FrozenMap":
        """This map with the entries of ``other`` (a mapping or pairs) and ``entries`` set, as dict.update would."""
        order = self._order
        if order is not None and type(other) is FrozenDict and len(other) == 1 and not self._open and not entries:
            # The generic reducer's hot path on a growing state: one payload key into a large
            # state a fold handed out (no deleted keys pending, the trace starting here).
            old = self._map
            keys = tuple(other)
            key = keys[0]
            hamt = old.set(key, other[key])
            dead = self._dead
            if len(hamt) != len(old):  # a new key: at the end of the order, or back from the dead
                if dead is None:
                    order = _run_plus(order, len(old), keys)
                elif key in dead:
                    dead = dead.delete(key) or None
                else:
                    order = _run_plus(order, len(old) + len(dead), keys)
            out = _new(FrozenMap)
            out._map = hamt
            out._order = order
            out._dead = dead
            out._base = old
            out._keys = keys
            out._open = True
            return out
        new = other if type(other) is FrozenDict and not entries else _frozen_entries(other, entries)
        if not new:
            return self
        old = self._map
        if self._order is None:
            return _map_of({**old, **new})
        keys = tuple(new)
        if len(keys) == 1:
            hamt = old.set(keys[0], new[keys[0]])  # a trie's set costs less than its update
        else:
            hamt = old.update(new)
        order, dead = self._order, self._dead
        added = len(hamt) - len(old)
        if added == len(keys) and dead is None:
            order = _run_plus(order, len(old), keys)  # every key is new (a growing state)
        elif added:
            fresh = list(filterfalse(old.__contains__, keys))
            if dead is not None:
                revived = [key for key in fresh if key in dead]
                for key in revived:
                    dead = dead.delete(key)
                dead = dead or None
                fresh = [key for key in fresh if key not in revived] if revived else fresh
            if fresh:
                order = _run_plus(order, len(old) + (len(self._dead) if self._dead is not None else 0), tuple(fresh))
        if not self._open and len(keys) <= TRACE_LIMIT:
            # The state a fold hands a reducer: the trace starts at it (_derived_map, inlined
            # for the generic reducer's merge, the hot path of a fold).
            out = _new(FrozenMap)
            out._map = hamt
            out._order = order
            out._dead = dead
            out._base = old
            out._keys = keys
            out._open = True
            return out
        return _derived_map(self, hamt, order, dead, keys)

    def __or__(self, other: Any) -> "FrozenMap":
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.merge(other)

    def __ror__(self, other: Any) -> "FrozenMap":
        if not isinstance(other, Mapping):
            return NotImplemented
        return FrozenMap(other).merge(self)

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _refuse


class _Keys(KeysView):
    __slots__ = ()

    def __iter__(self):
        return iter(self._mapping)


class _Items(ItemsView):
    __slots__ = ()

    def __iter__(self):
        state = self._mapping
        if state._order is None:
            return iter(state._map.items())
        return zip(iter(state), map(state._map.__getitem__, iter(state)))


class _Values(ValuesView):
    __slots__ = ()

    def __iter__(self):
        state = self._mapping
        if state._order is None:
            return iter(state._map.values())
        return map(state._map.__getitem__, iter(state))


def _as_dict(entries: Any) -> dict:
    return entries if type(entries) is dict else dict(entries.items())


def _frozen_entries(value: Any, entries: dict) -> dict:
    """The entries of ``value`` and ``entries`` as a dict (in their order) whose values are all frozen.

    A FrozenDict's values are frozen already (freeze_each made it), so it is taken as it is.
    """
    if type(value) is FrozenDict and not entries:
        return value
    if not isinstance(value, dict):
        value = dict(value.items() if isinstance(value, Mapping) else value)
    if entries:
        value = {**value, **entries}
    if IMMUTABLE_TYPES.issuperset(map(type, value.values())):
        return value
    return {key: freeze(item) for key, item in value.items()}


def _map_of(entries: dict, copy: bool = False) -> FrozenMap:
    """A FrozenMap (with no trace) of ``entries``, frozen values; ``copy`` when the caller keeps the dict."""
    out = _new(FrozenMap)
    if len(entries) <= SMALL_MAP:
        out._map = dict(entries) if copy or type(entries) is not dict else entries
        out._order = None
    else:
        out._map = immutables.Map(entries)
        out._order = _run_of(list(entries))
    out._dead = out._base = out._keys = None
    out._open = True
    return out


class _Run:
    """A large map's keys in the order they were added, shared by the maps derived one from another.

    A map's keys are the first ``count`` keys of its run (count = its keys and its deleted
    ones): the first ``base`` keys of the run ``prior`` (None for none), then the run's own
    ``keys``, a list that is only ever appended to. A map adding a key at the end of its run
    appends in place: no copy, nothing new for the garbage collector to walk. When another
    value took that end already (a map changed twice, a state folded again from a checkpoint,
    or another thread), the new map starts a run of its own after its part of the old one.
    """

    __slots__ = ("prior", "base", "keys", "depth")


#: Runs chained deeper than this (a reducer deriving two states from each one) are flattened.
_RUN_DEPTH = 32


def _run_of(keys: list, prior: "_Run | None" = None, base: int = 0) -> _Run:
    run = _new(_Run)
    run.prior, run.base, run.keys = prior, base, keys
    run.depth = 0 if prior is None else prior.depth + 1
    return run


def _run_plus(run: _Run, count: int, keys: tuple) -> _Run:
    """The run of a map whose first ``count`` keys are ``run``'s, with ``keys`` added after them."""
    own = count - run.base
    mine = run.keys
    if len(mine) == own:
        mine.extend(keys)
        # Checked after the append, so that two threads appending at once cost a new run, no harm.
        if mine[own] is keys[0] and (len(keys) == 1 or all(map(operator.is_, islice(mine, own, None), keys))):
            return run
    if run.depth >= _RUN_DEPTH:
        return _run_of([*_run_keys(run, count), *keys])
    return _run_of(list(keys), run, count)


def _run_keys(run: _Run, count: int):
    """The first ``count`` keys of ``run``, in order."""
    if run.prior is None:
        return islice(run.keys, count)
    parts = []
    while run is not None:
        parts.append(islice(run.keys, count - run.base))
        count = run.base
        run = run.prior
    parts.reverse()
    return chain.from_iterable(parts)


def _derived_map(parent: FrozenMap, hamt: immutables.Map, order: Any, dead: Any, keys: tuple) -> FrozenMap:
    # A large map's trace: within TRACE_LIMIT changed keys, a chain of changes keeps the trie it
    # started from, so the value before a reducer's several changes and the value after compare
    # by the changed keys alone.
    out = _new(FrozenMap)
    out._map = hamt
    out._order = order
    out._dead = dead
    out._open = True
    if parent._open and parent._base is not None and len(parent._keys) + len(keys) <= TRACE_LIMIT:
        out._base = parent._base
        out._keys = parent._keys + keys
    elif len(keys) <= TRACE_LIMIT:
        out._base = parent._map
        out._keys = keys
    else:
        out._base = out._keys = None
    return out


def settle(state: Any) -> None:
    """Mark ``state`` as one step of a fold: what is derived from it traces its changes from it.

    ``model.replay`` calls this on every state a reducer returns, so the state before an event
    and the state after it compare by the keys the event changed however many changes the
    reducer made. Only the trace changes; the value is the same.
    """
    if type(state) is FrozenMap:
        state._open = False


# -- the persistent list --------------------------------------------------------------------
#
# A vector of n items is a trie of tuples, 32 wide, holding all but the last 1..32 items (the
# tail). Appending copies the tail (at most 32 references) and, every 32 items, one path of
# the trie; reading item i follows log32(n) tuples. Tuples, unlike a C extension's nodes, let
# the cyclic garbage collector visit only what is new: ``pyrsistent``'s vector walks all its
# items on every young-generation collection, which made a fold growing a list quadratic.

class FrozenList(Sequence):
    """A persistent list: ``items + [item]`` is a new FrozenList in amortised O(1) per item.

    ``set(index, value)`` and ``delete(index)`` return a new FrozenList too; indexing, slicing,
    ``len``, ``in``, ``index`` and ``count`` read as a list's do, and ``copy()`` gives a plain list.
    """

    # _size items: the trie _root (its children _shift bits down) and the last items in _tail.
    # _base/_keys: (root, tail, size) of the vector this one was derived from and the indexes
    # set since (items appended since are those past its size); None when not known.
    __slots__ = ("_size", "_shift", "_root", "_tail", "_base", "_keys")

    def __new__(cls, value: Iterable[Any] = (), /) -> "FrozenList":
        if type(value) is FrozenList:
            return value
        items = _frozen_items(value)
        return _vector_of(items if type(items) is list else list(items))

    # -- reading
    def __getitem__(self, index: Any) -> Any:
        if type(index) is not int:
            if isinstance(index, slice):
                return _vector_of(list(self)[index])
            index = operator.index(index)
        size = self._size
        if index < 0:
            index += size
            if index < 0:
                raise IndexError("FrozenList index out of range")
        tail = self._tail
        offset = size - len(tail)
        if index >= offset:
            if index >= size:
                raise IndexError("FrozenList index out of range")
            return tail[index - offset]
        node = self._root
        level = self._shift
        while level:
            node = node[(index >> level) & _MASK]
            level -= _BITS
        return node[index & _MASK]

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        if not self._root:
            return iter(self._tail)
        return chain(chain.from_iterable(_leaves(self._root, self._shift)), self._tail)

    def __reversed__(self):
        return reversed(list(self))

    def __contains__(self, value: Any) -> bool:
        return value in iter(self)

    def index(self, value: Any, *args: Any) -> int:
        return list(self).index(value, *args)

    def count(self, value: Any) -> int:
        return list(self).count(value)

    def __eq__(self, other: Any) -> bool:
        if self is other:
            return True
        if type(other) is FrozenList:
            if self._size != other._size:
                return False
            return (self._root is other._root and self._tail is other._tail) or list(self) == list(other)
        if isinstance(other, list):
            return len(other) == self._size and list(self) == other
        return NotImplemented

    def _as_list(self, other: Any) -> Any:
        if type(other) is FrozenList:
            return list(other)
        return other if isinstance(other, list) else None

    def __lt__(self, other: Any) -> bool:
        plain = self._as_list(other)
        return NotImplemented if plain is None else list(self) < plain

    def __le__(self, other: Any) -> bool:
        plain = self._as_list(other)
        return NotImplemented if plain is None else list(self) <= plain

    def __gt__(self, other: Any) -> bool:
        plain = self._as_list(other)
        return NotImplemented if plain is None else list(self) > plain

    def __ge__(self, other: Any) -> bool:
        plain = self._as_list(other)
        return NotImplemented if plain is None else list(self) >= plain

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"FrozenList({list(self)!r})"

    def __reduce__(self) -> tuple:
        return (FrozenList, (list(self),))

    def __copy__(self) -> "FrozenList":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenList":
        return self

    def copy(self) -> list:
        """A plain, mutable list with the same items (a shallow copy, O(n))."""
        return list(self)

    # -- persistent changes: each returns a new FrozenList
    def __add__(self, other: Any) -> "FrozenList":
        if type(other) is FrozenList:
            items = list(other) if other._root else other._tail
        elif isinstance(other, (list, tuple)):
            items = _frozen_items(other)
        else:
            return NotImplemented
        if not items:
            return self
        size, shift, root, tail = _appended(self, items)
        return _derived_list(self, size, shift, root, tail, ())

    def __radd__(self, other: Any) -> "FrozenList":
        if not isinstance(other, (list, tuple)):
            return NotImplemented
        return _vector_of(list(_frozen_items(other)) + list(self))

    def __mul__(self, times: Any) -> "FrozenList":
        if not isinstance(times, int):
            return NotImplemented
        return _vector_of(list(self) * times)

    __rmul__ = __mul__

    def set(self, index: int, value: Any) -> "FrozenList":
        """This list with the item at ``index`` replaced by ``value`` (frozen); IndexError as a list's."""
        size = self._size
        if type(index) is not int or not -size <= index < size:
            raise IndexError("FrozenList index out of range")
        if index < 0:
            index += size
        if type(value) not in IMMUTABLE_TYPES:
            value = freeze(value)
        tail = self._tail
        offset = size - len(tail)
        if index >= offset:
            at = index - offset
            return _derived_list(self, size, self._shift, self._root, tail[:at] + (value,) + tail[at + 1:], (index,))
        root = _assoc(self._shift, self._root, index, value)
        return _derived_list(self, size, self._shift, root, tail, (index,))

    def delete(self, index: int) -> "FrozenList":
        """This list without the item at ``index`` (O(n): the items after it move); IndexError as a list's."""
        items = list(self)
        del items[index]
        return _vector_of(items)

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = __iadd__ = __imul__ = _refuse


def _leaves(node: tuple, level: int):
    # The leaf tuples under ``node`` (whose children are ``level`` bits down), in order.
    if level == _BITS:
        return iter(node)
    return chain.from_iterable(_leaves(child, level - _BITS) for child in node)


def _vector(size: int, shift: int, root: tuple, tail: tuple) -> FrozenList:
    out = _new(FrozenList)
    out._size, out._shift, out._root, out._tail = size, shift, root, tail
    out._base = out._keys = None
    return out


def _vector_of(items: list) -> FrozenList:
    """A FrozenList of ``items`` as they are (already frozen), built bottom up."""
    size = len(items)
    if size <= _WIDTH:
        return _vector(size, _BITS, (), tuple(items))
    offset = ((size - 1) >> _BITS) << _BITS
    nodes = [tuple(items[i:i + _WIDTH]) for i in range(0, offset, _WIDTH)]
    shift = _BITS
    while len(nodes) > _WIDTH:
        nodes = [tuple(nodes[i:i + _WIDTH]) for i in range(0, len(nodes), _WIDTH)]
        shift += _BITS
    return _vector(size, shift, tuple(nodes), tuple(items[offset:]))


def _new_path(level: int, leaf: tuple) -> tuple:
    while level:
        leaf = (leaf,)
        level -= _BITS
    return leaf


def _push_tail(size: int, level: int, parent: tuple, leaf: tuple) -> tuple:
    # ``parent`` with the full tail ``leaf`` added as the leaf after the last one (size counts it).
    at = ((size - 1) >> level) & _MASK
    if level == _BITS:
        child = leaf
    elif at < len(parent):
        child = _push_tail(size, level - _BITS, parent[at], leaf)
    else:
        child = _new_path(level - _BITS, leaf)
    return parent[:at] + (child,)


def _appended(vector: FrozenList, items: Any) -> tuple[int, int, tuple, tuple]:
    """(size, shift, root, tail) of ``vector`` with ``items`` (frozen, a list or tuple) after its own."""
    size, shift, root, tail = vector._size, vector._shift, vector._root, vector._tail
    room = _WIDTH - len(tail)
    if len(items) <= room:
        return size + len(items), shift, root, tail + tuple(items)
    tail += tuple(items[:room])
    size += room
    at = room
    while at < len(items):
        # The tail is full: it becomes the trie's next leaf, under a new root when the trie is full.
        if (size >> _BITS) > (1 << shift):
            root = (root, _new_path(shift, tail))
            shift += _BITS
        else:
            root = _push_tail(size, shift, root, tail)
        tail = tuple(items[at:at + _WIDTH])
        size += len(tail)
        at += _WIDTH
    return size, shift, root, tail


def _assoc(level: int, node: tuple, index: int, value: Any) -> tuple:
    at = (index >> level) & _MASK
    if level == 0:
        return node[:at] + (value,) + node[at + 1:]
    return node[:at] + (_assoc(level - _BITS, node[at], index, value),) + node[at + 1:]


def _frozen_items(value: Any) -> Any:
    if type(value) is FrozenList:
        return list(value)
    if not isinstance(value, (list, tuple)):
        value = list(value)
    if IMMUTABLE_TYPES.issuperset(map(type, value)):
        return value
    return [freeze(item) for item in value]


def _derived_list(parent: FrozenList, size: int, shift: int, root: tuple, tail: tuple, keys: tuple) -> FrozenList:
    out = _new(FrozenList)
    out._size, out._shift, out._root, out._tail = size, shift, root, tail
    base = parent._base
    if base is not None and len(parent._keys) + len(keys) + size - base[2] <= TRACE_LIMIT:
        out._base = base
        out._keys = parent._keys + keys
    elif len(keys) + size - parent._size <= TRACE_LIMIT:
        out._base = (parent._root, parent._tail, parent._size)
        out._keys = keys
    else:
        out._base = out._keys = None
    return out


_EMPTY_LIST = _vector(0, _BITS, (), ())


def changed_keys(old: Any, new: Any) -> tuple | None:
    """Where two persistent values derived one from the other may differ, or None when not known.

    For two FrozenMaps: the keys whose values may differ (any other key holds the identical
    value in both). For two FrozenLists: the indexes below the shorter length whose items may
    differ (the items past it are the longer one's own). Known when one value was derived
    from the other, or both from a third, through at most TRACE_LIMIT changes.
    """
    if type(old) is FrozenMap and type(new) is FrozenMap:
        if new._base is old._map:
            return new._keys
        if old._base is new._map:
            return old._keys
        if new._base is not None and new._base is old._base:
            return old._keys + new._keys
        return None
    if type(old) is FrozenList and type(new) is FrozenList:
        a, b = old._base, new._base
        if b is not None and b[0] is old._root and b[1] is old._tail:
            keys = new._keys
        elif a is not None and a[0] is new._root and a[1] is new._tail:
            keys = old._keys
        elif a is not None and b is not None and a[0] is b[0] and a[1] is b[1]:
            # Both were derived from one vector: the items either appended past its end may differ.
            keys = old._keys + new._keys + tuple(range(a[2], min(old._size, new._size)))
        else:
            return None
        common = min(old._size, new._size)
        return tuple(i for i in keys if i < common)
    return None


# -- read-only payloads ---------------------------------------------------------------------


class FrozenDict(dict):
    """An event's payload: a dict that refuses mutation; its nested values are FrozenMaps and FrozenLists.

    Made by :func:`freeze_each` (a store's read) or by the fold for payloads that arrive as
    plain dicts. The generic reducer turns it into a FrozenMap when it becomes a state.
    """

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


class ThawedDict(dict):
    """A plain dict that :func:`freeze_each` may turn into a FrozenDict in place; decoders build these."""

    __slots__ = ()


# Scalars that need no work; checked by exact type because that is the fast path of a fold.
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})
#: Types freeze() returns unchanged.
IMMUTABLE_TYPES = _SCALARS | {FrozenMap, FrozenList, FrozenDict}
#: The types that are lists in a state or a payload (JSON arrays); mappings are ``Mapping``.
LIST_TYPES = (list, tuple, FrozenList)
_PLAIN_DICTS = frozenset({dict, ThawedDict})


def _for_each(function: Any, *iterables: Any) -> None:
    # Calls function over the items for its effect, without a Python step each.
    deque(map(function, *iterables), maxlen=0)


def freeze(value: Any) -> Any:
    """``value`` made immutable: mappings become FrozenMaps, lists and tuples FrozenLists, inside too.

    Values that are already frozen (FrozenMap, FrozenList, FrozenDict, scalars) are returned
    as they are, so frozen parts are shared, never copied.
    """
    t = type(value)
    if t in IMMUTABLE_TYPES:
        return value
    if t is dict or isinstance(value, Mapping):
        return FrozenMap(value)
    if isinstance(value, (list, tuple)):
        return FrozenList(value)
    return value


def _payload(value: Any) -> Any:
    # A payload's top level is a FrozenDict (a dict lookup to read, no trie to build).
    if type(value) is FrozenDict:
        return value
    if isinstance(value, Mapping):
        if IMMUTABLE_TYPES.issuperset(map(type, value.values())):
            return FrozenDict(value)
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    return freeze(value)


def freeze_each(values: list[Any]) -> list[Any]:
    """Payloads made immutable: each mapping a FrozenDict whose nested values are frozen, other values frozen.

    One C-level pass when every value is a flat dict of scalars. A flat ThawedDict becomes the
    FrozenDict itself (its class changes, nothing is copied): pass only ThawedDicts that nothing
    else holds yet, such as a decoder's fresh output.
    """
    # A stream's payloads are mostly flat dicts of scalars: checking all their values at once and
    # freezing each takes no Python step per payload (the store's read uses this).
    types = set(map(type, values))
    if types and types <= _PLAIN_DICTS:
        if IMMUTABLE_TYPES.issuperset(map(type, chain.from_iterable(map(dict.values, values)))):
            if dict in types:
                return list(map(FrozenDict, values))
            # ThawedDict and FrozenDict share dict's layout, so the class can change in place;
            # half the cost of copying each payload into a new FrozenDict.
            _for_each(setattr, values, repeat("__class__"), repeat(FrozenDict))
            return list(values)
    return list(map(_payload, values))


def thaw(value: Any) -> Any:
    """Plain dicts and lists (new objects) for a frozen or partly frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, LIST_TYPES):
        return [thaw(v) for v in value]
    return value


def is_frozen(value: Any) -> bool:
    """True for the values :func:`freeze` returns unchanged."""
    return type(value) in IMMUTABLE_TYPES
