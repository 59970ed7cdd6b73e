"""Structured logs: one line per event, ``key=value`` text or JSON (``[log] format``).

Owns: the per-session log context (:func:`begin_session`, :func:`set_user`), carried by
a ContextVar so every line a session's task (and the threads it starts) logs names the
session id, protocol, listener and client address without any handler passing them;
:func:`event`, the way code logs an event with fields; :class:`LineFormatter` (text or
JSON); :func:`setup_logging`, which installs exactly one handler on the root logger
(so ``serve`` prints each line once); the debug trace of one protocol
(:func:`trace`, ``[log] trace``); and the file of the last errors that
``postoffice status`` shows (:class:`RecentErrors`).

Invariants:
- A failed login is logged as exactly one line with ``event=auth_failed`` and
  ``client=<address>`` (``mail.auth.Authenticator.record_failure``); the fail2ban
  expression of the README matches it (tests/ops check it for every protocol).
- No password and no message content is ever a field; the trace shows command names
  only, never their arguments.
- Mail addresses (``user``, ``from``, ``to``) are written only with ``[log] addresses =
  true``; otherwise as ``h:`` and 10 hex digits of their SHA-256, enough to follow one
  user through the log without writing the address.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "ADDRESS_FIELDS",
    "LineFormatter",
    "RecentErrors",
    "begin_session",
    "current",
    "event",
    "protocol_of",
    "RECENT_ERRORS_FILE",
    "read_recent_errors",
    "set_user",
    "setup_logging",
    "command_done",
    "trace_enabled",
]

ADDRESS_FIELDS = frozenset({"user", "from", "to"})
_SESSION: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("postoffice_session", default=None)
_trace_protocols: frozenset[str] = frozenset()
_trace_log = logging.getLogger("postoffice.trace")
_ORDER = ("session", "proto", "listener", "client", "user")
RECENT_ERRORS_FILE = "recent-errors.jsonl"  # in data_dir


def protocol_of(listener: str) -> str:
    """The protocol a listener name serves ("submissions" -> "smtp", "https" -> "http")."""
    if listener in ("smtp", "submission", "submissions"):
        return "smtp"
    if listener.startswith("imap"):
        return "imap"
    if listener.startswith("pop3"):
        return "pop3"
    if listener.startswith("http"):
        return "http"
    return listener


def begin_session(listener: str, client: str) -> dict[str, Any]:
    """Start the log context of one connection (in its own task): a fresh session id."""
    fields: dict[str, Any] = {
        "session": secrets.token_hex(4),
        "proto": protocol_of(listener),
        "listener": listener,
        "client": client,
        "_start": time.monotonic(),
    }
    _SESSION.set(fields)
    return fields


def current() -> Mapping[str, Any]:
    """The current session's fields ({} outside a session)."""
    return _SESSION.get() or {}


def set_user(address: str) -> None:
    """The session's user is known (after a successful login)."""
    fields = _SESSION.get()
    if fields is not None:
        fields["user"] = address


def event(logger: logging.Logger, name: str, message: str = "", *, level: int = logging.INFO, **fields: Any) -> None:
    """Log the event ``name`` with ``fields`` (values: str, int, float, bool)."""
    if logger.isEnabledFor(level):
        logger.log(level, message or name.replace("_", " "), extra={"event": name, "fields": fields})


def trace_enabled(protocol: str) -> bool:
    return protocol in _trace_protocols and _trace_log.isEnabledFor(logging.DEBUG)


def command_done(protocol: str, name: str, seconds: float, ok: bool) -> None:
    """The trace line of one command (debug, when ``protocol`` is traced): its name,
    whether it succeeded and how long it took. Never its arguments: they may carry a
    password or an address, and what follows a command may be message content."""
    if trace_enabled(protocol):
        event(_trace_log, "command", level=logging.DEBUG, command=name, ok=ok, seconds=round(seconds, 6))


def _redact(value: str) -> str:
    return "h:" + hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:10]


def _text_value(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\\') or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


class LineFormatter(logging.Formatter):
    """A record as one line: ``time level event fields... msg`` or a JSON object."""

    def __init__(self, fmt: str = "text", *, addresses: bool = False) -> None:
        super().__init__()
        self.json = fmt == "json"
        self.addresses = addresses

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "time": f"{when}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "log"),
        }
        session = _SESSION.get() or {}
        for key in _ORDER:
            if key in session:
                out[key] = session[key]
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        for key in ADDRESS_FIELDS & out.keys():
            if not self.addresses and out[key]:
                out[key] = _redact(str(out[key]))
        out["logger"] = record.name
        out["pid"] = record.process
        out["msg"] = record.getMessage()
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return out

    def format(self, record: logging.LogRecord) -> str:
        out = self.fields(record)
        if self.json:
            return json.dumps(out, ensure_ascii=False)
        when = str(out.pop("time"))
        return when + " " + " ".join(f"{k}={_text_value(v)}" for k, v in out.items())


class RecentErrors(logging.Handler):
    """Appends every ERROR line, as JSON, to ``data_dir/recent-errors.jsonl`` and keeps
    the last ``keep`` of them (``postoffice status``). Each process appends with
    O_APPEND, one write per line, so lines from several processes never interleave."""

    def __init__(self, path: Path, keep: int = 20) -> None:
        super().__init__(level=logging.ERROR)
        self.path = path
        self.keep = keep
        self.formatter_json = LineFormatter("json", addresses=False)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.formatter_json.format(record) + "\n").encode("utf-8")
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            try:
                os.write(fd, line)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > 64 * 1024:  # trim: keep the last ``keep`` lines
                lines = self.path.read_bytes().splitlines(keepends=True)[-self.keep :]
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
                tmp.write_bytes(b"".join(lines))
                os.replace(tmp, self.path)
        except Exception:
            self.handleError(record)


def read_recent_errors(data_dir: Path, keep: int = 10) -> list[dict[str, Any]]:
    """The last ``keep`` errors logged by any process on ``data_dir``, oldest first."""
    try:
        lines = (data_dir / RECENT_ERRORS_FILE).read_text("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for line in lines[-keep:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class _Installed:
    handler: logging.Handler
    errors: logging.Handler | None


_installed: _Installed | None = None


def setup_logging(
    fmt: str = "text",
    level: str = "info",
    *,
    addresses: bool = False,
    trace_protocols: frozenset[str] = frozenset(),
    data_dir: Path | None = None,
    stream: TextIO | None = None,
) -> None:
    """Install the one handler of the root logger (replacing any earlier one of ours,
    so calling it again on SIGHUP applies a new ``[log]`` table), and the recent-errors
    file under ``data_dir``."""
    global _installed, _trace_protocols
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed.handler)
        if _installed.errors is not None:
            root.removeHandler(_installed.errors)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(LineFormatter(fmt, addresses=addresses))
    root.addHandler(handler)
    errors: logging.Handler | None = None
    if data_dir is not None:
        errors = RecentErrors(data_dir / RECENT_ERRORS_FILE)
        root.addHandler(errors)
    # The root logger has the configured level; the trace logger alone goes down to
    # debug when protocols are traced, and the handler lets its lines through.
    root.setLevel(getattr(logging, level.upper()))
    _trace_log.setLevel(logging.DEBUG if trace_protocols else logging.NOTSET)
    _trace_protocols = trace_protocols
    # uvicorn's own info lines ("Shutting down", once per web listener, "Waiting for
    # connections to close") repeat what the lifecycle logs once; its warnings and
    # errors stay.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    _installed = _Installed(handler, errors)
