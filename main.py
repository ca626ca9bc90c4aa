"""EventLens entry point: no sub-command opens the GUI, a sub-command runs the command line."""
from __future__ import annotations

import os
import sys
from typing import Sequence


def _run_gui(args) -> int:
    """Open the window; the GUI (ui/gui/app.py) and Qt are imported only here, so the CLI never needs them."""
    try:
        from ui.gui.app import run
    except ModuleNotFoundError as missing:
        if os.environ.get("EVENTLENS_DEBUG") == "1":
            raise
        if missing.name in ("ui.gui.app", "ui"):
            sys.stderr.write("eventlens: the GUI is not built yet (ui/gui/app.py); use a command, see --help\n")
        else:
            sys.stderr.write(f"eventlens: the GUI needs {missing.name}, which is not installed; "
                             "the commands work without it (see --help)\n")
        return 1
    return int(run(uri=args.uri, db=args.db, layout=args.layout, read_only=args.read_only,
                   timeout_s=args.timeout) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run EventLens with ``argv`` (default: the process arguments); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from ui import cli

    try:
        args = cli.parse_args(argv)
    except SystemExit as exit_:  # --help and usage errors, as argparse decided
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command is not None:
        return cli.main(argv)
    return _run_gui(args)


if __name__ == "__main__":
    from ui.session.collector import tune_collector

    tune_collector()  # the process's own setting: main() itself stays free of it for the tests that call it
    sys.exit(main())
