"""Reconstruction: latest snapshot by version plus the tail equals a full replay, at every version."""
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import CancelledError, EventLensError, StreamNotFound, VersionError
from model.event import NewEvent, ReducerId, Snapshot
from model.reconstruct import reconstruct
from model.reducer import default_reducer
from model.replay import fold
from model.snapshot import take_snapshot, verify_snapshot
from tests.model.helpers import T0, ListSource, make_events

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def random_stream(rng: random.Random, length: int) -> list:
    """A stream mixing creations, merges of nested payloads and deletions."""
    types = ["ThingCreated", "ThingChanged", "ThingChanged", "ThingChanged", "ThingRemoved", "Noted"]
    news = [NewEvent("ThingCreated", {"id": 1})]
    for _ in range(length - 1):
        key = rng.choice("abcde")
        value = rng.choice([rng.randrange(10), [rng.randrange(3)], {"x": rng.randrange(3)}, None, "s", True, 1.0])
        news.append(NewEvent(rng.choice(types), {key: value}))
    return make_events("thing-1", news)


def snapshots_for(events, versions, reducer, *, created_at=lambda v: NOW):
    return [
        Snapshot("thing-1", v, fold({}, events[:v], reducer), reducer.id, created_at(v))
        for v in versions
    ]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), length=st.integers(1, 60), data=st.data())
def test_snapshot_plus_tail_equals_full_replay_at_every_version(seed, length, data):
    reducer = default_reducer()
    events = random_stream(random.Random(seed), length)
    versions = data.draw(st.sets(st.integers(1, length), max_size=5))
    source = ListSource(events, snapshots_for(events, versions, reducer))
    for version in range(0, length + 1):
        full = fold({}, events[:version], reducer)
        result = reconstruct(source, "thing-1", reducer, version=version)
        assert result.state == full
        assert result.version == version
        usable = [v for v in versions if v <= version]
        start = max(usable, default=0)
        assert (result.snapshot.version if result.snapshot else 0) == start
        assert result.folded == version - start


def test_only_the_events_after_the_snapshot_are_read():
    reducer = default_reducer()
    events = random_stream(random.Random(1), 1000)
    source = ListSource(events, snapshots_for(events, [400, 900], reducer))
    result = reconstruct(source, "thing-1", reducer, version=950)
    assert result.snapshot.version == 900 and result.folded == 50
    assert source.events_read == 50


def test_latest_snapshot_is_chosen_by_version_not_by_creation_time():
    reducer = default_reducer()
    events = random_stream(random.Random(2), 100)
    # The snapshot at 80 was written before the one at 30.
    snaps = snapshots_for(events, [30, 80], reducer, created_at=lambda v: NOW - timedelta(days=v))
    source = ListSource(events, snaps)
    assert reconstruct(source, "thing-1", reducer).snapshot.version == 80


def test_snapshots_of_another_reducer_are_not_used():
    reducer = default_reducer()
    events = random_stream(random.Random(3), 50)
    other = Snapshot("thing-1", 40, {"wrong": True}, ReducerId("other", "f"), NOW)
    source = ListSource(events, [other])
    result = reconstruct(source, "thing-1", reducer)
    assert result.snapshot is None and result.state == fold({}, events, reducer)


def test_foreign_snapshots_only_when_trusted():
    reducer = default_reducer()
    events = random_stream(random.Random(4), 50)
    foreign = Snapshot("thing-1", 40, fold({}, events[:40], reducer), ReducerId("their-tool", "?"), NOW, foreign=True)
    source = ListSource(events, [foreign])
    assert reconstruct(source, "thing-1", reducer).snapshot is None
    trusted = reconstruct(source, "thing-1", reducer, trust_foreign=True)
    assert trusted.snapshot is foreign and trusted.folded == 10
    assert trusted.state == fold({}, events, reducer)


def test_use_snapshots_false_replays_everything():
    reducer = default_reducer()
    events = random_stream(random.Random(5), 30)
    source = ListSource(events, snapshots_for(events, [20], reducer))
    result = reconstruct(source, "thing-1", reducer, use_snapshots=False)
    assert result.snapshot is None and result.folded == 30


def test_state_at_a_moment():
    reducer = default_reducer()
    events = random_stream(random.Random(6), 30)
    source = ListSource(events)
    result = reconstruct(source, "thing-1", reducer, at=events[11].time + timedelta(seconds=1))
    assert result.version == 12 and result.state == fold({}, events[:12], reducer)
    assert reconstruct(source, "thing-1", reducer, at=T0 - timedelta(days=1)).version == 0
    with pytest.raises(EventLensError, match="no time zone"):
        reconstruct(source, "thing-1", reducer, at=datetime(2024, 1, 1))


def test_errors_are_clear():
    reducer = default_reducer()
    source = ListSource(random_stream(random.Random(7), 10))
    with pytest.raises(StreamNotFound, match="'nope' does not exist"):
        reconstruct(source, "nope", reducer)
    with pytest.raises(EventLensError, match="has no version 11: its last version is 10"):
        reconstruct(source, "thing-1", reducer, version=11)
    with pytest.raises(EventLensError, match="not both"):
        reconstruct(source, "thing-1", reducer, version=3, at=NOW)


def test_a_stream_with_a_missing_event_fails_at_the_gap():
    reducer = default_reducer()
    events = random_stream(random.Random(8), 10)
    del events[4]
    with pytest.raises(VersionError, match="expected version 5, found 6"):
        reconstruct(ListSource(events), "thing-1", reducer, version=8)


def test_cancel_and_progress():
    reducer = default_reducer()
    events = random_stream(random.Random(9), 100)
    seen = []
    reconstruct(ListSource(events), "thing-1", reducer, batch_size=30, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(30, 100), (60, 100), (90, 100), (100, 100)]
    with pytest.raises(CancelledError):
        reconstruct(ListSource(events), "thing-1", reducer, batch_size=30, cancel=lambda: True)


# -- snapshots ------------------------------------------------------------------------------


def test_take_snapshot_uses_a_full_replay_and_the_given_clock():
    reducer = default_reducer()
    events = random_stream(random.Random(10), 40)
    # A wrong snapshot in the store must not seed the new one.
    wrong = Snapshot("thing-1", 20, {"corrupt": True}, reducer.id, NOW)
    source = ListSource(events, [wrong])
    snap = take_snapshot(source, "thing-1", reducer, version=30, created_by="tester", clock=lambda: NOW)
    assert snap.version == 30 and snap.state == fold({}, events[:30], reducer)
    assert (snap.reducer, snap.created_at, snap.created_by, snap.foreign) == (reducer.id, NOW, "tester", False)
    assert type(snap.state) is dict  # plain values for the stores
    assert take_snapshot(source, "thing-1", reducer).version == 40


def test_verify_snapshot_reports_the_difference():
    reducer = default_reducer()
    events = make_events("thing-1", [NewEvent("ThingCreated", {"id": 1, "n": 1}), NewEvent("ThingChanged", {"n": 2})])
    source = ListSource(events)
    good = take_snapshot(source, "thing-1", reducer, clock=lambda: NOW)
    assert verify_snapshot(source, good, reducer).ok
    bad = Snapshot("thing-1", 2, {"id": 1, "n": 3, "extra": 0}, reducer.id, NOW)
    verification = verify_snapshot(source, bad, reducer)
    assert not verification.ok and verification.error is None
    assert verification.diff.to_dict() == {
        "added": [],
        "removed": [{"path": "extra", "value": 0}],
        "changed": [{"path": "n", "old": 3, "new": 2}],
    }


def test_verify_a_snapshot_beyond_the_stream():
    reducer = default_reducer()
    source = ListSource(random_stream(random.Random(11), 5))
    snap = Snapshot("thing-1", 9, {}, reducer.id, NOW)
    verification = verify_snapshot(source, snap, reducer)
    assert not verification.ok and "has no version 9" in str(verification.error)
