"""Property tests: whatever JSON-like payload a stream holds, `events` prints it back losslessly."""
from __future__ import annotations

import csv
import io
import itertools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00$."), min_size=1, max_size=8)
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=20) | st.floats(allow_nan=False, allow_infinity=False)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=20)
payloads = st.dictionaries(keys, values, max_size=6)
_numbers = itertools.count(1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=payloads, metadata=payloads, event_type=st.text(min_size=1, max_size=30))
def test_events_print_any_payload_back(tmp_path, cli, data, metadata, event_type):
    from model.event import NewEvent
    from store.codec import dumps_json, to_jsonable
    from store.embedded import EmbeddedStore

    path = tmp_path / "prop.sqlite"
    stream_id = f"s-{next(_numbers)}"
    with EmbeddedStore(path) as store:
        store.append(stream_id, [NewEvent(event_type, data, metadata)], 0, stream_type="prop")
    expected = json.loads(dumps_json(to_jsonable({"data": data, "metadata": metadata})))

    result = cli("events", stream_id, "--uri", path)
    assert result.code == 0, result.err
    # split("\n"), not splitlines(): JSON leaves U+0085 and U+2028 unescaped, and they are not line ends here.
    (record,) = [json.loads(line) for line in result.out.split("\n") if line]
    assert (record["type"], record["data"], record["metadata"]) == (event_type, expected["data"], expected["metadata"])

    table = cli("events", stream_id, "--format", "csv", "--uri", path)
    (row,) = csv.DictReader(io.StringIO(table.out, newline=""))
    assert row["type"] == event_type
    assert (json.loads(row["data"]), json.loads(row["metadata"])) == (expected["data"], expected["metadata"])
