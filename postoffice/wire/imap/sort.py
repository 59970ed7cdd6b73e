"""SORT, THREAD and their UID forms (RFC 5256), with ESORT's RETURN options (RFC 5267).

Commands are parsed whole into :class:`Sort` and :class:`Thread`; responses are rendered
by :func:`sort_response`, :func:`thread_response` and :func:`esort_response`.

Grammar (RFC 5256 §5, RFC 5267 §3 and §4.4)::

    sort            = ["UID" SP] "SORT" [SP sort-return-opts] SP sort-criteria SP
                      search-criteria
    sort-criteria   = "(" sort-criterion *(SP sort-criterion) ")"
    sort-criterion  = ["REVERSE" SP] sort-key
    search-criteria = charset 1*(SP search-key)
    thread          = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    sort-return-opts = "RETURN" SP "(" [return-opt *(SP return-opt)] ")"
    return-opt      = "MIN" / "MAX" / "ALL" / "COUNT" / "PARTIAL" SP partial-range

The charset is mandatory; RFC 5256 §3 requires US-ASCII and UTF-8, and any other is
refused ``NO [BADCHARSET (US-ASCII UTF-8)]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .commands import Command
from .errors import ImapSyntaxError
from .response import CRLF, quoted
from .scanner import Scanner
from .search import And, SearchKey, parse_return_options, parse_search_key

__all__ = [
    "SORT_KEYS",
    "THREAD_ALGORITHMS",
    "SORT_RETURN_OPTIONS",
    "SortCriterion",
    "Sort",
    "Thread",
    "Nested",
    "parse_sort",
    "parse_thread",
    "sort_response",
    "thread_response",
    "esort_response",
    "CancelUpdate",
    "parse_cancelupdate",
    "context_update_response",
]

# RFC 5256 §3 and RFC 5957 §3 (SORT=DISPLAY).
SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"})
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES"})
# RFC 5267 §3 (ESORT) and §4.2-§4.4 (CONTEXT=SORT)
SORT_RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "PARTIAL", "CONTEXT", "UPDATE"})
_CHARSETS = frozenset({"US-ASCII", "UTF-8"})
BAD_CHARSET_CODE = "BADCHARSET (US-ASCII UTF-8)"


@dataclass(frozen=True)
class SortCriterion:
    key: str  # one of SORT_KEYS
    reverse: bool = False


@dataclass(frozen=True)
class Sort(Command):
    """SORT / UID SORT. ``return_options`` None: answer ``* SORT``; otherwise ESORT
    (``* ESEARCH``, RFC 5267 §3) with those options (``()`` means ALL).
    ``partial``: the PARTIAL range (first, last), 1-based and inclusive."""

    uid: bool = False
    criteria: tuple[SortCriterion, ...] = ()
    charset: str = "UTF-8"
    search: SearchKey | None = None
    return_options: tuple[str, ...] | None = None
    partial: tuple[int, int] | None = None

    name: ClassVar[str] = "SORT"


@dataclass(frozen=True)
class Thread(Command):
    uid: bool = False
    algorithm: str = "REFERENCES"
    charset: str = "UTF-8"
    search: SearchKey | None = None

    name: ClassVar[str] = "THREAD"


@dataclass(frozen=True)
class CancelUpdate(Command):
    """CANCELUPDATE (RFC 5267 §4.3.5): the tags of the contexts to stop updating."""

    tags: tuple[str, ...] = ()

    name: ClassVar[str] = "CANCELUPDATE"


def parse_cancelupdate(sc: Scanner, tag: str) -> Command:
    # RFC 5267 §5: command-select =/ "CANCELUPDATE" 1*(SP quoted)
    tags: list[str] = []
    while True:
        sc.sp()
        tags.append(sc.text(sc.quoted()))
        if sc.at_end():
            break
    sc.end()
    return CancelUpdate(tag, tuple(tags))


def _search_criteria(sc: Scanner) -> tuple[str, SearchKey]:
    charset = sc.text(sc.astring()).upper()
    if sc.at_end():
        raise sc.error("expected a charset and search criteria")
    if charset not in _CHARSETS:
        raise ImapSyntaxError(f"unsupported charset {charset}", code=BAD_CHARSET_CODE, status="NO")

    def decode(raw: bytes) -> str:
        try:
            return raw.decode("ascii" if charset == "US-ASCII" else "utf-8")
        except UnicodeDecodeError:
            raise ImapSyntaxError(f"string not valid in {charset}") from None

    sc.sp()
    keys: list[SearchKey] = [parse_search_key(sc, decode)]
    while sc.try_sp():
        keys.append(parse_search_key(sc, decode))
    sc.end()
    return charset, keys[0] if len(keys) == 1 else And(tuple(keys))


def parse_sort(uid: bool) -> Callable[[Scanner, str], Command]:
    def parse(sc: Scanner, tag: str) -> Command:
        sc.sp()
        return_options: tuple[str, ...] | None = None
        partial: tuple[int, int] | None = None
        if sc.try_keyword("RETURN"):
            sc.sp()
            parsed = parse_return_options(sc, SORT_RETURN_OPTIONS, "SORT")
            return_options, partial = parsed.options, parsed.partial
            sc.sp()
        sc.open()
        criteria: list[SortCriterion] = []
        while True:
            reverse = sc.try_keyword("REVERSE")
            if reverse:
                sc.sp()
            key = sc.keyword()
            if key not in SORT_KEYS:
                raise sc.error(f"unknown sort key {key}")
            criteria.append(SortCriterion(key, reverse))
            if not sc.try_sp():
                break
        sc.close()
        sc.sp()
        charset, search = _search_criteria(sc)
        return Sort(tag, uid, tuple(criteria), charset, search, return_options, partial)

    return parse


def parse_thread(uid: bool) -> Callable[[Scanner, str], Command]:
    def parse(sc: Scanner, tag: str) -> Command:
        sc.sp()
        algorithm = sc.keyword()
        if algorithm not in THREAD_ALGORITHMS:
            raise sc.error(f"unsupported threading algorithm {algorithm}")
        sc.sp()
        charset, search = _search_criteria(sc)
        return Thread(tag, uid, algorithm, charset, search)

    return parse


# ---- responses ----------------------------------------------------------------------------------
def sort_response(numbers: Iterable[int], modseq: int | None = None) -> bytes:
    """``* SORT 2 3 6`` (RFC 5256 §4); with CONDSTORE ``(MODSEQ n)`` (RFC 7162 §3.1.5)."""
    out = b"* SORT"
    for n in numbers:
        out += b" %d" % n
    if modseq is not None:
        out += b" (MODSEQ %d)" % modseq
    return out + CRLF


@dataclass(frozen=True)
class Nested:
    """One node of a THREAD answer: a message number (None for a dummy) and its children."""

    number: int | None
    children: tuple[Nested, ...] = ()


def _members(node: Nested) -> bytes:
    """thread-members / thread-nested (RFC 5256 §5): a chain of single children stays
    flat, several children are each parenthesised; iterative for long chains."""
    out = b""
    current: Nested | None = node
    while current is not None:
        if current.number is not None:
            out += (b" " if out else b"") + b"%d" % current.number
        children = current.children
        if len(children) == 1 and current.number is not None:
            current = children[0]
            continue
        if children:
            out += (b" " if out else b"") + b"".join(b"(" + _members(child) + b")" for child in children)
        current = None
    return out


def thread_response(threads: Sequence[Nested]) -> bytes:
    """``* THREAD (2)(3 6 (4 23)(44 7 96))`` (RFC 5256 §4); ``* THREAD`` when empty."""
    return b"* THREAD" + (b" " if threads else b"") + b"".join(b"(" + _members(t) + b")" for t in threads) + CRLF


def _ordered_set(numbers: Sequence[int]) -> str:
    """A sequence list in the given order; runs of consecutive ascending numbers become
    ranges (RFC 5267 §3.2: the order is the sort order)."""
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else f"{numbers[i]}:{numbers[j]}")
        i = j + 1
    return ",".join(parts)


def esort_response(
    tag: str, numbers: Sequence[int], options: Iterable[str], *, uid: bool, partial: tuple[int, int] | None = None,
    modseq: int | None = None,
) -> bytes:
    """``* ESEARCH (TAG "a") UID MIN 5 MAX 2 ALL 5,1:2`` (RFC 5267 §3): MIN and MAX are the
    first and last in sort order; PARTIAL (RFC 5267 §4.4) names its range and the
    numbers in it (NIL if none)."""
    opts = set(options) or {"ALL"}
    out = b"* ESEARCH (TAG " + quoted(tag) + b")"
    if uid:
        out += b" UID"
    if numbers and "MIN" in opts:
        out += b" MIN %d" % numbers[0]
    if numbers and "MAX" in opts:
        out += b" MAX %d" % numbers[-1]
    if numbers and "ALL" in opts:
        out += b" ALL " + _ordered_set(numbers).encode("ascii")
    if "COUNT" in opts:
        out += b" COUNT %d" % len(numbers)
    if partial is not None:
        first, last = partial
        window = numbers[first - 1 : last]
        listed = _ordered_set(window).encode("ascii") if window else b"NIL"
        out += b" PARTIAL (%d:%d " % (first, last) + listed + b")"
    if modseq is not None:
        out += b" MODSEQ %d" % modseq
    return out + CRLF


def context_update_response(tag: str, items: Sequence[tuple[str, int, Sequence[int]]], *, uid: bool) -> bytes:
    """``* ESEARCH (TAG "B01") UID REMOVEFROM (0 7) ADDTO (2 9,4)`` (RFC 5267 §4.3.3,
    §4.3.4): each item is ("ADDTO" or "REMOVEFROM", context position, the numbers in the
    requested order); the client applies them in the order given (§4.3.2)."""
    out = b"* ESEARCH (TAG " + quoted(tag) + b")" + (b" UID" if uid else b"")
    for kind, position, numbers in items:
        out += b" %s (%d %s)" % (kind.encode("ascii"), position, _ordered_set(numbers).encode("ascii"))
    return out + CRLF
