import itertools

from model.demo import demo_streams
from model.reducer import default_reducer
from model.replay import fold
from tests.model.helpers import make_events


def materialise(streams):
    return [(s.stream_id, s.stream_type, list(s.events), s.snapshot_at) for s in streams]


def test_same_seed_same_history_and_other_seed_another():
    a = materialise(demo_streams(streams=6, events_per_stream=40, seed=42))
    b = materialise(demo_streams(streams=6, events_per_stream=40, seed=42))
    c = materialise(demo_streams(streams=6, events_per_stream=40, seed=43))
    assert a == b
    assert a != c


def test_domains_ids_and_snapshot_plan():
    streams = materialise(demo_streams(streams=6, events_per_stream=10, seed=1))
    assert [(sid, kind) for sid, kind, _, _ in streams] == [
        ("user-1", "user"), ("account-1", "account"), ("user-2", "user"),
        ("account-2", "account"), ("user-3", "user"), ("account-3", "account"),
    ]
    assert [snap for *_, snap in streams] == [(), (), (5,), (), (), (5,)]
    assert all(len(events) == 10 for _, _, events, _ in streams)


def test_users_follow_the_seed_domain():
    for stream in demo_streams(streams=40, events_per_stream=5, seed=3):
        if stream.stream_type != "user":
            continue
        events = list(stream.events)
        assert events[0].type == "UserCreated"
        assert {e.type for e in events[1:-1]} <= {"UserUpdated"}
        assert events[-1].type in ("UserUpdated", "UserDeleted")
        assert all(e.data["id"] == stream.stream_id for e in events)


def test_accounts_never_go_negative_and_times_increase():
    for stream in demo_streams(streams=10, events_per_stream=300, seed=9):
        events = list(stream.events)
        times = [e.time for e in events]
        assert times == sorted(times) and all(t.tzinfo is not None for t in times)
        if stream.stream_type == "account":
            balance = 0
            for e in events[1:]:
                sign = 1 if e.type in ("FundsDeposited", "TransferReceived") else -1
                balance += sign * e.data["amount"]
                assert balance == e.data["balance"] >= 0
            state = fold({}, make_events(stream.stream_id, events), default_reducer())
            assert state["balance"] == balance and state["account_id"] == stream.stream_id


def test_a_huge_stream_is_generated_lazily():
    stream = next(iter(demo_streams(streams=1, events_per_stream=10**9, seed=0)))
    first = list(itertools.islice(stream.events, 3))
    assert [e.type for e in first][0] == "UserCreated"


def test_transfers_pair_up_across_accounts_with_one_correlation_and_a_cause():
    streams = {s.stream_id: list(s.events) for s in demo_streams(streams=24, events_per_stream=60, seed=4)}
    by_event_id = {}
    for stream_id, events in streams.items():
        for version, e in enumerate(events, start=1):
            assert {"event_id", "correlation_id"} <= set(e.metadata)
            assert e.metadata["event_id"] not in by_event_id
            by_event_id[e.metadata["event_id"]] = (stream_id, version, e)
    sent = {e.data["transfer_id"]: (sid, e) for sid, events in streams.items() for e in events if e.type == "TransferSent"}
    received = [(sid, e) for sid, events in streams.items() for e in events if e.type == "TransferReceived"]
    assert sent and len(received) == len(sent)
    for stream_id, e in received:
        cause_stream, _, cause = by_event_id[e.metadata["causation_id"]]
        assert cause.type == "TransferSent" and cause_stream != stream_id
        assert cause.data["transfer_id"] == e.data["transfer_id"] and sent[e.data["transfer_id"]][0] == cause_stream
        assert cause.metadata["correlation_id"] == e.metadata["correlation_id"] == e.data["transfer_id"]
        assert cause.data["amount"] == e.data["amount"] and cause.time < e.time
        assert cause.data["to_account"] == stream_id and e.data["from_account"] == cause_stream


def test_a_stream_alone_is_the_same_as_in_the_whole_history():
    whole = {s.stream_id: list(s.events) for s in demo_streams(streams=10, events_per_stream=40, seed=2)}
    for position, stream in enumerate(demo_streams(streams=10, events_per_stream=40, seed=2)):
        if position == 7:
            assert list(stream.events) == whole[stream.stream_id]
