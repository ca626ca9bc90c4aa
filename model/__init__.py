"""The domain of EventLens: events, reducers, reconstruction, snapshots, diffs and integrity checks.

Pure Python: nothing here imports Qt or a database driver (checked by import-linter).
"""
