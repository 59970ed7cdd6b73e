"""Rules every Store backend applies the same way: mailbox names, flags, counters.

Kept here so the memory and SQLite backends cannot drift apart. Invariants:
flags are stored canonical (system flags spelled ``\\Seen`` etc., no ``\\Recent``,
no two flags equal ignoring case); ``INBOX`` is always spelled so.
"""

from __future__ import annotations

from postoffice.errors import Kind, MailError
from postoffice.store.api import SYSTEM_FLAGS, FlagUpdate

__all__ = [
    "CANONICAL_FLAGS",
    "mailbox_name",
    "canonical_flags",
    "apply_flag_update",
    "encode_flags",
    "decode_flags",
    "flag_counters",
    "next_uidvalidity",
    "SEPARATOR",
    "renamed_names",
    "missing_parents",
]

SEPARATOR = "/"  # the hierarchy separator of stored mailbox names

# RFC 9051 §2.3.2: a system flag's canonical spelling, by its lower-case form.
CANONICAL_FLAGS: dict[str, str] = {f.lower(): f for f in SYSTEM_FLAGS}


def mailbox_name(name: str) -> str:
    """RFC 9051 §5.1: INBOX is case-insensitive; every other name is kept as given."""
    if not name or "\x00" in name:
        raise MailError(Kind.INVALID, "bad mailbox name")
    return "INBOX" if name.upper() == "INBOX" else name


def canonical_flags(flags: frozenset[str] | set[str] | tuple[str, ...]) -> frozenset[str]:
    """System flags spelled canonically, \\Recent dropped, case-insensitive duplicates merged
    (RFC 9051 §2.3.2: flags are compared case-insensitively)."""
    seen: dict[str, str] = {}
    for flag in sorted(flags):
        low = flag.lower()
        if low == "\\recent" or not flag or " " in flag:
            continue
        seen.setdefault(low, CANONICAL_FLAGS.get(low, flag))
    return frozenset(seen.values())


def apply_flag_update(current: frozenset[str], update: FlagUpdate) -> frozenset[str]:
    """The flags a message has after STORE FLAGS / +FLAGS / -FLAGS (RFC 9051 §6.4.6)."""
    given = canonical_flags(update.flags)
    if update.mode == "set":
        return given
    have = {f.lower() for f in current}
    if update.mode == "add":
        return current | {f for f in given if f.lower() not in have}
    drop = {f.lower() for f in given}
    return frozenset(f for f in current if f.lower() not in drop)


def encode_flags(flags: frozenset[str]) -> str:
    """One compact text column: sorted, space-separated (flag atoms never hold spaces)."""
    return " ".join(sorted(flags))


def decode_flags(text: str, cache: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    if cache is None:
        return frozenset(text.split())
    got = cache.get(text)
    if got is None:
        got = cache[text] = frozenset(text.split())
    return got


def flag_counters(flags: frozenset[str]) -> tuple[int, int]:
    """(unseen, deleted) contribution of one message to its mailbox's counters."""
    return (0 if "\\Seen" in flags else 1, 1 if "\\Deleted" in flags else 0)


def next_uidvalidity(now: float, last: int) -> int:
    """RFC 9051 §2.3.1.1: a UIDVALIDITY never repeats for a name. Time-based, strictly
    increasing within one store, so a deleted and re-created name gets a new value;
    kept below 2**32 (nz-number)."""
    value = max(int(now), last + 1)
    if value >= 2**32:
        raise MailError(Kind.UNAVAILABLE, "UIDVALIDITY space exhausted")
    return value


def renamed_names(old: str, new: str, existing: set[str]) -> list[tuple[str, str]]:
    """(name, new name) for a mailbox and each of its children renamed from ``old`` to
    ``new`` (RFC 9051 §6.3.6: inferior hierarchical names are renamed too, except
    INBOX's: renaming INBOX moves its messages to ``new`` and renames nothing, so the
    list holds the pair for ``new`` alone). MailError(INVALID) for a rename into
    itself, (EXISTS) if a new name is taken by a mailbox that is not renamed away."""
    if old == "INBOX":  # its children stay: "INBOX/old" is a name like any other
        if new in existing:
            raise MailError(Kind.EXISTS, f"mailbox {new} exists")
        return [(old, new)]
    if new == old or new.startswith(old + SEPARATOR):
        raise MailError(Kind.INVALID, "a mailbox cannot be renamed into itself")
    prefix = old + SEPARATOR
    renames = [(old, new)] + sorted((n, new + n[len(old) :]) for n in existing if n.startswith(prefix))
    staying = existing - {n for n, _ in renames}
    for _, target in renames:
        if target in staying or target == "INBOX":
            raise MailError(Kind.EXISTS, f"mailbox {target} exists")
    return renames


def missing_parents(name: str, existing: set[str]) -> list[str]:
    """The parents of ``name`` that do not exist, outermost first."""
    parts = name.split(SEPARATOR)
    parents = [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]
    return [p for p in parents if p and p not in existing]
