"""Fixtures for layout tests: a database to fill in a tool's shape, and stores reading it by layout."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest


@pytest.fixture
def tool_db(mongo_client, mongo_db_name):
    """A fresh database to write documents into exactly as another tool would."""
    from store.codec import CODEC_OPTIONS

    return mongo_client.get_database(mongo_db_name, codec_options=CODEC_OPTIONS)


@pytest.fixture
def open_layout(mongo_uri, mongo_db_name) -> Iterator[Callable]:
    """``open_layout(layout, read_only=False)``: a LayoutStore on the test database (closed afterwards)."""
    from pymongo import MongoClient

    from store.codec import CODEC_OPTIONS
    from store.layout_store import open_layout_store

    stores = []

    def open_(layout, read_only: bool = False):
        client = MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
        store = open_layout_store(client, mongo_db_name, layout, read_only=read_only)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()
