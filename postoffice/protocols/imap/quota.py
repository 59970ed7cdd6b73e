"""QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA and STATUS DELETED-STORAGE.

Each account has one quota root, ``""`` (``mail/quota.py``), over all its mailboxes,
with the resources STORAGE (in units of 1024 octets, RFC 9208 §5.1) and MESSAGE
(§5.2); an account without any limit has no quota root. Limits are the
administrator's (``postoffice user quota``, ``[quota]``): SETQUOTA is refused with
``NO [NOPERM]`` (§4.1), so QUOTASET is not advertised. APPEND, COPY and MOVE that
would exceed a limit get ``NO [OVERQUOTA]`` from the mail layer (§4.1).
"""

from __future__ import annotations

from postoffice.mail.quota import ROOT, QuotaUsage
from postoffice.store.api import Mailbox
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r

from .errors import Refusal
from .session import Session

__all__ = ["getquota", "getquotaroot", "setquota", "deleted_storage"]


def _resources(usage: QuotaUsage) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    if usage.storage_limit:
        # RFC 9208 §5.1: units of 1024 octets; usage rounded up so that any message shows.
        out.append(("STORAGE", (usage.storage + 1023) // 1024, usage.storage_limit // 1024))
    if usage.message_limit:
        out.append(("MESSAGE", usage.messages, usage.message_limit))
    return out


async def getquota(s: Session, cmd: c.GetQuota) -> bytes | None:
    assert s.account is not None
    usage = await s.mail.quota(s.account)
    if cmd.root != ROOT or not usage.limited:
        raise Refusal(r.NO_NONEXISTENT, "no such quota root")  # RFC 9208 §4.2
    s.write(r.quota_response(ROOT, _resources(usage), utf8=s.utf8))
    return None


async def getquotaroot(s: Session, cmd: c.GetQuotaRoot) -> bytes | None:
    assert s.account is not None
    box = await s.mail.get_mailbox(s.account, cmd.mailbox)  # RFC 9208 §4.3: NO for a missing mailbox
    usage = await s.mail.quota(s.account)
    roots = [ROOT] if usage.limited else []
    s.write(r.quotaroot_response(box.name, roots, utf8=s.utf8))
    if usage.limited:
        s.write(r.quota_response(ROOT, _resources(usage), utf8=s.utf8))
    return None


async def setquota(s: Session, cmd: c.SetQuota) -> bytes | None:
    # RFC 9208 §4.1: a user may not change the limits the administrator set.
    raise Refusal(r.NO_NOPERM, "quota limits are set by the administrator")


async def deleted_storage(s: Session, box: Mailbox) -> int:
    """RFC 9208 §4.2.1 STATUS DELETED-STORAGE: the 1024-octet units that EXPUNGE
    would free in ``box`` (messages flagged \\Deleted)."""
    if not box.deleted:
        return 0
    octets = sum(m.size for m in await s.mail.list_messages(box) if "\\Deleted" in m.flags)
    return (octets + 1023) // 1024
