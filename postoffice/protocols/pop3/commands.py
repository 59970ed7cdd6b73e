"""The POP3 command table: keyword -> handler and the states it is valid in.

One declarative table (docs/architecture.md §8); the server checks the state against it before
a handler runs, and the transcript meta-test reads it (every (command, state) pair must
appear in some transcript). States follow RFC 1939 §3; no command runs in UPDATE (it
is entered by QUIT and ends the session). RFC 2449 §5: CAPA is valid in both states.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import auth, transaction
from .session import Session, State

__all__ = ["CommandSpec", "COMMANDS", "Handler"]

Handler = Callable[[Session, Any], Awaitable[None]]

_AUTHORIZATION = frozenset({State.AUTHORIZATION})
_TRANSACTION = frozenset({State.TRANSACTION})
_BOTH = frozenset({State.AUTHORIZATION, State.TRANSACTION})


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    handler: Handler
    states: frozenset[State]


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("USER", auth.user, _AUTHORIZATION),  # RFC 1939 §7
        CommandSpec("PASS", auth.pass_, _AUTHORIZATION),  # RFC 1939 §7
        CommandSpec("APOP", auth.apop, _AUTHORIZATION),  # refused: docs/architecture.md §9
        CommandSpec("AUTH", auth.auth, _AUTHORIZATION),  # RFC 5034 §4
        CommandSpec("STLS", auth.stls, _AUTHORIZATION),  # RFC 2595 §4
        CommandSpec("UTF8", auth.utf8, _AUTHORIZATION),  # RFC 6856 §2
        CommandSpec("CAPA", auth.capa, _BOTH),  # RFC 2449 §5
        CommandSpec("QUIT", transaction.quit_, _BOTH),  # RFC 1939 §4, §6
        CommandSpec("STAT", transaction.stat, _TRANSACTION),  # RFC 1939 §5
        CommandSpec("LIST", transaction.list_, _TRANSACTION),
        CommandSpec("RETR", transaction.retr, _TRANSACTION),
        CommandSpec("DELE", transaction.dele, _TRANSACTION),
        CommandSpec("NOOP", transaction.noop, _TRANSACTION),
        CommandSpec("RSET", transaction.rset, _TRANSACTION),
        CommandSpec("TOP", transaction.top, _TRANSACTION),  # RFC 1939 §7
        CommandSpec("UIDL", transaction.uidl, _TRANSACTION),  # RFC 1939 §7
    )
}
