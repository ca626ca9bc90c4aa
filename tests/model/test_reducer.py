"""The generic reducer against the seed, and reducers loaded from files."""
import random
from pathlib import Path

import pytest

from model.errors import ReducerLoadError
from model.event import NewEvent
from model.freeze import freeze
from model.reducer import default_reducer, event_role, load_reducer
from model.replay import fold
from tests.model.helpers import event, make_events

REDUCERS = Path(__file__).resolve().parents[2] / "resources" / "reducers"


def apply_user_event(user: dict, ev) -> dict:
    """The seed's apply-user-event (and apply-event for created/updated/deleted), word for word:

    (cond (instance? UserCreated event) (assoc user :id (:id event) :name (:name event))
          (instance? UserUpdated event) (assoc user :name (:name event))
          (instance? UserDeleted event) (assoc user :deleted true)
          :else user)
    """
    if ev.type in ("UserCreated", "created"):
        return {**user, "id": ev.data.get("id"), "name": ev.data.get("name")}
    if ev.type in ("UserUpdated", "updated"):
        return {**user, "name": ev.data.get("name")}
    if ev.type in ("UserDeleted", "deleted"):
        return {**user, "deleted": True}
    return user


def seed_history(rng: random.Random, names: tuple[str, str, str]) -> list[NewEvent]:
    created, updated, deleted = names
    user_id = f"user-{rng.randrange(1000)}"
    history = [NewEvent(created, {"id": user_id, "name": f"name-{rng.randrange(100)}"})]
    for _ in range(rng.randrange(6)):
        history.append(NewEvent(updated, {"id": user_id, "name": f"name-{rng.randrange(100)}"}))
    if rng.random() < 0.5:
        history.append(NewEvent(deleted, {"id": user_id}))
    return history


@pytest.mark.parametrize("names", [("UserCreated", "UserUpdated", "UserDeleted"), ("created", "updated", "deleted")])
@pytest.mark.parametrize("seed", range(25))
def test_generic_reducer_yields_the_seed_states_at_every_step(names, seed):
    events = make_events("user-1", seed_history(random.Random(seed), names))
    reducer = default_reducer()
    expected, state = {}, freeze({})
    for ev in events:
        expected = apply_user_event(expected, ev)
        state = reducer.evolve(state, ev)
        assert state == expected


def test_seed_example_by_hand():
    events = make_events(
        "user-7",
        [
            NewEvent("UserCreated", {"id": "user-7", "name": "Ada"}),
            NewEvent("UserUpdated", {"id": "user-7", "name": "Ada Lovelace"}),
            NewEvent("UserDeleted", {"id": "user-7"}),
        ],
    )
    assert fold({}, events, default_reducer()) == {"id": "user-7", "name": "Ada Lovelace", "deleted": True}


@pytest.mark.parametrize(
    "event_type, kind",
    [
        ("UserCreated", "created"), ("created", "created"), ("AccountOpened", "created"),
        ("user.registered", "created"), ("JobStarted", "created"), ("ItemAdded", "changed"), ("ItemRemoved", "changed"),
        ("user_created.v2", "created"), ("USER_CREATED", "created"),
        ("UserDeleted", "deleted"), ("AccountClosed", "deleted"), ("OrderArchived", "deleted"),
        ("UserUpdated", "changed"), ("FundsDeposited", "changed"), ("Disclosed", "changed"), ("Readded", "changed"),
        ("", "changed"),
    ],
)
def test_event_kinds(event_type, kind):
    assert event_role(event_type) == kind


def test_generic_merge_is_shallow_and_shares_untouched_values():
    reducer = default_reducer()
    before = freeze({"profile": {"age": 3}, "name": "a"})
    after = reducer.evolve(before, event("s", 2, "Renamed", {"name": "b"}))
    assert after == {"profile": {"age": 3}, "name": "b"}
    assert after["profile"] is before["profile"]
    assert before == {"profile": {"age": 3}, "name": "a"}


def test_deleted_keeps_the_rest_and_created_replaces():
    reducer = default_reducer()
    state = reducer.evolve(freeze({"a": 1}), event("s", 2, "Deleted", {"a": 9}))
    assert state == {"a": 1, "deleted": True}
    assert reducer.evolve(state, event("s", 3, "Registered", {"b": 2})) == {"b": 2}


def test_default_reducer_identity_is_stable():
    a, b = default_reducer(), default_reducer()
    assert a.id == b.id and a.id.name == "generic" and len(a.id.fingerprint) == 64
    assert a.known_types is None


def test_users_reducer_file_one_function_per_type():
    reducer = load_reducer(REDUCERS / "users.py")
    assert reducer.known_types == {"UserCreated", "UserUpdated", "UserDeleted"}
    assert reducer.id.name == "users"
    rng = random.Random(3)
    for _ in range(10):
        events = make_events("u", seed_history(rng, ("UserCreated", "UserUpdated", "UserDeleted")))
        expected = {}
        for ev in events:
            expected = apply_user_event(expected, ev)
        assert fold({}, events, reducer) == expected


def test_accounts_reducer_file_with_evolve_matches_demo_balances():
    from model.demo import demo_streams

    reducer = load_reducer(REDUCERS / "accounts.py")
    assert reducer.id.name == "accounts" and "FundsDeposited" in reducer.known_types
    for stream in demo_streams(streams=6, events_per_stream=80, seed=5):
        if stream.stream_type != "account":
            continue
        events = make_events(stream.stream_id, stream.events)
        state = fold({}, events, reducer)
        assert state["balance"] == events[-1].data["balance"]
        assert state["transactions"] == 79


def test_handlers_dict_and_fingerprint_of_file_bytes(tmp_path):
    import hashlib

    path = tmp_path / "counter.py"
    path.write_text(
        "def _bump(state, event):\n    return {**state, 'n': state.get('n', 0) + 1}\n"
        "HANDLERS = {'Ticked': _bump}\n"
    )
    reducer = load_reducer(path)
    assert reducer.id.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reducer.known_types == {"Ticked"}
    events = [event("c", 1, "Ticked"), event("c", 2, "Other"), event("c", 3, "Ticked")]
    assert fold({}, events, reducer) == {"n": 2}


def test_helper_functions_with_other_arities_are_not_handlers(tmp_path):
    path = tmp_path / "r.py"
    path.write_text("def money(x):\n    return x\n\ndef Paid(state, event):\n    return {'paid': money(1)}\n")
    assert load_reducer(path).known_types == {"Paid"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("def evolve(state, event)\n    return state\n", "syntax error at line 1"),
        ("x = 1\n", "defines no evolve"),
        ("raise RuntimeError('boom')\n", "failed while loading: RuntimeError: boom"),
        ("HANDLERS = {'A': 1}\n", "HANDLERS must map"),
    ],
)
def test_bad_reducer_files_give_one_clear_line(tmp_path, text, message):
    path = tmp_path / "bad.py"
    path.write_text(text)
    with pytest.raises(ReducerLoadError) as caught:
        load_reducer(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_reducer_file(tmp_path):
    with pytest.raises(ReducerLoadError, match="cannot read reducer file"):
        load_reducer(tmp_path / "nope.py")


def test_the_generic_reducer_keeps_states_persistent():
    from model.freeze import SMALL_MAP, FrozenDict, FrozenMap, changed_keys, freeze_each, settle

    reducer = default_reducer()
    payload = freeze_each([{"id": "inv-1", "tags": ["a"], "address": {"city": "Ghent"}}])[0]
    assert type(payload) is FrozenDict
    created = reducer.evolve(freeze({}), event("s", 1, "InventoryCreated", payload))
    assert type(created) is FrozenMap and created == payload  # the payload made a persistent state
    assert created["address"] is payload["address"]  # its nested values shared, not copied
    state = created
    for i in range(300):
        settle(state)
        before = state
        state = reducer.evolve(state, event("s", i + 2, "StockCounted", freeze_each([{f"sku-{i}": i}])[0]))
        if len(before) > SMALL_MAP:  # a trie, whose trace says what the merge changed
            assert changed_keys(before, state) == (f"sku-{i}",)
    assert len(state) == 303 and list(state)[:4] == ["id", "tags", "address", "sku-0"]
    deleted = reducer.evolve(state, event("s", 400, "InventoryClosed", {}))
    assert deleted["deleted"] is True and "deleted" not in state
    assert reducer.evolve({"a": 1}, event("s", 2, "Changed", {"b": [1]})) == {"a": 1, "b": [1]}  # a plain dict in
