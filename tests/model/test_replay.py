"""fold: checked steps and located errors; LoadedStream: bounded time travel."""
import random
import threading
import time
from datetime import timedelta

import pytest

from model.demo import demo_streams
from model.errors import EventLensError, ReducerError, VersionError
from model.event import ReducerId
from model.freeze import FrozenList, FrozenMap
from model.reducer import Reducer, default_reducer
from model.loaded import LoadedStream
from model.replay import fold
from tests.model.helpers import T0, event, make_events


def reducer_of(evolve, timeout_s=5.0, known_types=None):
    return Reducer(ReducerId("test", "0"), evolve, known_types, timeout_s)


def counting(reducer):
    """The same reducer with a counter of evolve calls."""
    calls = [0]

    def evolve(state, ev):
        calls[0] += 1
        return reducer.evolve(state, ev)

    return Reducer(reducer.id, evolve, reducer.known_types, reducer.timeout_s), calls


def account_events(n, seed=1):
    stream = [s for s in demo_streams(streams=2, events_per_stream=n, seed=seed) if s.stream_type == "account"][0]
    return make_events(stream.stream_id, stream.events)


def test_fold_returns_a_frozen_state():
    state = fold({}, [event("s", 1, "Created", {"a": [1]}), event("s", 2, "Changed", {"b": {"c": 1}})], default_reducer())
    assert state == {"a": [1], "b": {"c": 1}}
    assert type(state) is FrozenMap and type(state["b"]) is FrozenMap and type(state["a"]) is FrozenList


def test_fold_rejects_a_version_gap_naming_stream_and_versions():
    events = [event("acc-1", 1, "Created"), event("acc-1", 2, "Changed"), event("acc-1", 4, "Changed")]
    with pytest.raises(VersionError) as caught:
        fold({}, events, default_reducer())
    assert caught.value.expected == 3 and caught.value.found == 4
    assert str(caught.value) == "stream 'acc-1': expected version 3, found 4"


@pytest.mark.parametrize("bad", [2.0, "2", True, None])
def test_fold_rejects_versions_that_are_not_ints(bad):
    with pytest.raises(VersionError):
        fold({}, [event("s", 1, "Created"), event("s", bad, "Changed")], default_reducer())


def test_fold_checks_the_first_version_after_a_snapshot():
    with pytest.raises(VersionError, match="expected version 6, found 7"):
        fold({}, [event("s", 7, "Changed")], default_reducer(), after_version=5)


def test_reducer_exception_is_located():
    def evolve(state, ev):
        if ev.version == 3:
            raise KeyError("balance")
        return state

    events = [event("acc-9", v, "FundsDeposited") for v in range(1, 5)]
    with pytest.raises(ReducerError) as caught:
        fold({}, events, reducer_of(evolve))
    error = caught.value
    assert (error.stream_id, error.version, error.event_type) == ("acc-9", 3, "FundsDeposited")
    assert str(error) == "reducer failed on stream 'acc-9' at version 3 (FundsDeposited): KeyError: 'balance'"


def test_mutating_the_input_state_is_detected():
    def evolve(state, ev):
        state["n"] = state.get("n", 0) + 1
        return state

    with pytest.raises(ReducerError, match="mutated its input state; return a new state instead"):
        fold({"n": 0}, [event("s", 1, "Ticked")], reducer_of(evolve))


def test_mutating_a_nested_value_of_the_input_is_detected():
    def evolve(state, ev):
        new = dict(state)
        new["items"].append(ev.version)
        return new

    with pytest.raises(ReducerError, match="mutated its input"):
        fold({"items": []}, [event("s", 1, "Added")], reducer_of(evolve))


def test_mutating_the_event_payload_is_detected():
    def evolve(state, ev):
        ev.data["x"] = 1
        return state

    ev = event("s", 1, "Ticked", {"a": 1})
    with pytest.raises(ReducerError, match="mutated"):
        fold({}, [ev], reducer_of(evolve))
    assert ev.data == {"a": 1}


@pytest.mark.parametrize("result, name", [([1], "list"), (None, "NoneType"), ("s", "str"), (3, "int")])
def test_non_mapping_result_is_rejected(result, name):
    with pytest.raises(ReducerError, match=f"returned {name}, not a mapping"):
        fold({}, [event("s", 1, "X")], reducer_of(lambda state, ev: result))


def test_a_reducer_that_never_returns_is_stopped_at_its_deadline(monkeypatch):
    from model import watchdog

    now = [100.0]
    dog = watchdog.Watchdog(clock=lambda: now[0], thread=False)  # time moves only when the test says
    monkeypatch.setattr(watchdog, "DEFAULT", dog)
    entered = threading.Event()

    def evolve(state, ev):
        if ev.version == 1:
            return state
        entered.set()
        while True:
            try:
                sum(range(100))
            except Exception:  # a reducer that swallows errors still stops
                pass

    outcome = {}

    def run():
        try:
            fold({}, [event("s", 1, "A"), event("s", 2, "B")], reducer_of(evolve, 0.3))
        except ReducerError as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    assert entered.wait(10)
    now[0] += 0.29
    dog.expire()
    assert not any(guard.fired for guard in dog.guards())  # before its deadline nothing is stopped
    now[0] += 0.02
    dog.expire()
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["error"].version == 2 and "did not return within 0.3 s" in str(outcome["error"])
    # The fold disarmed its guard: no stray timeout can arrive later, and the thread folds again.
    assert dog.guards() == [] and dog.expire() is None
    assert fold({}, [event("s", 1, "Created", {"a": 1})], default_reducer()) == {"a": 1}


def test_timeouts_in_two_threads_stop_only_the_stuck_one():
    results = {}

    def stuck(state, ev):
        while True:
            pass

    def slow_but_fine(state, ev):
        time.sleep(0.01)
        return {**state, "n": state.get("n", 0) + 1}

    def run(name, reducer, count):
        try:
            results[name] = fold({}, [event("s", v, "T") for v in range(1, count + 1)], reducer)
        except ReducerError as error:
            results[name] = error

    threads = [
        threading.Thread(target=run, args=("stuck", reducer_of(stuck, 0.2), 1)),
        threading.Thread(target=run, args=("fine", reducer_of(slow_but_fine, 0.2), 60)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert isinstance(results["stuck"], ReducerError)
    assert results["fine"] == {"n": 60}


# -- LoadedStream ------------------------------------------------------------------------------


def loaded(events, reducer=None, batch=500, **kw):
    history = LoadedStream(events[0].stream_id, reducer or default_reducer(), **kw)
    for i in range(0, len(events), batch):
        history.extend(events[i : i + batch])
    return history


def test_state_at_equals_fold_from_scratch_at_random_versions():
    events = account_events(3000)
    history = loaded(events, checkpoint_every=100)
    reducer = default_reducer()
    rng = random.Random(7)
    for version in [0, 1, 3000] + [rng.randint(0, 3000) for _ in range(60)]:
        assert history.state_at(version) == fold({}, events[:version], reducer), version
    assert history.state == fold({}, events, reducer)
    assert (history.first_version, history.last_version, len(history)) == (1, 3000, 3000)


def test_state_at_folds_a_bounded_number_of_events():
    events = account_events(5000)
    reducer, calls = counting(default_reducer())
    history = loaded(events, reducer, checkpoint_every=200)
    assert calls[0] == 5000  # loading folds each event once
    rng = random.Random(1)
    for version in [rng.randint(0, 5000) for _ in range(100)]:
        calls[0] = 0
        history.state_at(version)
        assert calls[0] < 200
    history.state_at(1234)
    calls[0] = 0
    history.state_at(1235)
    assert calls[0] == 1  # stepping forward reuses the last state


def test_default_checkpoint_spacing_is_measured_and_bounded():
    history = loaded(account_events(4000))
    assert 32 <= history.checkpoint_every <= 2048
    assert history.checkpoints >= 4000 // 2048


def test_extend_stops_at_a_failing_event_and_keeps_what_came_before():
    def evolve(state, ev):
        if ev.type == "Boom":
            raise ValueError("bad amount")
        return {**state, "n": state.get("n", 0) + 1}

    events = [event("s", v, "Boom" if v == 7 else "Tick") for v in range(1, 11)]
    history = LoadedStream("s", reducer_of(evolve), checkpoint_every=4)
    kept = history.extend(events[:5]) + history.extend(events[5:])
    assert kept == 6 and history.folded_version == 6
    assert history.last_version == 10  # every event the store holds is still listed, state or not
    assert history.event(7).type == "Boom" and history.event(10).version == 10
    assert history.state_at(6) == {"n": 6} and history.state_at(3) == {"n": 3}
    assert isinstance(history.error, ReducerError) and history.error.version == 7
    with pytest.raises(EventLensError, match="no state for version 8 yet .*bad amount"):
        history.state_at(8)
    assert history.extend([event("s", 11, "Tick")]) == 0  # the fold stays stopped: the UI shows the error
    assert history.last_version == 11


def test_extend_records_a_version_gap_as_the_error():
    history = LoadedStream("s", default_reducer())
    history.extend([event("s", 1, "Created"), event("s", 2, "X"), event("s", 5, "X")])
    assert history.last_version == 2 and isinstance(history.error, VersionError)


def test_history_from_a_snapshot_state():
    events = account_events(300)
    reducer = default_reducer()
    at_100 = fold({}, events[:100], reducer)
    history = LoadedStream(events[0].stream_id, reducer, initial_state=at_100, initial_version=100)
    history.extend(events[100:])
    assert history.first_version == 101 and history.last_version == 300
    assert history.state_at(250) == fold({}, events[:250], reducer)
    assert history.state_at(100) == at_100
    with pytest.raises(EventLensError, match="not loaded"):
        history.state_at(50)


def test_event_and_unloaded_versions():
    events = account_events(50)
    history = loaded(events)
    assert history.event(17) == events[16]  # decoded from what the history keeps
    assert history.events(10, 12) == events[9:12]
    for bad in (51, -1, "3"):
        with pytest.raises(EventLensError, match="is not loaded"):
            history.state_at(bad)


def test_change_at_is_the_diff_of_one_event():
    events = [event("u", 1, "UserCreated", {"id": "u", "name": "a"}), event("u", 2, "UserUpdated", {"name": "b"}),
              event("u", 3, "UserDeleted", {})]
    history = loaded(events)
    change = history.change_at(2)
    assert [(c.path, c.old, c.new) for c in change.changed] == [(("name",), "a", "b")]
    assert [c.path for c in history.change_at(3).added] == [("deleted",)]
    assert [c.path for c in history.change_at(1).added] == [("id",), ("name",)]


def test_version_at_bisects_times_and_falls_back_when_they_go_backwards():
    events = account_events(100)
    history = loaded(events)
    assert history.version_at(events[41].time) == 42
    assert history.version_at(events[41].time + timedelta(microseconds=1)) == 42
    assert history.version_at(T0 - timedelta(days=400)) == 0
    assert history.version_at(events[-1].time + timedelta(days=1)) == 100

    minutes = [1, 2, 5, 3, 6]
    bad = [event("s", v, "X", time=T0 + timedelta(minutes=m)) for v, m in enumerate(minutes, start=1)]
    history = loaded(bad)
    assert history.version_at(T0 + timedelta(minutes=4)) == 4  # the last event recorded at or before
    assert history.version_at(T0 + timedelta(minutes=2)) == 2
    assert history.version_at(T0) == 0


# -- persistent states ---------------------------------------------------------------------------

STATE_MUTATIONS = {
    "setitem": lambda s: s.__setitem__("n", 1),
    "delitem": lambda s: s.__delitem__("n"),
    "update": lambda s: s.update(n=1),
    "pop": lambda s: s.pop("n"),
    "popitem": lambda s: s.popitem(),
    "clear": lambda s: s.clear(),
    "setdefault": lambda s: s.setdefault("m", 1),
    "ior": lambda s: s.__ior__({"n": 1}),
    "list append": lambda s: s["items"].append(1),
    "list extend": lambda s: s["items"].extend([1]),
    "list sort": lambda s: s["items"].sort(),
    "list setitem": lambda s: s["items"].__setitem__(0, 1),
    "list pop": lambda s: s["items"].pop(),
    "nested update": lambda s: s["nested"].update(x=1),
}


@pytest.mark.parametrize("keys", [0, 500])  # a small state (a dict inside) and a large one (a trie)
@pytest.mark.parametrize("mutation", STATE_MUTATIONS)
def test_every_mutation_of_the_input_state_is_a_located_error(mutation, keys):
    mutate = STATE_MUTATIONS[mutation]

    def evolve(state, ev):
        if ev.version == 1:
            return {"n": 0, "items": [3, 1, 2], "nested": {"x": 0}, **{f"k{i}": i for i in range(keys)}}
        mutate(state)
        return state

    with pytest.raises(ReducerError) as caught:
        fold({}, [event("acc-7", 1, "Opened"), event("acc-7", 2, "Ticked")], reducer_of(evolve))
    error = caught.value
    assert (error.stream_id, error.version, error.event_type) == ("acc-7", 2, "Ticked")
    assert "mutated its input state" in str(error)


def test_reducers_written_the_plain_way_still_work_and_get_frozen_states():
    def evolve(state, ev):
        if ev.version == 1:
            return {"items": [], "seen": {}}  # a plain dict with plain values
        return {**state, "items": state["items"] + [ev.version], "seen": {**state["seen"], ev.version: True}}

    events = [event("s", v, "Added") for v in range(1, 200)]
    history = LoadedStream("s", reducer_of(evolve), checkpoint_every=32)
    history.extend(events)
    assert history.error is None
    state = history.state
    assert type(state) is FrozenMap and type(state["items"]) is FrozenList and type(state["seen"]) is FrozenMap
    assert state == {"items": list(range(2, 200)), "seen": dict.fromkeys(range(2, 200), True)}
    assert history.state_at(100)["items"] == list(range(2, 101))


def test_persistent_reducers_fold_like_plain_ones():
    def plain(state, ev):
        return {**state, f"sku-{ev.version % 300}": ev.version, "log": [*state.get("log", ()), ev.version][-50:]}

    def persistent(state, ev):
        log = state.get("log", FrozenList()) + [ev.version]
        return state.set(f"sku-{ev.version % 300}", ev.version).set("log", log[-50:])

    events = [event("s", v, "Counted") for v in range(1, 1500)]
    a = LoadedStream("s", reducer_of(plain), checkpoint_every=64)
    b = LoadedStream("s", reducer_of(persistent), checkpoint_every=64)
    a.extend(events)
    b.extend(events)
    for v in random.Random(2).sample(range(0, 1500), 60):
        assert a.state_at(v) == b.state_at(v) == fold({}, events[:v], reducer_of(plain))
        assert list(a.state_at(v)) == list(b.state_at(v))  # the same key order


def test_checkpoints_of_a_growing_state_share_structure():
    import tracemalloc

    from model.freeze import freeze_each

    n = 20_000
    datas = freeze_each([{"warehouse": "w"}] + [{f"sku-{i}": i} for i in range(1, n)])
    events = [event("inv", i + 1, "StockCounted" if i else "InventoryOpened", d) for i, d in enumerate(datas)]
    tracemalloc.start()
    history = LoadedStream("inv", default_reducer(), checkpoint_every=100)
    history.extend(events)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert history.checkpoints == n // 100 + 1 and len(history.state) == n
    # 200 checkpoints of a state growing to 20,000 keys: copies would hold 2,000,000 entries
    # (over 80 MiB); shared, each holds what changed since the one before.
    assert size < 30 * 2**20, size
    assert history.state_at(12_345) == {"warehouse": "w", **{f"sku-{i}": i for i in range(1, 12_345)}}


def test_change_at_on_a_large_state_is_what_the_event_changed():
    def evolve(state, ev):
        if ev.version == 1:
            return {"items": [], **{f"k{i}": 0 for i in range(5000)}}
        # Several changes in one event: the state before and after still compare by what changed.
        return state.set(f"k{ev.version}", ev.version).set("items", state["items"] + [ev.version]).delete(f"k{ev.version + 2000}")

    events = [event("s", v, "Changed") for v in range(1, 400)]
    history = LoadedStream("s", reducer_of(evolve), checkpoint_every=50)
    history.extend(events)
    from model.freeze import changed_keys

    # 100 and 150 are checkpoints: the state after them must still derive from the one before
    for v in (2, 77, 100, 150, 399):
        before, after = history.state_at(v - 1), history.state_at(v)
        assert changed_keys(before, after) is not None and changed_keys(before["items"], after["items"]) is not None
        change = history.change_at(v)
        assert [(c.path, c.old, c.new) for c in change.changed] == [((f"k{v}",), 0, v)]
        assert [(c.path, c.new) for c in change.added] == [(("items", v - 2), v)]
        assert [(c.path, c.old) for c in change.removed] == [((f"k{v + 2000}",), 0)]
        assert change == diff_of_copies(before, after)


def diff_of_copies(before, after):
    from model.diff import diff
    from model.freeze import thaw

    return diff(thaw(before), thaw(after))

