"""Persistence: the MongoDB store, the embedded SQLite store, layouts and codecs. No Qt here."""
