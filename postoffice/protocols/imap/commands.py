"""The IMAP command table: command key -> handler, allowed states, flags.

One declarative table (docs/architecture.md §8). The server dispatches on ``Command.key``
(``"UID FETCH"`` for UID forms); the transcript coverage meta-test reads
:data:`COMMANDS` and checks that every (command, state) pair is exercised.

``sync`` says which untagged updates the selected view may add before the tagged
answer (RFC 9051 §7.5.1): ``"full"`` (EXISTS, EXPUNGE/VANISHED, FETCH), ``"no-expunge"``
(during FETCH, STORE, SEARCH: never EXPUNGE), ``"none"`` (the command changes or
leaves the selected mailbox). ``force_sync``: look at the store even if the ChangeBus
said nothing (NOOP, CHECK: the polling commands). ``trycreate``: a missing target
mailbox is answered ``NO [TRYCREATE]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from . import auth, compress, fetch, mailboxes, messages, metadata, notify, quota, search, sort  # RFC 4978, RFC 9208
from .session import AUTHENTICATED, NONAUTH, SELECTED

__all__ = ["CommandSpec", "COMMANDS", "ANY", "AUTHED", "SELECTED_ONLY"]

Handler = Callable[[Any, Any], Awaitable[bytes | None]]

ANY = frozenset({NONAUTH, AUTHENTICATED, SELECTED})
NOT_AUTHED = frozenset({NONAUTH})
AUTHED = frozenset({AUTHENTICATED, SELECTED})
SELECTED_ONLY = frozenset({SELECTED})


@dataclass(frozen=True)
class CommandSpec:
    handler: Handler
    states: frozenset[str]
    sync: Literal["full", "no-expunge", "none"] = "full"
    force_sync: bool = False
    trycreate: bool = False


COMMANDS: dict[str, CommandSpec] = {
    # RFC 9051 §6.1: any state
    "CAPABILITY": CommandSpec(auth.capability, ANY),
    "NOOP": CommandSpec(auth.noop, ANY, force_sync=True),
    "LOGOUT": CommandSpec(auth.logout, ANY, sync="none"),
    "ID": CommandSpec(auth.id_, ANY),  # RFC 2971
    # RFC 9051 §6.2: not authenticated
    "STARTTLS": CommandSpec(auth.starttls, NOT_AUTHED, sync="none"),
    "AUTHENTICATE": CommandSpec(auth.authenticate, NOT_AUTHED, sync="none"),
    "LOGIN": CommandSpec(auth.login, NOT_AUTHED, sync="none"),
    # RFC 9051 §6.3: authenticated (and selected)
    "ENABLE": CommandSpec(auth.enable, AUTHED),  # RFC 5161
    "SELECT": CommandSpec(mailboxes.select, AUTHED, sync="none"),
    "EXAMINE": CommandSpec(mailboxes.select, AUTHED, sync="none"),
    "CREATE": CommandSpec(mailboxes.create, AUTHED),
    "DELETE": CommandSpec(mailboxes.delete, AUTHED),
    "RENAME": CommandSpec(mailboxes.rename, AUTHED),
    "SUBSCRIBE": CommandSpec(mailboxes.subscribe, AUTHED),
    "UNSUBSCRIBE": CommandSpec(mailboxes.unsubscribe, AUTHED),
    "LIST": CommandSpec(mailboxes.list_, AUTHED),
    "LSUB": CommandSpec(mailboxes.lsub, AUTHED),
    "NAMESPACE": CommandSpec(mailboxes.namespace, AUTHED),
    "STATUS": CommandSpec(mailboxes.status, AUTHED),
    "APPEND": CommandSpec(messages.append, AUTHED, trycreate=True),
    "IDLE": CommandSpec(messages.idle, AUTHED),
    # RFC 9051 §6.4: selected
    "CHECK": CommandSpec(auth.check, SELECTED_ONLY, force_sync=True),  # RFC 3501 only
    "CLOSE": CommandSpec(mailboxes.close, SELECTED_ONLY, sync="none"),
    "UNSELECT": CommandSpec(mailboxes.unselect, SELECTED_ONLY, sync="none"),
    "EXPUNGE": CommandSpec(messages.expunge, SELECTED_ONLY),
    "UID EXPUNGE": CommandSpec(messages.uid_expunge, SELECTED_ONLY),  # RFC 4315
    "SEARCH": CommandSpec(search.search, SELECTED_ONLY, sync="no-expunge"),
    "UID SEARCH": CommandSpec(search.search, SELECTED_ONLY),
    "FETCH": CommandSpec(fetch.fetch, SELECTED_ONLY, sync="no-expunge"),
    "UID FETCH": CommandSpec(fetch.fetch, SELECTED_ONLY),
    "STORE": CommandSpec(messages.store, SELECTED_ONLY, sync="no-expunge"),
    "UID STORE": CommandSpec(messages.store, SELECTED_ONLY),
    "COPY": CommandSpec(messages.copy, SELECTED_ONLY, trycreate=True),
    "UID COPY": CommandSpec(messages.copy, SELECTED_ONLY, trycreate=True),
    "MOVE": CommandSpec(messages.move, SELECTED_ONLY, trycreate=True),  # RFC 6851
    "UID MOVE": CommandSpec(messages.move, SELECTED_ONLY, trycreate=True),
    # RFC 5256 SORT and THREAD, RFC 5267 ESORT
    "SORT": CommandSpec(sort.sort, SELECTED_ONLY, sync="no-expunge"),
    "UID SORT": CommandSpec(sort.sort, SELECTED_ONLY),
    "THREAD": CommandSpec(sort.thread, SELECTED_ONLY, sync="no-expunge"),
    "UID THREAD": CommandSpec(sort.thread, SELECTED_ONLY),
    "CANCELUPDATE": CommandSpec(search.cancelupdate, SELECTED_ONLY),  # RFC 5267 §4.3.5
    # RFC 4978 COMPRESS: the OK is written by the handler, so no update may follow it
    "COMPRESS": CommandSpec(compress.compress, AUTHED, sync="none"),
    # RFC 9208 QUOTA
    "GETQUOTA": CommandSpec(quota.getquota, AUTHED),
    "GETQUOTAROOT": CommandSpec(quota.getquotaroot, AUTHED),
    "SETQUOTA": CommandSpec(quota.setquota, AUTHED),
    # RFC 5464 METADATA
    "GETMETADATA": CommandSpec(metadata.getmetadata, AUTHED),
    "SETMETADATA": CommandSpec(metadata.setmetadata, AUTHED),
    # RFC 5465 NOTIFY: NOTIFY SET is an implicit NOOP for the selected mailbox (§3.1)
    "NOTIFY": CommandSpec(notify.notify, AUTHED, force_sync=True),
}
