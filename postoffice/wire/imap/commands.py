"""IMAP commands as frozen dataclasses, one class per command (RFC 9051 §6, RFC 3501 §6).

Every class has ``tag`` first and a ``name`` (the command keyword as the server's command
table keys it, e.g. ``"UID FETCH"``). Mailbox names are Unicode ``str``: the parser has
already decoded modified UTF-7 (or taken UTF-8 when UTF8=ACCEPT / IMAP4rev2 is enabled).
Flags and keywords keep their case as sent (``\\Seen``); the server compares flags
case-insensitively (RFC 9051 §2.3.2). Invariant: a command object is complete — the
parser never returns half a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from .fetch import FetchItem
from .search import SearchKey
from .seqset import SequenceSet

__all__ = [
    "StreamedLiteral",
    "FramedCommand",
    "Command",
    "Capability",
    "Noop",
    "Logout",
    "StartTLS",
    "Authenticate",
    "Login",
    "Enable",
    "QResyncParams",
    "Select",
    "Examine",
    "Create",
    "Delete",
    "Rename",
    "Subscribe",
    "Unsubscribe",
    "List",
    "Lsub",
    "Namespace",
    "Status",
    "AppendMessage",
    "Append",
    "Idle",
    "Check",
    "Close",
    "Unselect",
    "Expunge",
    "UidExpunge",
    "Search",
    "Fetch",
    "Store",
    "Copy",
    "Move",
    "Id",
    "STATUS_ITEMS",
    "StoreMode",
    # RFC 4978 COMPRESS, RFC 9208 QUOTA
    "Compress",
    "GetQuota",
    "GetQuotaRoot",
    "SetQuota",
    # RFC 5464 METADATA
    "GetMetadata",
    "SetMetadata",
    # RFC 4469 CATENATE
    "CatenatePart",
]


@dataclass(frozen=True)
class StreamedLiteral:
    """Placeholder for a literal whose bytes went out as LiteralChunk events (see reader)."""

    index: int  # the LiteralStart.index it came with (0, 1, ... within one command)
    size: int
    binary: bool  # literal8 (~{n}, RFC 9051 §4.3)


@dataclass(frozen=True)
class FramedCommand:
    """One command as framed: ``lines[i]`` is followed by ``literals[i]``.

    Each line keeps its trailing ``{n}`` / ``{n+}`` / ``~{n}`` marker and lacks its CRLF;
    ``len(lines) == len(literals) + 1``.
    """

    lines: tuple[bytes, ...]
    literals: tuple[bytes | StreamedLiteral, ...]


@dataclass(frozen=True)
class Command:
    """Base of every command. ``name`` is the keyword; ``key`` adds ``UID `` for UID forms."""

    tag: str
    name: ClassVar[str] = ""

    @property
    def key(self) -> str:
        """The command-table key: ``"UID FETCH"`` for UID FETCH, else ``name``."""
        return ("UID " + self.name) if getattr(self, "uid", False) else self.name


@dataclass(frozen=True)
class Capability(Command):
    name: ClassVar[str] = "CAPABILITY"


@dataclass(frozen=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"


@dataclass(frozen=True)
class Logout(Command):
    name: ClassVar[str] = "LOGOUT"


@dataclass(frozen=True)
class StartTLS(Command):
    name: ClassVar[str] = "STARTTLS"


@dataclass(frozen=True)
class Authenticate(Command):
    """``initial_response``: decoded SASL-IR (RFC 4959); ``b""`` for ``=``; None if absent."""

    mechanism: str = ""  # upper-cased
    initial_response: bytes | None = None
    name: ClassVar[str] = "AUTHENTICATE"


@dataclass(frozen=True)
class Login(Command):
    username: str = ""
    password: str = ""  # undecodable octets kept as surrogate escapes
    name: ClassVar[str] = "LOGIN"

    def __repr__(self) -> str:  # never log a password
        return f"Login(tag={self.tag!r}, username={self.username!r}, password='***')"


@dataclass(frozen=True)
class Enable(Command):
    capabilities: tuple[str, ...] = ()  # upper-cased
    name: ClassVar[str] = "ENABLE"


@dataclass(frozen=True)
class QResyncParams:
    """RFC 7162 §3.2.5: ``QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])``."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None  # (known sequence set, known uid set)


@dataclass(frozen=True)
class Select(Command):
    mailbox: str = ""
    condstore: bool = False  # RFC 7162 §3.1.8 (CONDSTORE) select parameter
    qresync: QResyncParams | None = None
    name: ClassVar[str] = "SELECT"

    @property
    def readonly(self) -> bool:
        return False


@dataclass(frozen=True)
class Examine(Select):
    name: ClassVar[str] = "EXAMINE"

    @property
    def readonly(self) -> bool:
        return True


@dataclass(frozen=True)
class Create(Command):
    mailbox: str = ""
    special_use: tuple[str, ...] = ()  # RFC 6154 §3 CREATE (USE (\Drafts))
    name: ClassVar[str] = "CREATE"


@dataclass(frozen=True)
class Delete(Command):
    mailbox: str = ""
    name: ClassVar[str] = "DELETE"


@dataclass(frozen=True)
class Rename(Command):
    mailbox: str = ""
    new_name: str = ""
    name: ClassVar[str] = "RENAME"


@dataclass(frozen=True)
class Subscribe(Command):
    mailbox: str = ""
    name: ClassVar[str] = "SUBSCRIBE"


@dataclass(frozen=True)
class Unsubscribe(Command):
    mailbox: str = ""
    name: ClassVar[str] = "UNSUBSCRIBE"


@dataclass(frozen=True)
class List(Command):
    """LIST with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154).

    ``selection``: upper-cased selection options (SUBSCRIBED, REMOTE, RECURSIVEMATCH,
    SPECIAL-USE). ``return_status``: STATUS items asked with RETURN (STATUS (...)), or None.
    ``extended`` is True when the client used any extended syntax (then the server answers
    with LIST-EXTENDED behaviour, e.g. CHILDINFO).
    """

    reference: str = ""
    patterns: tuple[str, ...] = ()
    selection: frozenset[str] = frozenset()
    return_subscribed: bool = False
    return_children: bool = False
    return_special_use: bool = False
    return_status: tuple[str, ...] | None = None
    extended: bool = False
    name: ClassVar[str] = "LIST"


@dataclass(frozen=True)
class Lsub(Command):
    reference: str = ""
    pattern: str = ""
    name: ClassVar[str] = "LSUB"


@dataclass(frozen=True)
class Namespace(Command):
    name: ClassVar[str] = "NAMESPACE"


# RFC 9051 §6.3.11, RFC 3501 §6.3.10 (RECENT), RFC 7162 (HIGHESTMODSEQ), RFC 7889 (APPENDLIMIT)
STATUS_ITEMS = frozenset(
    {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT"}
) | {"MAILBOXID", "DELETED-STORAGE"}  # RFC 8474 §4.2, RFC 9208 §4.2.1


@dataclass(frozen=True)
class Status(Command):
    mailbox: str = ""
    items: tuple[str, ...] = ()  # upper-cased, in the client's order, each in STATUS_ITEMS
    name: ClassVar[str] = "STATUS"


@dataclass(frozen=True)
class CatenatePart:
    """RFC 4469 §5 cat-part: ``TEXT literal`` (``text``) or ``URL url`` (``url``)."""

    text: bytes | StreamedLiteral | None = None
    url: str | None = None


@dataclass(frozen=True)
class AppendMessage:
    """One message of APPEND/MULTIAPPEND (RFC 3502). ``data`` is the literal's bytes, or
    a :class:`StreamedLiteral` when the reader streamed it. ``binary``: sent as
    ``UTF8 (~{n})`` or ``~{n}`` literal8 (RFC 6855 §4, RFC 3516 §4.4)."""

    data: bytes | StreamedLiteral
    flags: tuple[str, ...] = ()
    date_time: datetime | None = None
    binary: bool = False
    utf8: bool = False
    parts: tuple[CatenatePart, ...] = ()  # RFC 4469 CATENATE: the message is these parts (``data`` empty)

    @property
    def size(self) -> int:
        return self.data.size if isinstance(self.data, StreamedLiteral) else len(self.data)


@dataclass(frozen=True)
class Append(Command):
    mailbox: str = ""
    messages: tuple[AppendMessage, ...] = ()
    name: ClassVar[str] = "APPEND"


@dataclass(frozen=True)
class Idle(Command):
    """RFC 2177 / RFC 9051 §6.3.13: the server answers ``+ idling``, calls
    ``reader.expect_line()``, and the idle ends on a ``DONE`` line (see ``is_done``)."""

    name: ClassVar[str] = "IDLE"


@dataclass(frozen=True)
class Check(Command):
    name: ClassVar[str] = "CHECK"


@dataclass(frozen=True)
class Close(Command):
    name: ClassVar[str] = "CLOSE"


@dataclass(frozen=True)
class Unselect(Command):
    name: ClassVar[str] = "UNSELECT"


@dataclass(frozen=True)
class Expunge(Command):
    name: ClassVar[str] = "EXPUNGE"


@dataclass(frozen=True)
class UidExpunge(Command):
    uids: SequenceSet = SequenceSet()
    name: ClassVar[str] = "UID EXPUNGE"


@dataclass(frozen=True)
class Search(Command):
    """SEARCH / UID SEARCH. ``criteria`` is one key (an implicit AND of several is a
    :class:`~.search.And`). ``return_options`` None: no RETURN, answer ``* SEARCH``;
    otherwise ESEARCH (RFC 4731) with those options (``()`` means ALL, RFC 4731 §3.1).
    ``partial``: the PARTIAL range (RFC 5267 §4.4), 1-based and inclusive."""

    uid: bool = False
    charset: str | None = None
    criteria: SearchKey | None = None
    return_options: tuple[str, ...] | None = None
    partial: tuple[int, int] | None = None

    name: ClassVar[str] = "SEARCH"


@dataclass(frozen=True)
class Fetch(Command):
    """FETCH / UID FETCH; macros ALL/FAST/FULL are expanded (RFC 9051 §6.4.5) and
    ``macro`` keeps which one was used. ``changedsince``/``vanished``: RFC 7162 §3.1.4.1, §3.2.6."""

    uid: bool = False
    sequence_set: SequenceSet = SequenceSet()
    items: tuple[FetchItem, ...] = ()
    macro: str | None = None
    changedsince: int | None = None
    vanished: bool = False

    name: ClassVar[str] = "FETCH"


StoreMode = Literal["replace", "add", "remove"]


@dataclass(frozen=True)
class Store(Command):
    """STORE / UID STORE: FLAGS (replace), +FLAGS (add), -FLAGS (remove), .SILENT;
    UNCHANGEDSINCE (RFC 7162 §3.1.3)."""

    uid: bool = False
    sequence_set: SequenceSet = SequenceSet()
    mode: StoreMode = "replace"
    silent: bool = False
    flags: tuple[str, ...] = ()
    unchangedsince: int | None = None

    name: ClassVar[str] = "STORE"


@dataclass(frozen=True)
class Copy(Command):
    uid: bool = False
    sequence_set: SequenceSet = SequenceSet()
    mailbox: str = ""

    name: ClassVar[str] = "COPY"


@dataclass(frozen=True)
class Move(Command):
    """RFC 6851 MOVE."""

    uid: bool = False
    sequence_set: SequenceSet = SequenceSet()
    mailbox: str = ""

    name: ClassVar[str] = "MOVE"


@dataclass(frozen=True)
class Id(Command):
    """RFC 2971 ID: ``params`` None for ``ID NIL``; field names keep the client's case."""

    params: tuple[tuple[str, str | None], ...] | None = None
    name: ClassVar[str] = "ID"


# ---- RFC 4978 COMPRESS, RFC 9208 QUOTA ---------------------------------------------------


@dataclass(frozen=True)
class Compress(Command):
    """RFC 4978 §3: ``COMPRESS mechanism``; ``mechanism`` upper-cased."""

    mechanism: str = ""
    name: ClassVar[str] = "COMPRESS"


@dataclass(frozen=True)
class GetQuota(Command):
    """RFC 9208 §4.2: ``GETQUOTA quota-root``."""

    root: str = ""
    name: ClassVar[str] = "GETQUOTA"


@dataclass(frozen=True)
class GetQuotaRoot(Command):
    """RFC 9208 §4.3: ``GETQUOTAROOT mailbox``."""

    mailbox: str = ""
    name: ClassVar[str] = "GETQUOTAROOT"


@dataclass(frozen=True)
class SetQuota(Command):
    """RFC 9208 §4.1: ``SETQUOTA quota-root (resource limit ...)``; names upper-cased."""

    root: str = ""
    limits: tuple[tuple[str, int], ...] = ()
    name: ClassVar[str] = "SETQUOTA"


# ---- RFC 5464 METADATA ---------------------------------------------------------------------


@dataclass(frozen=True)
class GetMetadata(Command):
    """RFC 5464 §4.2. ``mailbox`` ``""`` is the server; entries are lower-cased, valid
    names (§3.2); ``depth`` "0", "1" or "infinity" (§4.2.2); ``maxsize`` §4.2.1."""

    mailbox: str = ""
    entries: tuple[str, ...] = ()
    maxsize: int | None = None
    depth: Literal["0", "1", "infinity"] = "0"
    name: ClassVar[str] = "GETMETADATA"


@dataclass(frozen=True)
class SetMetadata(Command):
    """RFC 5464 §4.3: ``values`` (entry, octets or None to remove), in the client's order."""

    mailbox: str = ""
    values: tuple[tuple[str, bytes | None], ...] = ()
    name: ClassVar[str] = "SETMETADATA"
