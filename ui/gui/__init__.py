"""The window: Qt widgets bound to the session layer's state; long work runs in the worker."""
