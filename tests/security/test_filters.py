"""User input stays data: search text is literal, layout filters cannot run JavaScript or write,
layout files are never code, and a reducer file runs only when the user names it."""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
import subprocess
import sys
from pathlib import Path

import pytest

from model.errors import LayoutError
from model.event import NewEvent, ReducerId
from store.connect import open_store
from store.layout import parse_layout

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)

STREAM_IDS = ["a.b", "aXb", "a*b", "ab", "x$where", '{"$where": "sleep(100)"}', "(evil)|.*", "back\\slash",
              "brack[et]", "caret^dollar$", "plus+q?", "UPPER.case", "this.x == 1", "'; return true; '"]
SEARCHES = [".", "*", ".*", "$where", '{"$where"', "(evil)|.*", "\\", "[et]", "^", "$", "+q?", "a.b", "upper.",
            "this.x", "return true", "'; "]


@pytest.fixture
def filled(store):
    for i, stream_id in enumerate(STREAM_IDS):
        store.append(stream_id, [NewEvent("Happened", {"i": i})], 0, stream_type="thing" if i % 2 else "other")
    return store


def expected_matches(text: str) -> list[str]:
    """What the stream filter means (README, "Stream filters"), worked out with the standard library:
    text without *, ? or [ is a literal case-insensitive substring, text with them a glob (fnmatch)."""
    import fnmatch

    if set("*?[") & set(text):
        return sorted(s for s in STREAM_IDS if fnmatch.fnmatchcase(s, text))
    return sorted(s for s in STREAM_IDS if text.lower() in s.lower())


@pytest.mark.parametrize("text", SEARCHES)
def test_stream_search_text_is_taken_literally(filled, text):
    """Text is literal, globs are globs over the whole id: neither ever becomes a server operator or a regex."""
    expected = expected_matches(text)
    found = sorted(i.stream_id for i in filled.streams(match=text, limit=100))
    assert found == expected
    assert filled.count_streams(match=text) == len(expected)


@pytest.mark.parametrize("kind", ['{"$ne": ""}', "$where", ".*", "thing|other", "THING"])
def test_type_filter_is_an_exact_value(filled, kind):
    assert filled.streams(type=kind, limit=100) == []
    assert filled.count_streams(type=kind) == 0


def test_cli_search_is_literal(store, backend, request, capsys):
    from ui.cli import main

    for i, stream_id in enumerate(STREAM_IDS):
        store.append(stream_id, [NewEvent("Happened", {"i": i})], 0)
    uri = ["--uri", str(store.path)] if backend == "embedded" else \
        ["--uri", request.getfixturevalue("mongo_uri"), "--db", request.getfixturevalue("mongo_db_name")]
    import json

    assert main(["streams", "--match", "(evil)|.", "--json", *uri]) == 0
    assert [r["stream_id"] for r in json.loads(capsys.readouterr().out)] == ["(evil)|.*"]
    assert main(["streams", "--match", "re:^a.b$", "--json", *uri]) == 0  # a regex only when it says so
    assert [r["stream_id"] for r in json.loads(capsys.readouterr().out)] == ["a*b", "a.b", "aXb"]


# -- layout filters ----------------------------------------------------------------------------

LAYOUT = """
name = "hostile"
[events]
collection = "events"
stream_id = "stream_id"
type = "type"
time = "recorded_at"
version_field = "version"
{filter}
"""

HOSTILE_FILTERS = {
    "$where at the top": 'filter = { "$where" = "sleep(1000) || true" }',
    "$where inside $or": 'filter = { "$or" = [ { "a" = 1 }, { "$where" = "true" } ] }',
    "$function under a field": 'filter = { "a" = { "$function" = { body = "function() { return true }", args = [], lang = "js" } } }',
    "$accumulator under a field": 'filter = { "a" = { "$accumulator" = { init = "function() {}" } } }',
    "$expr with $function": 'filter = { "$expr" = { "$function" = { body = "x", args = [], lang = "js" } } }',
    "$where hidden inside a value": 'filter = { "a" = { "b" = { "$where" = "true" } } }',
    "$where inside $in": 'filter = { "a" = { "$in" = [ { "$where" = "true" } ] } }',
    "$out (a write)": 'filter = { "$out" = "stolen" }',
    "$merge (a write)": 'filter = { "$merge" = { into = "stolen" } }',
    "$regex (not allowed)": 'filter = { "a" = { "$regex" = ".*" } }',
    "field name with $": 'filter = { "a.$where" = 1 }',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILTERS))
def test_layout_filters_that_could_run_code_or_write_are_refused(name):
    with pytest.raises(LayoutError) as caught:
        parse_layout(LAYOUT.format(filter=HOSTILE_FILTERS[name]), source="hostile.toml")
    assert "\n" not in str(caught.value)
    assert re.search(r"not allowed|may not|operator|belongs", str(caught.value)), str(caught.value)


def test_plain_layout_filters_are_accepted():
    layout = parse_layout(LAYOUT.format(filter='filter = { "BucketId" = { "$ne" = ":rb" }, "tenant" = "acme" }'))
    assert dict(layout.events.filter) == {"BucketId": {"$ne": ":rb"}, "tenant": "acme"}


def test_cli_refuses_a_hostile_layout_file_before_connecting(tmp_path, closed_port_uri, capsys):
    from ui.cli import main

    path = tmp_path / "hostile.toml"
    path.write_text(LAYOUT.format(filter=HOSTILE_FILTERS["$where at the top"]), encoding="utf-8")
    assert main(["streams", "--uri", closed_port_uri, "--layout", str(path), "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert "$where" in err and "not allowed" in err and "unreachable" not in err


# -- code only when named ------------------------------------------------------------------------

MARKER_REDUCER = """
from pathlib import Path
Path({marker!r}).write_text("imported")

def evolve(state, event):
    return {{**state, "seen": event.version}}
"""


def test_reducer_files_run_only_when_named(tmp_path):
    """Reducer-looking files in the working directory, the EventLens home and beside the store are never imported."""
    marker = tmp_path / "imported.txt"
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    store_path = work / "events.sqlite"
    with open_store(str(store_path), create=True) as store:
        store.append("acct-1", [NewEvent("Opened", {"owner": "ann"})], 0)
    for folder in (home, work):
        for name in ("reducer.py", "reducers.py", "evolve.py", "eventlens_reducer.py", "sitecustomize.py"):
            (folder / name).write_text(MARKER_REDUCER.format(marker=str(marker)), encoding="utf-8")
    env = {**os.environ, "EVENTLENS_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "main.py"), *argv, "--uri", str(store_path)],
                              capture_output=True, cwd=work, env=env, timeout=60)

    for argv in (["streams"], ["state", "acct-1"], ["check"], ["snapshot", "verify", "acct-1"], ["events", "acct-1"]):
        result = run(*argv)
        assert result.returncode in (0, 1), result.stderr
        assert not marker.exists(), f"{argv} imported a reducer file nobody named"
    result = run("state", "acct-1", "--reducer", str(work / "reducer.py"))
    assert result.returncode == 0, result.stderr
    assert marker.exists() and b'"seen": 1' in result.stdout


def test_a_layout_file_is_data_never_code(tmp_path, closed_port_uri, capsys):
    from ui.cli import main

    marker = tmp_path / "ran.txt"
    for text in (f"import os\nos.system('touch {marker}')\n",
                 LAYOUT.format(filter="") + f'reducer = "{tmp_path / "evil.py"}"\n',
                 LAYOUT.format(filter="") + f'[events.code]\nexec = "open({str(marker)!r}, \'w\')"\n'):
        path = tmp_path / "layout.toml"
        path.write_text(text, encoding="utf-8")
        (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w')\n", encoding="utf-8")
        with pytest.raises(LayoutError) as caught:
            parse_layout(text, source=str(path))
        assert "\n" not in str(caught.value)
        assert main(["streams", "--uri", closed_port_uri, "--layout", str(path), "--timeout", "1"]) == 1
        assert capsys.readouterr().err.startswith("eventlens: ")
        assert not marker.exists()


@pytest.mark.parametrize("stream_id", [{"$gt": ""}, {"$regex": ".*"}, {"$where": "true"}, ["secret-1"], 1])
def test_a_stream_id_that_is_not_a_string_never_becomes_a_query_operator(mongo_store, stream_id):
    mongo_store.append("secret-1", [NewEvent("PinSet", {"pin": 1234})], 0)
    for call in (lambda: mongo_store.stream(stream_id), lambda: list(mongo_store.read(stream_id)),
                 lambda: mongo_store.snapshots(stream_id), lambda: mongo_store.version_at(stream_id, NOW),
                 lambda: mongo_store.latest_snapshot(stream_id, at_or_before=5, reducer=ReducerId("d", "f"))):
        with pytest.raises(TypeError, match="stream_id must be a string"):
            call()
