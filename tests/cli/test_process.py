"""The CLI as a real process: exit codes, one-line errors without tracebacks, no secrets in output."""
from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run_process

SECRET = "hunter2-Secret"


def assert_clean_failure(result, code=1):
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err and "Traceback" not in result.out
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("eventlens: "), result.err


def test_unreachable_server_is_one_clear_line():
    result = run_process("streams", "--uri", "mongodb://127.0.0.1:1", "--timeout", "1", timeout=60)
    assert_clean_failure(result)
    assert "127.0.0.1:1" in result.err
    assert result.out == ""


def test_bad_usage_exits_2():
    result = run_process("state", "user-1", "--version", "two")
    assert result.code == 2
    assert "usage:" in result.err and "Traceback" not in result.err


def test_commands_run_as_a_process_on_each_backend(seeded):
    listed = run_process("streams", "--json", *seeded.args)
    assert listed.code == 0, listed.err
    assert [s["stream_id"] for s in json.loads(listed.out)] == ["blob-1", "user-1", "user-2"]
    state = run_process("state", "user-1", "--version", "2", *seeded.args)
    assert state.code == 0, state.err
    assert json.loads(state.out) == {"id": 1, "name": "Ada L."}
    assert_clean_failure(run_process("events", "nobody-9", *seeded.args))
    refused = run_process("snapshot", "create", "user-1", "--read-only", *seeded.args)
    assert_clean_failure(refused)
    assert "read-only" in refused.err


def test_events_into_a_closed_pipe_ends_quietly(seeded, tmp_path):
    # `eventlens events ... | head -1`: the reader goes away; no traceback, at most one line.
    import subprocess
    import sys

    from tests.cli.conftest import ROOT

    script = f"{sys.executable} {ROOT / 'main.py'} events user-1 {' '.join(seeded.args)} | head -c 1 >/dev/null"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) <= 1


def with_password(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://alice:{SECRET}@{rest}"


@pytest.mark.parametrize(
    "command",
    [["streams"], ["events", "user-1"], ["state", "user-1"], ["check"], ["snapshot", "list", "user-1"],
     ["demo", "--streams", "1", "--events-per-stream", "1"]],
)
def test_a_password_never_appears_unreachable(command, cli):
    uri = with_password("mongodb://127.0.0.1:1/prod")
    result = cli(*command, "--uri", uri, "--timeout", "0.5")
    assert result.code == 1
    assert SECRET not in result.out + result.err
    assert result.err.startswith("eventlens: ")


def test_a_password_never_appears_with_a_real_server(mongo_uri, mongo_db_name, cli):
    uri = with_password(mongo_uri)
    outputs = []
    for command in (["demo", "--streams", "2", "--events-per-stream", "3"], ["streams"], ["streams", "--json"],
                    ["events", "user-1"], ["state", "user-1"], ["check"], ["snapshot", "create", "user-1"],
                    ["events", "nobody"], ["layout", "detect"]):
        result = cli(*command, "--uri", uri, "--db", mongo_db_name, "--timeout", "2")
        outputs.append(result.out + result.err)
    process = run_process("events", "nobody", "--uri", uri, "--db", mongo_db_name, "--timeout", "2")
    outputs.append(process.out + process.err)
    assert not [text for text in outputs if SECRET in text]


def test_the_cli_runs_without_qt(tmp_path):
    # Qt made unimportable, as on a server without it: every command still works (the GUI only is lazy).
    import subprocess
    import sys

    from tests.cli.conftest import ROOT

    path = tmp_path / "noqt.sqlite"
    code = (
        "import sys, runpy\n"
        "for name in ('PySide6', 'shiboken6', 'pyqtgraph'): sys.modules[name] = None\n"
        f"for argv in (['demo', '--streams', '2', '--events-per-stream', '3'], ['streams', '--json']):\n"
        f"    sys.argv = ['main.py', *argv, '--uri', {str(path)!r}]\n"
        "    try:\n"
        f"        runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0, exit_.code\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    wrote, listing = done.stdout.split("\n", 1)  # demo's one line, then the JSON array
    assert wrote.startswith("wrote 2 streams, 6 events")
    assert [s["stream_id"] for s in json.loads(listing)] == ["account-1", "user-1"]
