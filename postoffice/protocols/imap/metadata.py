"""METADATA (RFC 5464): annotations of the server and of mailboxes.

GETMETADATA with MAXSIZE (§4.2.1) and DEPTH (§4.2.2), SETMETADATA (§4.3). Mailbox
``""`` names the server; server annotations are kept per account (no user may change
what another one sees). /private and /shared are both kept: with no shared mailboxes
the two differ only by name, as §3.1 allows. Limits (``[limits.imap]``):
``max_metadata_size`` octets per value (``NO [METADATA MAXSIZE n]``) and
``max_metadata_entries`` per server or mailbox (``NO [METADATA TOOMANY]``); a refused
SETMETADATA changes nothing (§4.3). A requested entry without a value is returned
as NIL; MAXSIZE leaves out longer values and says so with ``OK [METADATA LONGENTRIES n]``,
n the size of the longest left out. Annotations go with their mailbox or account.
"""

from __future__ import annotations

from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r

from .errors import Refusal
from .session import Session

__all__ = ["getmetadata", "setmetadata"]


def _select(entries: dict[str, bytes], wanted: str, depth: str) -> list[tuple[str, bytes | None]]:
    """``wanted`` (its value, or NIL) and, per DEPTH, its descendants with values. The
    roots /private and /shared hold no value of their own: only their descendants."""
    root = wanted.count("/") == 1
    out: list[tuple[str, bytes | None]] = [] if root else [(wanted, entries.get(wanted))]
    if depth != "0":
        prefix = wanted + "/"
        for entry in sorted(entries):
            if entry.startswith(prefix) and (depth == "infinity" or "/" not in entry[len(prefix) :]):
                out.append((entry, entries[entry]))
    return out


async def getmetadata(s: Session, cmd: c.GetMetadata) -> bytes | None:
    assert s.account is not None
    mailbox = cmd.mailbox or None
    entries = await s.mail.get_metadata(s.account, mailbox)
    items: list[tuple[str, bytes | None]] = []
    seen: set[str] = set()
    longest = 0
    for wanted in cmd.entries:
        for entry, value in _select(entries, wanted, cmd.depth):
            if entry in seen:
                continue
            seen.add(entry)
            if cmd.maxsize is not None and value is not None and len(value) > cmd.maxsize:
                longest = max(longest, len(value))  # RFC 5464 §4.2.1
                continue
            items.append((entry, value))
    if items:
        s.write(r.metadata_response(cmd.mailbox, items, utf8=s.utf8))
    if longest:
        return r.OK_METADATA.tagged(cmd.tag, "GETMETADATA completed", args=f"LONGENTRIES {longest}")
    return None


async def setmetadata(s: Session, cmd: c.SetMetadata) -> bytes | None:
    assert s.account is not None
    limit = s.limits.max_metadata_size
    for _entry, value in cmd.values:
        if value is not None and len(value) > limit:
            raise Refusal(r.NO_METADATA, "value too long", args=f"MAXSIZE {limit}")  # RFC 5464 §4.3
    changes = dict(cmd.values)  # the last value of an entry named twice wins
    ok = await s.mail.set_metadata(
        s.account, cmd.mailbox or None, changes, max_entries=s.limits.max_metadata_entries
    )
    if not ok:
        raise Refusal(r.NO_METADATA, "too many annotations", args="TOOMANY")  # RFC 5464 §4.3
    return None
