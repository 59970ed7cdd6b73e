"""Which commands (per session state) and which reply constants no transcript exercises.

Owns the meta-test support (docs/architecture.md §10.2). It reads the ``.t`` files statically, without
running a server: the state each command is sent in is derived from the transcript
itself (its header ``state:`` and the answers it asserts), which for a passing
transcript is the state the server was in.

Expected shapes (what protocol packages provide):
- a command table: a mapping ``name -> entry`` or an iterable of entries; each entry
  has ``.states`` (an iterable of state names, str or Enum) and, in the iterable form,
  ``.name``. Names compare case-insensitively; IMAP UID commands are recorded as
  ``"UID FETCH"`` etc., and a table entry named ``"UID"`` is covered by any of them.
- reply constants: a module, class or mapping whose public UPPER_CASE attributes are
  replies. Each is keyed by :func:`reply_key`: SMTP ``"550 5.1.1"`` (or ``"250"`` with no
  enhanced code), from a str/bytes reply or an object with ``.code`` and
  ``.enhanced``/``.enhanced_code``; IMAP and POP3 the response code (``"ALREADYEXISTS"``,
  ``"IN-USE"``), from a str such as ``"ALREADYEXISTS"`` / ``"[IN-USE]"`` / ``"NO [X] text"``
  or an object with ``.code``. A constant with no key is ignored.

State names the default trackers use (a protocol may pass its own ``Tracker``):
- IMAP: ``nonauth``, ``authenticated``, ``selected`` (LOGIN/AUTHENTICATE OK ->
  authenticated; SELECT/EXAMINE OK -> selected, NO -> authenticated; CLOSE/UNSELECT OK
  -> authenticated; a PREAUTH greeting -> authenticated).
- POP3: ``authorization``, ``transaction`` (PASS / AUTH +OK).
- SMTP: ``connected`` -> EHLO/HELO/LHLO 250 -> ``greeted`` -> MAIL 250 -> ``mail`` ->
  RCPT 250 -> ``rcpt``; the end of DATA/BDAT LAST, RSET -> ``greeted``; STARTTLS 220 ->
  ``connected``.
After a continuation answer (IMAP ``+``, SMTP 334/354, POP3 ``+ ``) the following ``C:``
lines of that connection are data (SASL, message, DONE), not commands, until a final
answer. A command is recorded with the state it executes in: the state when its answer
arrives (answers pair with commands by tag for IMAP, in order otherwise).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from postoffice.testing.transcript import ExpectBlock, Send, Transcript, parse_file

__all__ = [
    "Usage",
    "Tracker",
    "ImapTracker",
    "SmtpTracker",
    "Pop3Tracker",
    "TRACKERS",
    "scan_transcripts",
    "scan_transcript",
    "reply_key",
    "reply_keys",
    "missing_commands",
    "missing_replies",
    "coverage_report",
]

_SMTP_REPLY = re.compile(r"(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3})\b)?")
_IMAP_CODE = re.compile(r"\S+ (?:OK|NO|BAD|BYE|PREAUTH) \[([A-Za-z0-9/.-]+)", re.I)
_POP3_CODE = re.compile(r"(?:\+OK|-ERR) \[([A-Za-z0-9/.-]+)")


@dataclass
class Usage:
    commands: set[tuple[str, str]] = field(default_factory=set)  # (COMMAND, state)
    replies: set[str] = field(default_factory=set)  # reply keys written in S: lines
    files: int = 0


class Tracker:
    """Session state as a transcript implies it. Subclass per protocol."""

    def initial(self, header_state: str) -> str:
        return header_state

    def command_name(self, line: str) -> tuple[str, str] | None:
        """(pairing key, COMMAND NAME) of a command line; None when not a command."""
        words = line.split()
        return ("", words[0].upper()) if words else None

    def answer_key(self, line: str) -> str:
        return ""

    def is_continuation(self, line: str) -> bool:
        return False

    def is_final(self, line: str) -> bool:
        return True

    def after(self, state: str, name: str, command: str, answer: str) -> str:
        return state

    def reply_keys(self, line: str) -> set[str]:
        return set()


class ImapTracker(Tracker):
    def command_name(self, line: str) -> tuple[str, str] | None:
        words = line.split()
        if len(words) < 2:
            return None
        name = words[1].upper()
        if name == "UID" and len(words) > 2:
            name = "UID " + words[2].upper()
        return words[0], name

    def answer_key(self, line: str) -> str:
        return line.split(" ", 1)[0]

    def is_continuation(self, line: str) -> bool:
        return line.startswith("+")

    def is_final(self, line: str) -> bool:
        return not line.startswith(("*", "+")) and line.strip() != "..."

    def after(self, state: str, name: str, command: str, answer: str) -> str:
        ok = answer.split()[1:2] == ["OK"] if len(answer.split()) > 1 else False
        if name in ("LOGIN", "AUTHENTICATE") and ok:
            return "authenticated"
        if name in ("SELECT", "EXAMINE"):
            return "selected" if ok else ("authenticated" if state == "selected" else state)
        if name in ("CLOSE", "UNSELECT") and ok:
            return "authenticated"
        if name == "LOGOUT":
            return "logout"
        return state

    def reply_keys(self, line: str) -> set[str]:
        m = _IMAP_CODE.match(line)
        return {m.group(1).upper()} if m else set()


class SmtpTracker(Tracker):
    def initial(self, header_state: str) -> str:
        return "connected" if header_state == "nonauth" else "greeted"

    def is_continuation(self, line: str) -> bool:
        return line.startswith(("334", "354"))

    def is_final(self, line: str) -> bool:
        return bool(re.match(r"\d{3}( |\Z)", line))

    def after(self, state: str, name: str, command: str, answer: str) -> str:
        ok = answer.startswith("2")
        if name in ("EHLO", "HELO", "LHLO", "RSET") and ok:
            return "greeted"
        if name == "MAIL" and ok:
            return "mail"
        if name == "RCPT" and ok:
            return "rcpt"
        if name == "DATA" and ok:
            return "greeted"
        if name == "BDAT" and ok and command.upper().split()[-1:] == ["LAST"]:
            return "greeted"
        if name == "STARTTLS" and answer.startswith("220"):
            return "connected"
        if name == "QUIT":
            return "quit"
        return state

    def reply_keys(self, line: str) -> set[str]:
        m = _SMTP_REPLY.match(line)
        if not m:
            return set()
        return {m.group(1), f"{m.group(1)} {m.group(2)}"} if m.group(2) else {m.group(1)}


class Pop3Tracker(Tracker):
    def initial(self, header_state: str) -> str:
        return "authorization" if header_state == "nonauth" else "transaction"

    def is_continuation(self, line: str) -> bool:
        return line.startswith("+ ") or line == "+"

    def is_final(self, line: str) -> bool:
        return line.startswith(("+OK", "-ERR"))

    def after(self, state: str, name: str, command: str, answer: str) -> str:
        if name in ("PASS", "AUTH", "APOP") and answer.startswith("+OK"):
            return "transaction"
        if name == "QUIT":
            return "update"
        return state

    def reply_keys(self, line: str) -> set[str]:
        m = _POP3_CODE.match(line)
        return {m.group(1).upper()} if m else set()


TRACKERS: dict[str, Tracker] = {"imap": ImapTracker(), "smtp": SmtpTracker(), "pop3": Pop3Tracker()}


def scan_transcript(transcript: Transcript, usage: Usage, tracker: Tracker | None = None) -> None:
    """Add the (command, state) pairs and reply keys of one transcript to ``usage``."""
    tracker = tracker or TRACKERS[transcript.header.protocol]
    initial = tracker.initial(transcript.header.state)
    states: dict[int, str] = {}
    pending: dict[int, deque[tuple[str, str, str]]] = {}
    data_mode: dict[int, bool] = {}
    for step in transcript.steps:
        if isinstance(step, Send):
            conn = step.conn
            states.setdefault(conn, initial)
            if data_mode.get(conn) or step.raw:
                continue
            named = tracker.command_name(step.text)
            if named is not None:
                pending.setdefault(conn, deque()).append((named[0], named[1], step.text))
        elif isinstance(step, ExpectBlock):
            conn = step.conn
            state = states.setdefault(conn, initial)
            for line in step.lines:
                if line.negated:
                    continue
                text = line.text
                usage.replies |= tracker.reply_keys(text)
                if text.upper().startswith("* PREAUTH") and isinstance(tracker, ImapTracker):
                    state = "authenticated"
                if tracker.is_continuation(text):
                    data_mode[conn] = True
                elif tracker.is_final(text):
                    data_mode[conn] = False
                    queue = pending.get(conn)
                    if not queue:
                        continue
                    key = tracker.answer_key(text)
                    index = next((i for i, c in enumerate(queue) if c[0] == key), 0)
                    _, name, command = queue[index]
                    del queue[index]
                    usage.commands.add((name, state))
                    state = tracker.after(state, name, command, text)
            states[conn] = state
    for conn, queue in pending.items():
        for _, name, _ in queue:
            usage.commands.add((name, states.get(conn, initial)))


def scan_transcripts(directory: Path | str, protocol: str | None = None, tracker: Tracker | None = None) -> Usage:
    """Scan every ``*.t`` under ``directory`` (recursively) of ``protocol`` (default: all)."""
    usage = Usage()
    for path in sorted(Path(directory).rglob("*.t")):
        transcript = parse_file(path)
        if protocol and transcript.header.protocol != protocol:
            continue
        usage.files += 1
        scan_transcript(transcript, usage, tracker)
    return usage


def _state_name(state: Any) -> str:
    value = state.value if isinstance(state, Enum) else state
    name = state.name if isinstance(state, Enum) and not isinstance(value, str) else str(value)
    return name.lower()


def _entries(table: Mapping[str, Any] | Iterable[Any]) -> list[tuple[str, list[str]]]:
    items: Iterable[tuple[Any, Any]]
    if isinstance(table, Mapping):
        items = table.items()
    else:
        entries: Iterable[Any] = table
        items = ((entry.name, entry) for entry in entries)
    return [(str(name).upper(), sorted(_state_name(s) for s in entry.states)) for name, entry in items]


def missing_commands(table: Mapping[str, Any] | Iterable[Any], usage: Usage) -> list[tuple[str, str]]:
    """(COMMAND, state) pairs of ``table`` that no scanned transcript sends."""
    used = {(name.upper(), state) for name, state in usage.commands}
    used |= {("UID", state) for name, state in used if name.startswith("UID ")}
    return sorted((name, state) for name, states in _entries(table) for state in states if (name, state) not in used)


def reply_key(value: Any) -> str | None:
    """The key a reply constant is covered by (see the module docstring), or None."""
    if isinstance(value, Enum):
        value = value.value
    code = getattr(value, "code", None)
    if code is not None and not isinstance(value, (str, bytes)):
        enhanced = getattr(value, "enhanced", None) or getattr(value, "enhanced_code", None)
        if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
            return f"{code} {enhanced}" if enhanced else str(code)
        return str(code).strip("[]").upper() or None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _SMTP_REPLY.match(text)
    if m:
        return f"{m.group(1)} {m.group(2)}" if m.group(2) else m.group(1)
    m = re.search(r"\[([A-Za-z0-9/.-]+)", text)
    if m:
        return m.group(1).upper()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9/.-]*", text):
        return text.upper()
    return None


def reply_keys(constants: Any) -> dict[str, str]:
    """Constant name -> reply key, for the public UPPER_CASE names that have one."""
    items = constants.items() if isinstance(constants, Mapping) else ((n, getattr(constants, n)) for n in dir(constants))
    out: dict[str, str] = {}
    for name, value in items:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name) or callable(value) and not isinstance(value, Enum):
            continue
        key = reply_key(value)
        if key:
            out[name] = key
    return out


def missing_replies(constants: Any, usage: Usage) -> list[str]:
    """Names of reply constants whose key no transcript's ``S:`` line shows."""
    return sorted(name for name, key in reply_keys(constants).items() if key not in usage.replies)


def coverage_report(
    directory: Path | str,
    protocol: str,
    table: Mapping[str, Any] | Iterable[Any] | None = None,
    constants: Any = None,
    *,
    tracker: Tracker | None = None,
) -> str:
    """An empty string when every pair and constant is exercised, else what is missing.

    Typical meta-test: ``assert not coverage_report("tests/transcripts/imap", "imap",
    COMMANDS, replies)``."""
    usage = scan_transcripts(directory, protocol, tracker)
    out: list[str] = []
    if table is not None:
        pairs = missing_commands(table, usage)
        if pairs:
            out.append(f"{protocol}: (command, state) pairs no transcript sends:")
            out += [f"  {name} in {state}" for name, state in pairs]
    if constants is not None:
        names = missing_replies(constants, usage)
        if names:
            keys = reply_keys(constants)
            out.append(f"{protocol}: reply constants no transcript shows:")
            out += [f"  {name} ({keys[name]})" for name in names]
    return "\n".join(out)
