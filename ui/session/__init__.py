"""The application core: every use case of EventLens, in plain Python (no Qt).

The window (``ui.gui``) binds its widgets to the state kept here and runs these use cases in
its worker; the command line (``ui.cli``) calls them directly. Neither holds a use case of
its own.
"""
