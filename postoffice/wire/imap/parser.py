"""Parse one framed command into its dataclass (RFC 9051 §6, §9 grammar).

:func:`parse_command` is what the reader calls; it can also be used directly on a
:class:`FramedCommand` (tests, tools). :func:`parse_line` parses a command given as
text with literals inline (a test convenience). Also here: :func:`is_done` for the line
that ends IDLE and :func:`parse_sasl_response` for AUTHENTICATE continuation lines.
Invariant: every failure raises :class:`ImapSyntaxError` with the tag once it is known.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Literal

from . import mutf7, notify, sort
from .commands import (  # RFC 4978, RFC 9208
    STATUS_ITEMS,
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    CatenatePart,
    Check,
    Close,
    Command,
    Compress,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    FramedCommand,
    GetMetadata,
    GetQuota,
    GetQuotaRoot,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    QResyncParams,
    Rename,
    Search,
    Select,
    SetMetadata,
    SetQuota,
    StartTLS,
    Status,
    Store,
    StoreMode,
    StreamedLiteral,
    Subscribe,
    UidExpunge,
    Unselect,
    Unsubscribe,
)
from .errors import ImapSyntaxError
from .fetch import parse_fetch_items
from .scanner import Scanner
from .search import SEARCH_RETURN_OPTIONS, And, SearchKey, parse_return_options, parse_search_key

__all__ = ["parse_command", "parse_line", "is_done", "parse_sasl_response", "parse_date_time", "SASLCancelled"]

_TAG_CHARS = frozenset(range(0x21, 0x7F)) - frozenset(b'(){%*"\\+')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE_TIME_RE = re.compile(
    r"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})\Z"
)
LIST_SELECT_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
BAD_CHARSET_CODE = "BADCHARSET (US-ASCII UTF-8)"


class SASLCancelled(Exception):
    """The client answered ``*`` to an AUTHENTICATE challenge (RFC 9051 §6.2.2)."""


class _Ctx:
    def __init__(self, sc: Scanner, tag: str, utf8_names: bool) -> None:
        self.sc = sc
        self.tag = tag
        self.utf8_names = utf8_names
        # A mailbox name that is not valid modified UTF-7 is well-formed syntax (an
        # astring) naming no mailbox that can exist: the command is parsed to its end and
        # then refused with NO (RFC 9051 §6.3.1: SELECT of a name that cannot exist is a
        # NO, not a BAD); a LIST/LSUB pattern that is not valid matches nothing.
        self.bad_name: str | None = None
        self.bad_pattern = False

    def _decoded(self, raw: bytes) -> str | None:
        if self.utf8_names or not raw.isascii():
            # RFC 9051 §5.1 / RFC 6855 §3: UTF-8 names; raw 8-bit from a rev1 client is taken as UTF-8 too.
            return self.sc.text(raw)
        try:
            return mutf7.decode(raw.decode("ascii"))
        except mutf7.MUTF7Error as exc:
            self.bad_name = self.bad_name or f"mailbox name is not valid modified UTF-7: {exc}"
            return None

    def mailbox_text(self, raw: bytes) -> str:
        text = self._decoded(raw)
        return raw.decode("ascii") if text is None else text

    def mailbox(self) -> str:
        return mutf7.normalize_inbox(self.mailbox_text(self.sc.astring()), None)

    def pattern(self) -> str | None:
        """A LIST/LSUB pattern (or reference); None when it is not valid modified UTF-7."""
        text = self._decoded(self.sc.list_mailbox())
        if text is None:
            self.bad_name = None
            self.bad_pattern = True
        return text

    def reference(self) -> str:
        text = self._decoded(self.sc.astring())
        if text is None:
            self.bad_name = None
            self.bad_pattern = True
            return ""
        return text

    def flag_list(self, *, allow_empty: bool = True) -> tuple[str, ...]:
        sc = self.sc
        sc.open()
        flags: list[str] = []
        if not sc.try_close():
            flags.append(sc.flag())
            while sc.try_sp():
                flags.append(sc.flag())
            sc.close()
        if not flags and not allow_empty:
            raise sc.error("empty list")
        return tuple(flags)

    def keyword_list(self) -> tuple[str, ...]:
        sc = self.sc
        sc.open()
        words = [sc.keyword()]
        while sc.try_sp():
            words.append(sc.keyword())
        sc.close()
        return tuple(words)


def parse_date_time(text: str) -> datetime:
    """RFC 9051 §9 date-time ``"17-Jul-1996 02:44:25 -0700"`` (without the quotes)."""
    m = _DATE_TIME_RE.match(text)
    if m is None:
        raise ImapSyntaxError(f"bad date-time {text!r}")
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    month = mon.capitalize()
    if month not in _MONTHS:
        raise ImapSyntaxError(f"bad month in date-time {text!r}")
    try:
        offset = timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == "-" else 1)
        return datetime(
            int(year), _MONTHS.index(month) + 1, int(day.strip()), int(hh), int(mm), int(ss), tzinfo=timezone(offset)
        )
    except ValueError:
        raise ImapSyntaxError(f"bad date-time {text!r}") from None


def _no_args(cls: type[Command]) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        ctx.sc.end()
        return cls(ctx.tag)

    return parse


def _authenticate(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mech = sc.keyword()
    initial: bytes | None = None
    if sc.try_sp():
        raw = sc._run(frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="))
        initial = _b64decode(raw)
    sc.end()
    return Authenticate(ctx.tag, mech, initial)


def _b64decode(raw: bytes) -> bytes:
    if raw == b"=":  # RFC 4959 §3: "=" is an empty initial response
        return b""
    if not raw:
        raise ImapSyntaxError("expected base64")
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise ImapSyntaxError("invalid base64") from None


def _login(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    user = sc.text(sc.astring())
    sc.sp()
    password = sc.astring().decode("utf-8", "surrogateescape")
    sc.end()
    return Login(ctx.tag, user, password)


def _enable(ctx: _Ctx) -> Command:
    sc = ctx.sc
    caps: list[str] = []
    while sc.try_sp():
        caps.append(sc.keyword())
    if not caps:
        raise sc.error("ENABLE needs a capability")
    sc.end()
    return Enable(ctx.tag, tuple(caps))


def _select(cls: type[Select]) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        sc = ctx.sc
        sc.sp()
        mailbox = ctx.mailbox()
        condstore = False
        qresync: QResyncParams | None = None
        if sc.try_sp():
            sc.open()
            while True:
                param = sc.keyword()
                if param == "CONDSTORE":  # RFC 7162 §3.1.8
                    condstore = True
                elif param == "QRESYNC":  # RFC 7162 §3.2.5
                    sc.sp()
                    qresync = _qresync(sc)
                else:
                    raise sc.error(f"unknown select parameter {param}")
                if not sc.try_sp():
                    break
            sc.close()
        sc.end()
        return cls(ctx.tag, mailbox, condstore, qresync)

    return parse


def _qresync(sc: Scanner) -> QResyncParams:
    sc.open()
    uidvalidity = sc.number(nonzero=True)
    sc.sp()
    modseq = sc.modseq()
    known = None
    match = None
    if sc.try_sp():
        if sc.peek() != 0x28:
            known = sc.sequence_set()
            if known.saved or any(a is None or b is None for a, b in known.ranges):
                raise sc.error('"*" and "$" are not allowed in known-uids')
            sc.try_sp()
        if sc.peek() == 0x28:
            sc.open()
            seqs = sc.sequence_set()
            sc.sp()
            uids = sc.sequence_set()
            sc.close()
            match = (seqs, uids)
    sc.close()
    return QResyncParams(uidvalidity, modseq, known, match)


def _create(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mailbox = ctx.mailbox()
    use: tuple[str, ...] = ()
    if sc.try_sp():  # RFC 6154 §3: CREATE mailbox (USE (\Drafts))
        sc.open()
        sc.expect("USE")
        sc.sp()
        use = ctx.flag_list()
        sc.close()
    sc.end()
    return Create(ctx.tag, mailbox, use)


def _one_mailbox(cls: type[Delete] | type[Subscribe] | type[Unsubscribe]) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        ctx.sc.sp()
        mailbox = ctx.mailbox()
        ctx.sc.end()
        return cls(ctx.tag, mailbox)

    return parse


def _rename(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    old = ctx.mailbox()
    sc.sp()
    new = ctx.mailbox()
    sc.end()
    return Rename(ctx.tag, old, new)


def _status_items(ctx: _Ctx) -> tuple[str, ...]:
    items = ctx.keyword_list()
    for item in items:
        if item not in STATUS_ITEMS:
            raise ctx.sc.error(f"unknown status item {item}")
    return items


def _list(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    selection: set[str] = set()
    extended = False
    if sc.peek() == 0x28:  # RFC 5258 §3 list-select-opts
        extended = True
        sc.open()
        if not sc.try_close():
            while True:
                opt = sc.keyword()
                if opt not in LIST_SELECT_OPTIONS:
                    raise sc.error(f"unknown LIST selection option {opt}")  # RFC 5258 §3: MUST be BAD
                selection.add(opt)
                if not sc.try_sp():
                    break
            sc.close()
        sc.sp()
        if "RECURSIVEMATCH" in selection and not selection - {"RECURSIVEMATCH", "REMOTE"}:
            # RFC 5258 §3.1: never the only selection option, nor only with REMOTE: BAD.
            raise sc.error("RECURSIVEMATCH needs another selection option")
    reference = ctx.reference()
    bad_reference = ctx.bad_pattern
    sc.sp()
    given: list[str | None]
    if sc.peek() == 0x28:
        extended = True
        sc.open()
        given = [ctx.pattern()]
        while sc.try_sp():
            given.append(ctx.pattern())
        sc.close()
    else:
        given = [ctx.pattern()]
    # Patterns that are not valid modified UTF-7 match nothing: LIST answers OK with no
    # mailbox for them (not BAD: they are well-formed list-mailbox syntax).
    patterns = [] if bad_reference else [p for p in given if p is not None]
    subscribed = children = special = False
    status: tuple[str, ...] | None = None
    if sc.try_sp():
        extended = True
        sc.expect("RETURN")
        sc.sp()
        sc.open()
        if not sc.try_close():
            while True:
                opt = sc.keyword()
                if opt == "SUBSCRIBED":
                    subscribed = True
                elif opt == "CHILDREN":
                    children = True
                elif opt == "SPECIAL-USE":  # RFC 6154 §4
                    special = True
                elif opt == "STATUS":  # RFC 5819 §2
                    sc.sp()
                    status = _status_items(ctx)
                else:
                    raise sc.error(f"unknown LIST return option {opt}")
                if not sc.try_sp():
                    break
            sc.close()
    sc.end()
    return List(
        ctx.tag, reference, tuple(patterns), frozenset(selection), subscribed, children, special, status, extended
    )


def _lsub(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    reference = ctx.reference()
    sc.sp()
    pattern = ctx.pattern()
    sc.end()
    if ctx.bad_pattern or pattern is None:
        return Lsub(ctx.tag, "", "")  # matches no subscribed name: an empty OK
    return Lsub(ctx.tag, reference, pattern)


def _status(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mailbox = ctx.mailbox()
    sc.sp()
    items = _status_items(ctx)
    sc.end()
    return Status(ctx.tag, mailbox, items)


def _append(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mailbox = ctx.mailbox()
    messages: list[AppendMessage] = []
    while not sc.at_end():  # RFC 3502 MULTIAPPEND: 1*append-message
        sc.sp()
        flags: tuple[str, ...] = ()
        when: datetime | None = None
        if sc.peek() == 0x28:
            flags = ctx.flag_list()
            sc.sp()
        if sc.peek() == 0x22:
            when = parse_date_time(sc.text(sc.quoted()))
            sc.sp()
        utf8 = False
        if sc.peek_keyword() == "CATENATE":  # RFC 4469 §5
            messages.append(AppendMessage(b"", flags, when, parts=_catenate_parts(sc)))
            continue
        if sc.at_literal():
            data, binary = sc.literal_any()
        else:
            sc.expect("UTF8")  # RFC 6855 §4: append-data-ext = "UTF8" SP "(" literal8 ")"
            sc.sp()
            sc.open()
            if sc.peek() != 0x7E:
                raise sc.error("UTF8 APPEND needs a literal8")
            data, binary = sc.literal_any()
            sc.close()
            utf8 = True
        if not binary and not isinstance(data, StreamedLiteral) and 0 in data:
            raise sc.error("NUL in literal: use literal8 (~{n})")
        messages.append(AppendMessage(data, flags, when, binary, utf8))
    if not messages:
        raise sc.error("APPEND needs a message")
    return Append(ctx.tag, mailbox, tuple(messages))


def _catenate_parts(sc: Scanner) -> tuple[CatenatePart, ...]:
    # RFC 4469 §5: "CATENATE" SP "(" cat-part *(SP cat-part) ")";
    # cat-part = "TEXT" SP literal / "URL" SP url (an astring)
    sc.expect("CATENATE")
    sc.sp()
    sc.open()
    parts: list[CatenatePart] = []
    while True:
        kind = sc.keyword()
        sc.sp()
        if kind == "TEXT":
            if not sc.at_literal():
                raise sc.error("CATENATE TEXT needs a literal")
            data, binary = sc.literal_any()
            if binary:
                raise sc.error("CATENATE TEXT takes a literal, not a literal8")  # RFC 4469 §5 text-literal
            if not isinstance(data, StreamedLiteral) and 0 in data:
                raise sc.error("NUL in literal")
            parts.append(CatenatePart(text=data))
        elif kind == "URL":
            parts.append(CatenatePart(url=sc.text(sc.astring())))
        else:
            raise sc.error(f"unknown CATENATE part {kind}")
        if sc.try_close():
            return tuple(parts)
        sc.sp()


def _decoder(charset: str | None) -> Callable[[bytes], str]:
    name = "utf-8" if charset is None or charset.upper() in ("US-ASCII", "UTF-8") else charset
    try:
        codecs.lookup(name)
    except LookupError:
        # RFC 9051 §6.4.4: unknown charset is NO [BADCHARSET (...)]
        raise ImapSyntaxError(f"unsupported charset {charset}", code=BAD_CHARSET_CODE, status="NO") from None

    def decode(raw: bytes) -> str:
        try:
            return raw.decode(name)
        except (UnicodeDecodeError, LookupError):
            raise ImapSyntaxError(f"string not valid in {name}") from None

    return decode


def _search(uid: bool) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        sc = ctx.sc
        sc.sp()
        return_options: tuple[str, ...] | None = None
        charset: str | None = None
        partial: tuple[int, int] | None = None
        if sc.peek_keyword() == "RETURN":  # RFC 4731 §3 / RFC 4466 search-return-opts
            sc.keyword()
            sc.sp()
            parsed = parse_return_options(sc, SEARCH_RETURN_OPTIONS, "SEARCH")
            return_options, partial = parsed.options, parsed.partial
            sc.sp()
        if sc.peek_keyword() == "CHARSET":
            sc.keyword()
            sc.sp()
            charset = sc.text(sc.astring())
            sc.sp()
        decode = _decoder(charset)
        keys: list[SearchKey] = [parse_search_key(sc, decode)]
        while sc.try_sp():
            keys.append(parse_search_key(sc, decode))
        sc.end()
        criteria = keys[0] if len(keys) == 1 else And(tuple(keys))
        return Search(ctx.tag, uid, charset, criteria, return_options, partial)

    return parse


def _fetch(uid: bool) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        sc = ctx.sc
        sc.sp()
        seqset = sc.sequence_set()
        sc.sp()
        items, macro = parse_fetch_items(sc)
        changedsince: int | None = None
        vanished = False
        if sc.try_sp():  # RFC 4466 fetch-modifiers
            sc.open()
            while True:
                mod = sc.keyword()
                if mod == "CHANGEDSINCE":  # RFC 7162 §3.1.4.1
                    sc.sp()
                    changedsince = sc.modseq()
                elif mod == "VANISHED":  # RFC 7162 §3.2.6
                    vanished = True
                else:
                    raise sc.error(f"unknown FETCH modifier {mod}")
                if not sc.try_sp():
                    break
            sc.close()
        sc.end()
        if vanished and (not uid or changedsince is None):
            raise sc.error("VANISHED needs UID FETCH and CHANGEDSINCE")  # RFC 7162 §3.2.6
        return Fetch(ctx.tag, uid, seqset, items, macro, changedsince, vanished)

    return parse


def _store(uid: bool) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        sc = ctx.sc
        sc.sp()
        seqset = sc.sequence_set()
        sc.sp()
        unchangedsince: int | None = None
        if sc.peek() == 0x28:  # RFC 7162 §3.1.3 store-modifier
            sc.open()
            sc.expect("UNCHANGEDSINCE")
            sc.sp()
            unchangedsince = sc.modseq()
            sc.close()
            sc.sp()
        mode: StoreMode = "replace"
        if sc.try_char(b"+"):
            mode = "add"
        elif sc.try_char(b"-"):
            mode = "remove"
        word = sc.keyword()
        if word not in ("FLAGS", "FLAGS.SILENT"):
            raise sc.error("expected FLAGS, +FLAGS or -FLAGS")
        sc.sp()
        if sc.peek() == 0x28:
            flags = ctx.flag_list()
        else:
            single = [sc.flag()]
            while sc.try_sp():
                single.append(sc.flag())
            flags = tuple(single)
        sc.end()
        return Store(ctx.tag, uid, seqset, mode, word.endswith(".SILENT"), flags, unchangedsince)

    return parse


def _copy_move(cls: type[Copy] | type[Move], uid: bool) -> Callable[[_Ctx], Command]:
    def parse(ctx: _Ctx) -> Command:
        sc = ctx.sc
        sc.sp()
        seqset = sc.sequence_set()
        sc.sp()
        mailbox = ctx.mailbox()
        sc.end()
        return cls(ctx.tag, uid, seqset, mailbox)

    return parse


def _uid_expunge(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    uids = sc.sequence_set()
    sc.end()
    return UidExpunge(ctx.tag, uids)


def _id(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    if sc.try_keyword("NIL"):
        sc.end()
        return Id(ctx.tag, None)
    sc.open()
    params: list[tuple[str, str | None]] = []
    if not sc.try_close():
        while True:
            field = sc.text(sc.string())
            sc.sp()
            value = sc.nstring()
            params.append((field, None if value is None else sc.text(value)))
            if not sc.try_sp():
                break
        sc.close()
    sc.end()
    if len(params) > 30:
        raise sc.error("ID takes at most 30 field-value pairs")  # RFC 2971 §3.3
    return Id(ctx.tag, tuple(params))


# ---- RFC 4978 COMPRESS, RFC 9208 QUOTA ---------------------------------------------------


def _compress(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mechanism = sc.keyword()
    sc.end()
    return Compress(ctx.tag, mechanism)


def _getquota(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    root = sc.text(sc.astring())
    sc.end()
    return GetQuota(ctx.tag, root)


def _getquotaroot(ctx: _Ctx) -> Command:
    sc = ctx.sc
    sc.sp()
    mailbox = ctx.mailbox()
    sc.end()
    return GetQuotaRoot(ctx.tag, mailbox)


def _setquota(ctx: _Ctx) -> Command:
    # RFC 9208 §4.1: setquota = "SETQUOTA" SP quota-root SP setquota-list
    sc = ctx.sc
    sc.sp()
    root = sc.text(sc.astring())
    sc.sp()
    sc.open()
    limits: list[tuple[str, int]] = []
    if not sc.try_close():
        while True:
            resource = sc.keyword()
            sc.sp()
            limits.append((resource, sc.number(maximum=2**63 - 1)))
            if sc.try_close():
                break
            sc.sp()
    sc.end()
    return SetQuota(ctx.tag, root, tuple(limits))


# ---- RFC 5464 METADATA ---------------------------------------------------------------------


def metadata_entry(raw: bytes, *, root: bool = False) -> str:
    """A valid entry name, lower-cased (RFC 5464 §3.2: case-insensitive, slash-separated,
    in /private or /shared, no "*" or "%", no empty component); ImapSyntaxError else.
    ``root``: "/private" and "/shared" themselves are allowed (GETMETADATA with DEPTH)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ImapSyntaxError("entry name is not UTF-8") from None
    parts = text.split("/")
    if (
        len(parts) < (2 if root else 3)
        or parts[0] != ""
        or parts[1].lower() not in ("private", "shared")
        or any(not p for p in parts[2:])
        or any(c in "*%" or ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    ):
        raise ImapSyntaxError(f"invalid entry name {text!r}")
    return text.lower()


_DEPTHS: dict[str, Literal["0", "1", "infinity"]] = {"0": "0", "1": "1", "infinity": "infinity"}


def _getmetadata(ctx: _Ctx) -> Command:
    # RFC 5464 §4.2: "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
    sc = ctx.sc
    sc.sp()
    maxsize: int | None = None
    depth: Literal["0", "1", "infinity"] = "0"
    if sc.peek() == 0x28:
        sc.open()
        while True:
            option = sc.keyword()
            sc.sp()
            if option == "MAXSIZE":
                maxsize = sc.number()
            elif option == "DEPTH":
                found = _DEPTHS.get(sc.atom().lower())
                if found is None:
                    raise sc.error("DEPTH is 0, 1 or infinity")
                depth = found
            else:
                raise sc.error(f"unknown GETMETADATA option {option}")
            if sc.try_close():
                break
            sc.sp()
        sc.sp()
    mailbox = ctx.mailbox()
    sc.sp()
    entries: list[str] = []
    if sc.peek() == 0x28:
        sc.open()
        entries.append(metadata_entry(sc.astring(), root=True))
        while sc.try_sp():
            entries.append(metadata_entry(sc.astring(), root=True))
        sc.close()
    else:
        entries.append(metadata_entry(sc.astring(), root=True))
    sc.end()
    return GetMetadata(ctx.tag, mailbox, tuple(entries), maxsize, depth)


def _setmetadata(ctx: _Ctx) -> Command:
    # RFC 5464 §4.3: "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
    sc = ctx.sc
    sc.sp()
    mailbox = ctx.mailbox()
    sc.sp()
    sc.open()
    values: list[tuple[str, bytes | None]] = []
    while True:
        entry = metadata_entry(sc.astring())
        sc.sp()
        value: bytes | None
        if sc.at_literal():
            literal, _binary = sc.literal_any()  # value = nstring / literal8: NUL allowed in ~{n}
            if not isinstance(literal, bytes):  # pragma: no cover - the reader streams only APPEND
                raise sc.error("unexpected streamed literal")
            if 0 in literal and not _binary:
                raise sc.error("NUL in literal")  # RFC 9051 §4.3: only literal8 may hold NUL
            value = literal
        else:
            value = sc.nstring()
        values.append((entry, value))
        if sc.try_close():
            break
        sc.sp()
    sc.end()
    return SetMetadata(ctx.tag, mailbox, tuple(values))


_COMMANDS: dict[str, Callable[[_Ctx], Command]] = {
    "CAPABILITY": _no_args(Capability),
    "NOOP": _no_args(Noop),
    "LOGOUT": _no_args(Logout),
    "STARTTLS": _no_args(StartTLS),
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "ENABLE": _enable,
    "SELECT": _select(Select),
    "EXAMINE": _select(Examine),
    "CREATE": _create,
    "DELETE": _one_mailbox(Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(Subscribe),
    "UNSUBSCRIBE": _one_mailbox(Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "NAMESPACE": _no_args(Namespace),
    "STATUS": _status,
    "APPEND": _append,
    "IDLE": _no_args(Idle),
    "CHECK": _no_args(Check),
    "CLOSE": _no_args(Close),
    "UNSELECT": _no_args(Unselect),
    "EXPUNGE": _no_args(Expunge),
    "SEARCH": _search(False),
    "FETCH": _fetch(False),
    "STORE": _store(False),
    "COPY": _copy_move(Copy, False),
    "MOVE": _copy_move(Move, False),
    "ID": _id,
    "UID SEARCH": _search(True),
    "UID FETCH": _fetch(True),
    "UID STORE": _store(True),
    "UID COPY": _copy_move(Copy, True),
    "UID MOVE": _copy_move(Move, True),
    "UID EXPUNGE": _uid_expunge,
    # RFC 4978 COMPRESS, RFC 9208 QUOTA
    "COMPRESS": _compress,
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _getquotaroot,
    "SETQUOTA": _setquota,
    # RFC 5464 METADATA
    "GETMETADATA": _getmetadata,
    "SETMETADATA": _setmetadata,
}


# RFC 5256 SORT and THREAD, RFC 5267 ESORT: parsed in wire/imap/sort.py.
def _with_scanner(parse: Callable[[Scanner, str], Command]) -> Callable[[_Ctx], Command]:
    return lambda ctx: parse(ctx.sc, ctx.tag)


_COMMANDS.update(
    {
        "SORT": _with_scanner(sort.parse_sort(False)),
        "UID SORT": _with_scanner(sort.parse_sort(True)),
        "THREAD": _with_scanner(sort.parse_thread(False)),
        "UID THREAD": _with_scanner(sort.parse_thread(True)),
        # RFC 5465 NOTIFY: parsed in wire/imap/notify.py, with the session's mailbox names
        "NOTIFY": lambda ctx: notify.parse_notify(ctx.sc, ctx.tag, ctx.mailbox),
        "CANCELUPDATE": _with_scanner(sort.parse_cancelupdate),  # RFC 5267 §4.3.5
    }
)


def parse_command(
    framed: FramedCommand, *, utf8_names: bool = False, max_nesting: int = 32, max_search_depth: int = 100
) -> Command:
    """Parse a whole framed command; raises :class:`ImapSyntaxError` (with tag when known)."""
    sc = Scanner(framed, max_nesting=max_nesting, max_search_depth=max_search_depth)
    raw_tag = sc._run(_TAG_CHARS)
    if not raw_tag or sc.peek() != 0x20:
        raise ImapSyntaxError("missing or invalid tag")
    tag = raw_tag.decode("ascii")
    try:
        sc.sp()
        name = sc.keyword()
        if name == "UID":
            sc.sp()
            name = "UID " + sc.keyword()
        handler = _COMMANDS.get(name)
        if handler is None:
            raise ImapSyntaxError(f"unknown command {name}")
        ctx = _Ctx(sc, tag, utf8_names)
        command = handler(ctx)
        if ctx.bad_name is not None:
            raise ImapSyntaxError(ctx.bad_name, tag, status="NO", code="CANNOT")
        return command
    except ImapSyntaxError as exc:
        raise exc.with_tag(tag)
    except (ValueError, IndexError, OverflowError) as exc:  # defence in depth: never leak another type
        raise ImapSyntaxError(f"malformed command: {exc}", tag) from None


_INLINE_LITERAL = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}\r\n")


def parse_line(text: bytes | str, *, utf8_names: bool = False) -> Command:
    """Parse a command written in one piece with literals inline (``b'a LOGIN {3}\\r\\nbob x'``).

    For tests and tools; the server uses :class:`~.reader.CommandReader`."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    data = data.removesuffix(b"\r\n")
    lines: list[bytes] = []
    literals: list[bytes | StreamedLiteral] = []
    pos = 0
    while (m := _INLINE_LITERAL.search(data, pos)) is not None:
        lines.append(data[pos : m.end() - 2])
        size = int(m.group(2))
        literals.append(data[m.end() : m.end() + size])
        pos = m.end() + size
    lines.append(data[pos:])
    return parse_command(FramedCommand(tuple(lines), tuple(literals)), utf8_names=utf8_names)


def is_done(line: bytes) -> bool:
    """True for the ``DONE`` line that ends IDLE (RFC 2177, RFC 9051 §6.3.13)."""
    return line.upper() == b"DONE"


def parse_sasl_response(line: bytes) -> bytes:
    """Decode a client's AUTHENTICATE continuation line (RFC 9051 §6.2.2).

    Returns the decoded bytes; raises :class:`SASLCancelled` for ``*`` and
    :class:`ImapSyntaxError` for invalid base64."""
    if line == b"*":
        raise SASLCancelled()
    if line == b"":
        return b""
    return _b64decode(line)
