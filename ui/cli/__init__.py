"""The command line: parses arguments, calls the session layer, prints. Imports no Qt."""
from ui.cli.entry import COMMANDS, build_parser, main, parse_args

__all__ = ["COMMANDS", "build_parser", "main", "parse_args"]
