"""`layout show`, `layout detect` and --layout (issue 4): foreign stores are MongoDB databases."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def mongo_args(mongo_uri, mongo_db_name):
    return ["--uri", mongo_uri, "--db", mongo_db_name]


@pytest.fixture
def seed_db(mongo_client, mongo_db_name):
    """A database in the seed's (Clojure + monger) shape, written as that tool writes it."""
    from tests.layouts.documents import seed_documents

    events, snapshots = seed_documents()
    db = mongo_client[mongo_db_name]
    db.events.insert_many(events)
    db.snapshots.insert_many(snapshots)
    return db


def test_layout_show_prints_a_preset(cli):
    result = cli("layout", "show", "seed")
    assert result.code == 0, result.err
    assert 'name = "seed"' in result.out and "aggregate-id" in result.out


def test_layout_show_unknown_is_one_line(cli):
    result = cli("layout", "show", "no-such-layout")
    assert result.code == 1 and result.err.startswith("eventlens: ") and result.err.count("\n") == 1


def test_layout_detect_recognises_the_native_layout(mongo_args, cli):
    assert cli("demo", "--streams", "2", "--events-per-stream", "3", *mongo_args).code == 0
    result = cli("layout", "detect", *mongo_args)
    assert result.code == 0, result.err
    assert 'name = "eventlens"' in result.out


def test_layout_detect_recognises_the_seed_store_and_commands_use_it(seed_db, mongo_args, cli):
    detected = cli("layout", "detect", *mongo_args)
    assert detected.code == 0, detected.err
    assert 'name = "seed"' in detected.out
    # Without --layout the certain detection is used; with it, the same result.
    implicit = cli("streams", "--json", *mongo_args)
    assert implicit.code == 0, implicit.err
    assert "detected layout 'seed'" in implicit.err
    explicit = cli("streams", "--json", "--layout", "seed", *mongo_args)
    assert json.loads(implicit.out) == json.loads(explicit.out)
    assert [(s["stream_id"], s["events"]) for s in json.loads(explicit.out)] == [("user-1", 4), ("user-2", 2), ("user-3", 1)]
    state = cli("state", "user-1", "--version", "3", "--layout", "seed", *mongo_args)
    assert json.loads(state.out) == {"id": "user-1", "name": "Ada Lovelace", "email": "ada@example.org"}


def test_foreign_stores_are_not_written(seed_db, mongo_args, cli):
    before = sorted(map(str, seed_db.events.distinct("_id")))
    result = cli("demo", "--streams", "1", "--events-per-stream", "2", *mongo_args)
    assert result.code == 1 and result.err.count("\n") <= 2  # the layout note, then one error line
    assert result.err.splitlines()[-1].startswith("eventlens: ")
    assert sorted(map(str, seed_db.events.distinct("_id"))) == before


def test_undecided_detection_names_the_fields(mongo_client, mongo_db_name, mongo_args, cli):
    mongo_client[mongo_db_name].stuff.insert_many([{"colour": f"c{i % 3}", "weight": i * 1.5} for i in range(20)])
    detected = cli("layout", "detect", *mongo_args)
    assert detected.code == 1
    assert "undecided" in detected.err and "Traceback" not in detected.err
    listed = cli("streams", *mongo_args)
    assert listed.code == 1
    assert listed.err.startswith("eventlens: ") and listed.err.count("\n") == 1
    assert "--layout" in listed.err and "undecided" in listed.err


def test_layout_detect_needs_a_server(tmp_path, cli):
    result = cli("layout", "detect", "--uri", tmp_path / "x.sqlite")
    assert result.code == 1 and "MongoDB" in result.err and result.err.count("\n") == 1
