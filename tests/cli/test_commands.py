"""Every CLI command against both backends, in-process: outputs, exit codes and one-line errors."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from tests.cli.conftest import T0, bson_payload

STREAM_KEYS = {"stream_id", "stream_type", "events", "first_version", "last_version", "first_time", "last_time"}


def as_json(value):
    """What the CLI's JSON for ``value`` parses back to: the codec's lossless form."""
    from store.codec import dumps_json, to_jsonable

    return json.loads(dumps_json(to_jsonable(value)))


def replay(connection, stream_id, version=None):
    """The state after ``version`` by a full replay with the generic reducer, outside the CLI."""
    from model.reducer import default_reducer
    from model.replay import fold

    with connection.open() as store:
        events = [e for batch in store.read(stream_id, to_version=version) for e in batch] if version != 0 else []
    return as_json(dict(fold(None, events, default_reducer())))


def assert_one_line_error(result, *fragments):
    assert result.code == 1
    assert result.err.count("\n") == 1 and result.err.startswith("eventlens: "), result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err


# -- streams --------------------------------------------------------------------------------


def test_streams_json_has_every_field(seeded, cli):
    result = cli("streams", "--json", *seeded.args)
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["stream_id"] for r in rows] == ["blob-1", "user-1", "user-2"]
    assert all(set(r) == STREAM_KEYS for r in rows)
    user = rows[1]
    assert (user["stream_type"], user["events"], user["first_version"], user["last_version"]) == ("user", 4, 1, 4)
    assert user["first_time"] == "2024-03-01T09:00:00Z"
    assert user["last_time"] == "2024-03-01T12:00:00Z"


def test_streams_filters_sort_and_limit(seeded, cli):
    def ids(*options):
        result = cli("streams", "--json", *options, *seeded.args)
        assert result.code == 0, result.err
        return [r["stream_id"] for r in json.loads(result.out)]

    assert ids("--type", "user") == ["user-1", "user-2"]
    assert ids("--match", "USER-2") == ["user-2"]
    assert ids("--type", "blob", "--match", "user") == []
    assert ids("--sort", "events", "--descending")[0] == "user-1"
    limited = cli("streams", "--json", "--limit", "2", *seeded.args)
    assert len(json.loads(limited.out)) == 2
    assert "showing 2 of 3 streams" in limited.err


def test_streams_table_is_aligned(seeded, cli):
    result = cli("streams", *seeded.args)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["STREAM", "TYPE", "EVENTS", "FIRST", "LAST", "FIRST", "TIME", "LAST", "TIME"]
    assert len(lines) == 4
    assert lines[2].split()[:5] == ["user-1", "user", "4", "1", "4"]
    type_column = lines[0].index("TYPE")
    assert [line[type_column:].split()[0] for line in lines[1:]] == ["blob", "user", "user"]
    assert {line.index("2024") for line in lines[1:]} == {lines[0].index("FIRST TIME")}


# -- events ---------------------------------------------------------------------------------


def test_events_ndjson_keeps_bson_types(seeded, cli):
    result = cli("events", "blob-1", *seeded.args)
    assert result.code == 0, result.err
    (line,) = result.out.splitlines()
    record = json.loads(line)
    assert set(record) == {"stream_id", "version", "type", "time", "data", "metadata"}
    assert (record["stream_id"], record["version"], record["type"]) == ("blob-1", 1, "ThingRecorded")
    assert record["time"] == "2024-03-01T09:20:00Z"
    assert record["data"] == as_json(bson_payload(seeded.backend))
    assert record["metadata"] == as_json({"correlation": bson_payload()["uuid"]})
    # Types must survive: Decimal128 is not a float, Int64 not lost, ObjectId not a bare string.
    assert record["data"] != as_json({k: str(v) for k, v in bson_payload(seeded.backend).items()})


def test_events_csv_round_trips(seeded, cli):
    ndjson = [json.loads(line) for line in cli("events", "user-1", *seeded.args).out.splitlines()]
    result = cli("events", "user-1", "--format", "csv", *seeded.args)
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert list(rows[0]) == ["stream_id", "version", "type", "time", "data", "metadata"]
    parsed = [{**r, "version": int(r["version"]), "data": json.loads(r["data"]), "metadata": json.loads(r["metadata"])}
              for r in rows]
    assert parsed == ndjson
    assert [r["type"] for r in parsed] == ["UserCreated", "UserRenamed", "UserUpdated", "UserDeleted"]
    blob = list(csv.DictReader(io.StringIO(cli("events", "blob-1", "--format", "csv", *seeded.args).out)))
    assert json.loads(blob[0]["data"]) == as_json(bson_payload(seeded.backend))


def test_events_version_range(seeded, cli):
    result = cli("events", "user-1", "--from", "2", "--to", "3", *seeded.args)
    assert [json.loads(line)["version"] for line in result.out.splitlines()] == [2, 3]


# -- state and diff -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_state_at_version_equals_full_replay(seeded, cli, version):
    result = cli("state", "user-1", "--version", version, *seeded.args)
    assert result.code == 0, result.err
    assert json.loads(result.out) == replay(seeded, "user-1", version)
    assert f"state at version {version}" in result.err and "no snapshot used" in result.err


def test_state_defaults_to_the_last_version(seeded, cli):
    result = cli("state", "user-1", *seeded.args)
    assert json.loads(result.out) == replay(seeded, "user-1") == {
        "id": 1, "name": "Ada L.", "email": "ada@example.org", "tags": ["math", "engines"], "deleted": True}


@pytest.mark.parametrize(
    ("moment", "version"),
    [
        (T0, 1),
        (T0 + timedelta(minutes=90), 2),
        (T0 + timedelta(hours=2), 3),
        (T0 + timedelta(days=9), 4),
    ],
)
def test_state_at_moment_is_after_the_last_event_at_or_before_it(seeded, cli, moment, version):
    result = cli("state", "user-1", "--at", moment.isoformat(), *seeded.args)
    assert result.code == 0, result.err
    assert json.loads(result.out) == replay(seeded, "user-1", version)
    assert f"state at version {version}" in result.err


def test_state_before_the_first_event_is_an_error(seeded, cli):
    result = cli("state", "user-1", "--at", (T0 - timedelta(seconds=1)).isoformat(), *seeded.args)
    assert result.code == 1 and result.out == ""
    assert "has no event at or before" in result.err and T0.strftime("%Y-%m-%dT%H:%M:%S") in result.err


def test_events_from_after_to_is_a_usage_error(seeded, cli):
    result = cli("events", "user-1", "--from", "3", "--to", "2", *seeded.args)
    assert result.code == 2 and result.out == ""
    assert "--from 3 is after --to 2" in result.err


def test_state_uses_a_snapshot_and_still_equals_full_replay(seeded, cli):
    assert cli("snapshot", "create", "user-1", "--version", "2", *seeded.args).code == 0
    with_snapshot = cli("state", "user-1", "--version", "3", *seeded.args)
    assert "snapshot at version 2" in with_snapshot.err and "folded 1 event" in with_snapshot.err
    without = cli("state", "user-1", "--version", "3", "--no-snapshots", *seeded.args)
    assert "no snapshot used" in without.err and "folded 3 events" in without.err
    assert json.loads(with_snapshot.out) == json.loads(without.out) == replay(seeded, "user-1", 3)
    at = cli("state", "user-1", "--at", (T0 + timedelta(minutes=150)).isoformat(), *seeded.args)
    assert json.loads(at.out) == replay(seeded, "user-1", 3) and "snapshot at version 2" in at.err


def test_state_with_a_reducer_file(seeded, cli, tmp_path):
    reducer = tmp_path / "count.py"
    reducer.write_text("def evolve(state, event):\n    return {**state, 'count': state.get('count', 0) + 1}\n")
    result = cli("state", "user-1", "--reducer", reducer, *seeded.args)
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"count": 4}


def test_state_past_the_end_is_one_line(seeded, cli):
    assert_one_line_error(cli("state", "user-1", "--version", "9", *seeded.args), "user-1", "9")


def test_diff_between_versions(seeded, cli):
    result = cli("diff", "user-1", "1", "3", *seeded.args)
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "added": [{"path": "email", "value": "ada@example.org"}, {"path": "tags", "value": ["math", "engines"]}],
        "removed": [],
        "changed": [{"path": "name", "old": "Ada", "new": "Ada L."}],
    }
    same = json.loads(cli("diff", "user-1", "2", "2", *seeded.args).out)
    assert same == {"added": [], "removed": [], "changed": []}


# -- snapshots ------------------------------------------------------------------------------


def test_snapshot_create_list_verify(seeded, cli):
    created = cli("snapshot", "create", "user-1", "--version", "2", *seeded.args)
    assert created.code == 0, created.err
    assert "created snapshot of user-1 at version 2" in created.out
    assert cli("snapshot", "create", "user-1", *seeded.args).code == 0
    again = cli("snapshot", "create", "user-1", *seeded.args)
    assert again.code == 0 and "already existed" in again.out

    listed = json.loads(cli("snapshot", "list", "user-1", "--json", *seeded.args).out)
    assert [(s["version"], s["reducer"]["name"], s["created_by"]) for s in listed] == [
        (2, "generic", "eventlens cli"), (4, "generic", "eventlens cli")]
    table = cli("snapshot", "list", "user-1", *seeded.args).out.splitlines()
    assert table[0].split()[:2] == ["VERSION", "REDUCER"] and len(table) == 3

    verified = cli("snapshot", "verify", "user-1", *seeded.args)
    assert verified.code == 0, verified.out + verified.err
    assert verified.out.splitlines() == ["user-1 version 2 (generic): ok", "user-1 version 4 (generic): ok"]
    # Snapshots never change events.
    assert json.loads(cli("state", "user-1", "--no-snapshots", *seeded.args).out) == replay(seeded, "user-1")


def test_snapshot_verify_finds_a_tampered_snapshot(seeded, cli):
    from tests.cli.tamper import insert_tampered_snapshot

    assert cli("snapshot", "create", "user-1", "--version", "3", *seeded.args).code == 0
    insert_tampered_snapshot(seeded, "user-1", version=2, state={"id": 1, "name": "Mallory"})
    result = cli("snapshot", "verify", "user-1", *seeded.args)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "user-1 version 2 (generic): DIFFERS"
    assert "Mallory" in result.out and "Ada L." in result.out
    assert lines[-1] == "user-1 version 3 (generic): ok"
    assert "1 differ" in result.err


def test_snapshot_list_of_a_stream_without_snapshots(seeded, cli):
    assert json.loads(cli("snapshot", "list", "user-2", "--json", *seeded.args).out) == []
    result = cli("snapshot", "verify", "user-2", *seeded.args)
    assert result.code == 0 and "no snapshots" in result.err


def test_read_only_refuses_snapshot_create_and_changes_nothing(seeded, cli):
    result = cli("snapshot", "create", "user-1", "--read-only", *seeded.args)
    assert_one_line_error(result, "read-only")
    assert json.loads(cli("snapshot", "list", "user-1", "--json", *seeded.args).out) == []
    assert cli("events", "user-1", "--read-only", *seeded.args).code == 0  # reading is still allowed


# -- check ----------------------------------------------------------------------------------


def test_check_passes_clean_streams(seeded, cli):
    one = cli("check", "user-2", *seeded.args)
    assert (one.code, one.out) == (0, "")
    assert "checked 1 stream: no problems" in one.err
    every = cli("check", *seeded.args)
    assert every.code == 0, every.out
    assert "checked 3 streams: no problems" in every.err


def test_check_finds_a_gap_made_directly_in_the_database(seeded, cli):
    from tests.cli.tamper import delete_event

    delete_event(seeded, "user-1", version=2)
    result = cli("check", "user-1", *seeded.args)
    assert result.code == 1
    assert result.out.startswith("user-1 version ")
    assert "gap" in result.out.lower()
    every = cli("check", *seeded.args)
    assert every.code == 1 and "user-1" in every.out and "user-2" not in every.out


# -- demo and copy --------------------------------------------------------------------------


def dump_all(cli, connection):
    streams = json.loads(cli("streams", "--json", *connection.args).out)
    return streams, {s["stream_id"]: cli("events", s["stream_id"], *connection.args).out for s in streams}


def test_demo_is_deterministic(connection, other_connection, cli):
    first = cli("demo", "--streams", "6", "--events-per-stream", "30", "--seed", "42", *connection.args)
    assert first.code == 0, first.err
    assert "6 streams, 180 events" in first.out
    second = cli("demo", "--streams", "6", "--events-per-stream", "30", "--seed", "42", *other_connection.args)
    assert second.code == 0, second.err
    streams_a, events_a = dump_all(cli, connection)
    streams_b, events_b = dump_all(cli, other_connection)
    assert len(streams_a) == 6 and sum(s["events"] for s in streams_a) == 180
    assert streams_a == streams_b
    assert events_a == events_b
    assert cli("check", *connection.args).code == 0
    again = cli("demo", "--streams", "6", "--events-per-stream", "30", "--seed", "42", *connection.args)
    assert_one_line_error(again, "already holds stream")


def test_copy_into_a_file_gives_identical_events(seeded, cli, tmp_path):
    assert cli("snapshot", "create", "user-1", "--version", "2", *seeded.args).code == 0
    target = tmp_path / "audit.sqlite"
    result = cli("copy", "--to", target, "user-1", "blob-1", *seeded.args)
    assert result.code == 0, result.err
    copied = ["--uri", str(target)]
    assert [s["stream_id"] for s in json.loads(cli("streams", "--json", *copied).out)] == ["blob-1", "user-1"]
    for stream_id in ("user-1", "blob-1"):
        assert cli("events", stream_id, *copied).out == cli("events", stream_id, *seeded.args).out
    snapshots = json.loads(cli("snapshot", "list", "user-1", "--json", *copied).out)
    assert [s["version"] for s in snapshots] == [2]


def test_copy_everything(seeded, cli, tmp_path):
    target = tmp_path / "all.sqlite"
    assert cli("copy", "--to", target, *seeded.args).code == 0
    assert dump_all(cli, seeded)[1] == dump_all(cli, type(seeded)("embedded", str(target), None, ["--uri", str(target)]))[1]


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["events", "nobody-9"],
        ["state", "nobody-9"],
        ["diff", "nobody-9", "1", "2"],
        ["snapshot", "list", "nobody-9"],
        ["snapshot", "verify", "nobody-9"],
        ["snapshot", "create", "nobody-9"],
        ["check", "nobody-9"],
        ["copy", "--to", "IGNORED", "nobody-9"],
    ],
)
def test_unknown_stream_is_exit_1_and_one_line(seeded, cli, command, tmp_path):
    command = [str(tmp_path / "x.sqlite") if part == "IGNORED" else part for part in command]
    result = cli(*command, *seeded.args)
    assert_one_line_error(result, "'nobody-9' does not exist")
    assert result.out == ""


def test_demo_gives_the_same_history_on_both_backends(mongo_uri, mongo_db_name, tmp_path, cli):
    from tests.cli.conftest import Connection

    path = str(tmp_path / "demo.sqlite")
    embedded = Connection("embedded", path, None, ["--uri", path])
    mongo = Connection("mongo", mongo_uri, mongo_db_name, ["--uri", mongo_uri, "--db", mongo_db_name])
    for connection in (embedded, mongo):
        result = cli("demo", "--streams", "4", "--events-per-stream", "25", "--seed", "3", *connection.args)
        assert result.code == 0, result.err
    assert dump_all(cli, embedded) == dump_all(cli, mongo)
