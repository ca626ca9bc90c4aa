"""The command line with a foreign store's stream list cache: built once, then answered from it."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from bson import Int64

from tests.layouts import documents as docs


@pytest.fixture
def mongo_args(mongo_uri, mongo_db_name):
    return ["--uri", mongo_uri, "--db", mongo_db_name]


@pytest.fixture
def tool_db(mongo_client, mongo_db_name):
    from store.codec import CODEC_OPTIONS

    return mongo_client.get_database(mongo_db_name, codec_options=CODEC_OPTIONS)


def cache_of(mongo_uri: str, db: str, layout: str):
    from store.catalogue_cache import CatalogueCache
    from store.layout import load_layout

    return CatalogueCache.for_store(mongo_uri, db, load_layout(layout))


def listed(result) -> list[str]:
    return [row["stream_id"] for row in json.loads(result.out)]


def test_streams_builds_the_cache_once_and_answers_from_it(tool_db, mongo_args, mongo_uri, mongo_db_name, cli):
    tool_db["domainevents"].insert_many([docs.axon_entry(f"order-{i}", "Order", 0, i, "com.shop.OrderCreated", {})
                                         for i in (1, 2, 10, 11)])
    first = cli("streams", "--json", "--layout", "axon", *mongo_args)
    assert first.code == 0 and listed(first) == ["order-1", "order-2", "order-10", "order-11"]
    built = cache_of(mongo_uri, mongo_db_name, "axon").meta
    assert built is not None
    again = cli("streams", "--layout", "axon", "--limit", "2", *mongo_args)
    assert again.code == 0 and "order-2" in again.out and "order-10" not in again.out
    assert "showing 2 of 4 streams" in again.err and "cache" not in again.err  # checked just now: nothing to say
    assert cache_of(mongo_uri, mongo_db_name, "axon").meta.built_at == built.built_at


def test_new_documents_show_at_the_next_command_or_with_refresh(tool_db, mongo_args, mongo_client, cli):
    tool_db["domainevents"].insert_many([docs.axon_entry("order-1", "Order", 0, 0, "com.shop.OrderCreated", {})])
    assert listed(cli("streams", "--json", "--layout", "axon", *mongo_args)) == ["order-1"]
    tool_db["domainevents"].insert_many([docs.axon_entry("order-1", "Order", 1, 5, "com.shop.OrderPaid", {}),
                                         docs.axon_entry("order-7", "Order", 0, 6, "com.shop.OrderCreated", {})])
    # a stream named is never refused for a list that does not know its new events yet
    state = cli("state", "order-1", "--version", "2", "--layout", "axon", *mongo_args)
    assert state.code == 0 and "state at version 2" in state.err
    plain = cli("streams", "--json", "--layout", "axon", *mongo_args)
    if "ferretdbVersion" in mongo_client.admin.command("buildInfo"):
        assert listed(plain) == ["order-1"]  # FerretDB: nothing cheap tells what changed; the list keeps its age
    else:
        assert listed(plain) == ["order-1", "order-7"]  # MongoDB: counts from metadata, then the new documents
    result = cli("streams", "--json", "--refresh", "--layout", "axon", *mongo_args)
    assert listed(result) == ["order-1", "order-7"] and json.loads(result.out)[0]["events"] == 2


def emmett_db(tool_db) -> None:
    for collection, documents in docs.emmett_documents().items():
        tool_db[collection].insert_many(documents)


def test_an_old_cache_says_its_age_and_a_rebuild_reads_it_again(tool_db, mongo_args, mongo_uri, mongo_db_name, cli):
    emmett_db(tool_db)
    assert cli("streams", "--layout", "emmett", *mongo_args).code == 0
    cache = cache_of(mongo_uri, mongo_db_name, "emmett")
    meta = cache.meta
    assert meta is not None and not meta.incremental  # stream documents grow in place: no quick refresh
    meta.refreshed_at -= timedelta(minutes=3)
    cache.touch(meta)  # as if built three minutes ago
    tool_db["emt:shopping_cart"].update_one(
        {"streamName": "shopping_cart:cart-2"},
        {"$push": {"messages": {"type": "ProductItemAdded", "data": {"productId": "cap"},
                                "metadata": {"streamPosition": Int64(2)}}},
         "$set": {"metadata.streamPosition": Int64(2)}})

    old = cli("streams", "--json", "--match", "cart-2", "--layout", "emmett", *mongo_args)
    assert "stream list from the cache refreshed 3 minutes ago; --refresh reads what changed" in old.err
    assert old.err.count("\n") == 1
    assert json.loads(old.out)[0]["events"] == 1  # as the cache has it
    # one stream asked for by name is read from its own documents: never refused for an old list
    state = cli("state", "shopping_cart:cart-2", "--version", "2", "--layout", "emmett", *mongo_args)
    assert state.code == 0, state.err

    rebuilt = cli("catalogue", "rebuild", "--read-only", "--layout", "emmett", *mongo_args)
    assert rebuilt.code == 0 and "read the stream list again: 3 streams" in rebuilt.out
    fresh = cli("streams", "--json", "--match", "cart-2", "--layout", "emmett", *mongo_args)
    assert json.loads(fresh.out)[0]["events"] == 2 and "cache" not in fresh.err


def test_a_damaged_cache_is_one_note_and_the_list_still_answers(tool_db, mongo_args, mongo_uri, mongo_db_name, cli):
    tool_db["domainevents"].insert_many([docs.axon_entry("order-1", "Order", 0, 0, "com.shop.OrderCreated", {})])
    assert cli("streams", "--layout", "axon", *mongo_args).code == 0
    cache_of(mongo_uri, mongo_db_name, "axon").path.write_bytes(b"garbage" * 50)
    result = cli("streams", "--json", "--layout", "axon", *mongo_args)
    assert result.code == 0 and listed(result) == ["order-1"]
    assert result.err.count("\n") == 1 and "was not used" in result.err and "building it again" in result.err
