"""SEARCH criteria (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5, RFC 5032).

A search program is a tree of frozen dataclasses (:data:`SearchKey`). Several keys side
by side (top level or in parentheses) form an :class:`And`. Strings are already decoded
from the command's CHARSET. The server evaluates the tree; nothing here knows messages.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import ImapSyntaxError
from .seqset import SequenceSet

if TYPE_CHECKING:
    from .scanner import Scanner

__all__ = [
    "SearchKey",
    "All",
    "FlagKey",
    "Keyword",
    "HeaderContains",
    "TextContains",
    "DateKey",
    "SizeKey",
    "SeqSetKey",
    "UidKey",
    "Not",
    "Or",
    "And",
    "ModSeqKey",
    "AgeKey",
    "SaveDateKey",
    "ObjectIdKey",
    "FLAG_KEYS",
    "SEARCH_RETURN_OPTIONS",
    "ReturnOptions",
    "parse_return_options",
    "parse_search_key",
    "parse_date",
]

# Keys without argument that test a system flag or the \Recent state.
FLAG_KEYS = frozenset(
    {
        "ANSWERED",
        "DELETED",
        "DRAFT",
        "FLAGGED",
        "SEEN",
        "UNANSWERED",
        "UNDELETED",
        "UNDRAFT",
        "UNFLAGGED",
        "UNSEEN",
        "NEW",
        "OLD",
        "RECENT",
    }  # NEW/OLD/RECENT: RFC 3501 only
)
# RFC 4731, RFC 5182; RFC 5267 §4.2-§4.4 (CONTEXT=SEARCH): CONTEXT, UPDATE, PARTIAL
SEARCH_RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE", "PARTIAL"})
_HEADER_KEYS = {"BCC": "BCC", "CC": "CC", "FROM": "FROM", "SUBJECT": "SUBJECT", "TO": "TO"}
_DATE_KEYS: dict[str, tuple[Literal["BEFORE", "ON", "SINCE"], bool]] = {
    "BEFORE": ("BEFORE", False),
    "ON": ("ON", False),
    "SINCE": ("SINCE", False),
    "SENTBEFORE": ("BEFORE", True),
    "SENTON": ("ON", True),
    "SENTSINCE": ("SINCE", True),
}
_SAVEDATE_KEYS: dict[str, Literal["BEFORE", "ON", "SINCE"]] = {
    "SAVEDBEFORE": "BEFORE", "SAVEDON": "ON", "SAVEDSINCE": "SINCE",
}  # fmt: skip
_OBJECTID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class All:
    pass


@dataclass(frozen=True)
class FlagKey:
    """ANSWERED, UNSEEN, NEW, OLD, RECENT, ... (upper-cased key)."""

    key: str


@dataclass(frozen=True)
class Keyword:
    keyword: str
    negated: bool = False  # UNKEYWORD


@dataclass(frozen=True)
class HeaderContains:
    """FROM/TO/CC/BCC/SUBJECT (``field`` upper-cased) and HEADER field-name string."""

    field: str
    value: str


@dataclass(frozen=True)
class TextContains:
    where: Literal["BODY", "TEXT"]
    value: str


@dataclass(frozen=True)
class DateKey:
    """BEFORE/ON/SINCE on the internal date; ``sent`` for SENTBEFORE/SENTON/SENTSINCE."""

    op: Literal["BEFORE", "ON", "SINCE"]
    date: _dt.date
    sent: bool = False


@dataclass(frozen=True)
class SizeKey:
    op: Literal["LARGER", "SMALLER"]
    size: int


@dataclass(frozen=True)
class SeqSetKey:
    sequence_set: SequenceSet  # may be "$" (RFC 5182)


@dataclass(frozen=True)
class UidKey:
    sequence_set: SequenceSet


@dataclass(frozen=True)
class Not:
    key: SearchKey


@dataclass(frozen=True)
class Or:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True)
class And:
    keys: tuple[SearchKey, ...]


@dataclass(frozen=True)
class ModSeqKey:
    """RFC 7162 §3.1.5: MODSEQ ["/flags/\\Seen" priv|shared|all] modseq."""

    modseq: int
    entry_name: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True)
class AgeKey:
    """RFC 5032 WITHIN: OLDER/YOUNGER n seconds (internal date)."""

    op: Literal["OLDER", "YOUNGER"]
    seconds: int


@dataclass(frozen=True)
class SaveDateKey:
    """RFC 8514 §4.2: SAVEDBEFORE/SAVEDON/SAVEDSINCE date; SAVEDATESUPPORTED has no ``op``."""

    op: Literal["BEFORE", "ON", "SINCE"] | None
    date: _dt.date | None = None


@dataclass(frozen=True)
class ObjectIdKey:
    """RFC 8474 §6: EMAILID objectid, THREADID objectid."""

    kind: Literal["EMAILID", "THREADID"]
    value: str


SearchKey = (
    SaveDateKey
    | ObjectIdKey
    | All
    | FlagKey
    | Keyword
    | HeaderContains
    | TextContains
    | DateKey
    | SizeKey
    | SeqSetKey
    | UidKey
    | Not
    | Or
    | And
    | ModSeqKey
    | AgeKey
)


def parse_date(text: str) -> _dt.date:
    """RFC 9051 §9 date-text ``1-Feb-1994`` (the month name is case-insensitive)."""
    parts = text.split("-")
    if len(parts) != 3 or not (1 <= len(parts[0]) <= 2) or len(parts[2]) != 4:
        raise ImapSyntaxError(f"bad date {text!r}")
    day, month, year = parts
    if not (day.isdigit() and day.isascii() and year.isdigit() and year.isascii()) or month.upper() not in _MONTHS:
        raise ImapSyntaxError(f"bad date {text!r}")
    try:
        return _dt.date(int(year), _MONTHS.index(month.upper()) + 1, int(day))
    except ValueError:
        raise ImapSyntaxError(f"bad date {text!r}") from None


def parse_search_key(sc: Scanner, decode: Callable[[bytes], str]) -> SearchKey:
    """Parse one search key at the scanner's position.

    Keys nest (NOT, OR, parentheses) at most ``sc.max_search_depth`` deep, so neither this
    parser nor an evaluator that recurses like it can exhaust the stack."""
    if sc.search_depth > sc.max_search_depth:
        raise sc.error(f"search keys nested deeper than {sc.max_search_depth}")
    sc.search_depth += 1
    try:
        return _search_key(sc, decode)
    finally:
        sc.search_depth -= 1


def _search_key(sc: Scanner, decode: Callable[[bytes], str]) -> SearchKey:
    if sc.peek() == 0x28:  # "(" search-key *(SP search-key) ")"
        sc.open()
        keys = [parse_search_key(sc, decode)]
        while sc.try_sp():
            keys.append(parse_search_key(sc, decode))
        sc.close()
        return keys[0] if len(keys) == 1 else And(tuple(keys))
    c = sc.peek()
    if c is not None and (0x30 <= c <= 0x39 or c in (0x2A, 0x24)):  # digit, "*", "$"
        return SeqSetKey(sc.sequence_set())
    key = sc.keyword()
    if key == "ALL":
        return All()
    if key in FLAG_KEYS:
        return FlagKey(key)
    if key in ("KEYWORD", "UNKEYWORD"):
        sc.sp()
        return Keyword(sc.atom(), negated=key == "UNKEYWORD")
    if key in _HEADER_KEYS:
        sc.sp()
        return HeaderContains(_HEADER_KEYS[key], decode(sc.astring()))
    if key == "HEADER":
        sc.sp()
        field = sc.text(sc.astring())
        sc.sp()
        return HeaderContains(field.upper(), decode(sc.astring()))
    if key in ("BODY", "TEXT"):
        sc.sp()
        return TextContains("BODY" if key == "BODY" else "TEXT", decode(sc.astring()))
    if key in _DATE_KEYS:
        sc.sp()
        op, sent = _DATE_KEYS[key]
        return DateKey(op, parse_date(sc.text(sc.astring())), sent)
    if key in ("LARGER", "SMALLER"):
        sc.sp()
        return SizeKey("LARGER" if key == "LARGER" else "SMALLER", sc.number(maximum=2**63 - 1))
    if key == "UID":
        sc.sp()
        return UidKey(sc.sequence_set())
    if key == "NOT":
        sc.sp()
        return Not(parse_search_key(sc, decode))
    if key == "OR":
        sc.sp()
        left = parse_search_key(sc, decode)
        sc.sp()
        return Or(left, parse_search_key(sc, decode))
    if key == "MODSEQ":
        sc.sp()
        if sc.peek() == 0x22:  # RFC 7162 §3.1.5 search-modseq-ext = entry-name SP entry-type-req
            entry = sc.text(sc.quoted())
            sc.sp()
            kind = sc.keyword()
            if kind not in ("PRIV", "SHARED", "ALL"):
                raise sc.error("bad MODSEQ entry type")
            sc.sp()
            return ModSeqKey(sc.modseq(), entry, kind.lower())
        return ModSeqKey(sc.modseq())
    if key in ("OLDER", "YOUNGER"):
        sc.sp()
        return AgeKey("OLDER" if key == "OLDER" else "YOUNGER", sc.number(nonzero=True))
    if key in _SAVEDATE_KEYS:  # RFC 8514 §4.2
        sc.sp()
        return SaveDateKey(_SAVEDATE_KEYS[key], parse_date(sc.text(sc.astring())))
    if key == "SAVEDATESUPPORTED":
        return SaveDateKey(None)
    if key in ("EMAILID", "THREADID"):  # RFC 8474 §6: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
        sc.sp()
        value = sc.atom()
        if not _OBJECTID.fullmatch(value):
            raise sc.error(f"bad objectid {value!r}")
        return ObjectIdKey("EMAILID" if key == "EMAILID" else "THREADID", value)
    raise sc.error(f"unknown search key {key}")


# ---- RETURN options (RFC 4466 search-return-opts; RFC 4731, RFC 5267) ----------------------------
@dataclass(frozen=True)
class ReturnOptions:
    """The RETURN list of SEARCH or SORT: the option names in order, and the PARTIAL range
    (first, last), 1-based and inclusive, when PARTIAL is one of them."""

    options: tuple[str, ...]
    partial: tuple[int, int] | None = None


def _partial_range(sc: Scanner) -> tuple[int, int]:
    # RFC 5267 §4.4: partial-range = nz-number ":" nz-number; "500:400 is the same as 400:500"
    first = sc.number(nonzero=True)
    sc.char(b":")
    last = sc.number(nonzero=True)
    return (first, last) if first <= last else (last, first)


def parse_return_options(sc: Scanner, allowed: frozenset[str], what: str) -> ReturnOptions:
    """``"(" [return-opt *(SP return-opt)] ")"`` after ``RETURN SP``: an unknown or repeated
    option is BAD, and so is PARTIAL with ALL (RFC 5267 §4.4: "either one PARTIAL, one
    ALL, or neither")."""
    sc.open()
    opts: list[str] = []
    partial: tuple[int, int] | None = None
    if not sc.try_close():
        while True:
            opt = sc.keyword()
            if opt not in allowed or opt in opts:
                raise sc.error(f"unknown or repeated {what} return option {opt}")
            if opt == "PARTIAL":
                sc.sp()
                partial = _partial_range(sc)
            opts.append(opt)
            if not sc.try_sp():
                break
        sc.close()
    if "PARTIAL" in opts and "ALL" in opts:
        raise sc.error("PARTIAL and ALL cannot both be asked for (RFC 5267 section 4.4)")
    return ReturnOptions(tuple(opts), partial)
