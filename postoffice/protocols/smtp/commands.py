"""The SMTP command table (docs/architecture.md §8): verb -> handler, allowed states, flags.

The server parses a line whole (``wire.smtp.parse_command``), looks its verb up here,
checks the session state, then runs the handler — or answers the entry's ``refuse``
reply for the state it is in. The transcript meta-test reads :data:`COMMANDS` and checks
that every (command, state) pair below is exercised by some transcript.

``carries_data``: the command is followed by octets that are not commands (BDAT, RFC 3030
§2); when it is refused they are still read and thrown away, so the session stays in step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from postoffice.wire.smtp import R503_BAD_SEQUENCE, Reply

from . import handlers as h
from .engine import Engine
from .session import Session, State

__all__ = ["CommandSpec", "COMMANDS", "ANY_STATE"]

Handler = Callable[[Engine, Session, Any], Awaitable[Reply | None]]

ANY_STATE = frozenset(State)
OUTSIDE_TRANSACTION = frozenset({State.CONNECTED, State.GREETED})


def _bad_sequence(s: Session) -> Reply:
    return R503_BAD_SEQUENCE


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Handler
    states: frozenset[State]
    refuse: Callable[[Session], Reply] = _bad_sequence
    carries_data: bool = False


def _table(*specs: CommandSpec) -> dict[str, CommandSpec]:
    return {spec.name: spec for spec in specs}


COMMANDS: dict[str, CommandSpec] = _table(
    CommandSpec("EHLO", h.ehlo, ANY_STATE),
    CommandSpec("HELO", h.helo, ANY_STATE),
    CommandSpec("MAIL", h.mail, frozenset({State.GREETED}), h.refuse_transaction_command),
    CommandSpec("RCPT", h.rcpt, frozenset({State.MAIL, State.RCPT}), h.refuse_transaction_command),
    CommandSpec("DATA", h.data, frozenset({State.RCPT}), h.refuse_transaction_command),
    CommandSpec("BDAT", h.bdat, frozenset({State.RCPT}), h.refuse_transaction_command, carries_data=True),
    CommandSpec("RSET", h.rset, ANY_STATE),
    CommandSpec("NOOP", h.noop, ANY_STATE),
    CommandSpec("QUIT", h.quit, ANY_STATE),
    CommandSpec("VRFY", h.vrfy, ANY_STATE),
    CommandSpec("EXPN", h.expn, ANY_STATE),
    CommandSpec("HELP", h.help_, ANY_STATE),
    CommandSpec("STARTTLS", h.starttls, OUTSIDE_TRANSACTION, h.refuse_starttls),
    CommandSpec("AUTH", h.auth, frozenset({State.GREETED}), h.refuse_auth),
)
