"""The test servers themselves: FerretDB answers, restarts on the same port with its data."""
from pymongo import MongoClient


def test_session_server_answers_ping(mongo_client):
    assert mongo_client.admin.command("ping")["ok"] == 1


def test_private_server_restarts_with_its_data(ferretdb_factory):
    uri = ferretdb_factory.uri
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        client.db.things.insert_one({"_id": 1, "kept": True})
    ferretdb_factory.stop()
    assert not ferretdb_factory.server.running
    ferretdb_factory.start()
    assert ferretdb_factory.uri == uri
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        assert client.db.things.find_one({"_id": 1}) == {"_id": 1, "kept": True}
