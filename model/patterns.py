"""Stream id (and event type) patterns as people type them: text, a glob, or a regular expression.

One reading for every store and the window's filter:

- ``/regex/`` or ``re:regex``: a regular expression, searched anywhere in the id (anchor it with
  ``^`` and ``$``), case-sensitive unless it says ``(?i)``;
- text with ``*``, ``?`` or ``[...]``: a glob over the whole id (``account-*``; ``[!x]`` negates, as in
  fnmatch), case-sensitive;
- any other text: a case-insensitive substring (the stream list's filter as it always was).

A regular expression that does not compile is a one-line :class:`UsageError`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from model.errors import UsageError

SUBSTRING, GLOB, REGEX = "substring", "glob", "regex"
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed pattern: its ``syntax`` (substring, glob or regex), the ``text`` typed, and the regular expression it means."""

    syntax: str
    text: str
    regex: str  # Python syntax, kept to what MongoDB's and FerretDB's engines read alike
    ignore_case: bool

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.regex, self.ignore_case)

    def matches(self, value: str) -> bool:
        return isinstance(value, str) and self.compiled().search(value) is not None

    def literal_prefix(self) -> str:
        """A prefix every match starts with (globs only; "" when there is none): lets a store seek to it."""
        if self.syntax != GLOB:
            return ""
        out = []
        for ch in self.text:
            if ch in _GLOB_CHARS:
                break
            out.append(ch)
        return "".join(out)


@lru_cache(maxsize=256)
def _compile(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def glob_regex(text: str) -> str:
    """A glob as an anchored regular expression without Python-only syntax (``\\Z``, ``(?s:``)."""
    out, i = ["^"], 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = text.find("]", i + 2 if text[i + 1: i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = text[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def parse_pattern(text: str, what: str = "stream pattern") -> Pattern:
    """Read ``text`` as a substring, a glob or a regular expression (see the module's docstring)."""
    if not isinstance(text, str):
        raise UsageError(f"{what} must be text, not {type(text).__name__}")
    regex: str | None = None
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        regex = text[1:-1]
    elif text.startswith("re:"):
        regex = text[3:]
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as error:
            raise UsageError(f"{what} {text!r}: not a regular expression: {error}") from None
        return Pattern(REGEX, text, regex, False)
    if _GLOB_CHARS & set(text):
        regex = glob_regex(text)
        try:
            re.compile(regex)
        except re.error:  # pragma: no cover - glob_regex escapes everything it does not translate
            regex = "^" + re.escape(text) + "$"
        return Pattern(GLOB, text, regex, False)
    return Pattern(SUBSTRING, text, re.escape(text), True)


def match_stream_id(text: str | None):
    """A predicate for ``streams(match=...)`` on a store that filters in Python; None for no filter."""
    if not text:
        return None
    pattern = parse_pattern(text)
    return pattern.matches
