"""What ``postoffice queue ...`` does: list, show, retry, delete and bounce entries.

Works on the store the command line opened, so it works while ``serve`` runs: a retry
makes recipients due now, and the serving process's runner sends them at its next look
at the queue (at most ``[limits.relay] poll_interval`` later).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from postoffice.config import Config
from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService
from postoffice.store.queue import QueueEntry, RecipientUpdate

from .runner import QueueRunner

__all__ = ["entry_json", "format_entry", "bounce_entry", "queue_of"]


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def queue_of(mail: MailService) -> Any:
    if mail.outbound is None:
        raise MailError(Kind.INVALID, "the relay is switched off ([relay] enabled = false)")
    return mail.outbound.queue


def entry_json(entry: QueueEntry, size: int | None = None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "sender": entry.sender,
        "created": _iso(entry.created),
        "size": size,
        "delay_notified": entry.delay_notified,
        "recipients": [
            {
                "address": r.address,
                "status": r.status,
                "attempts": r.attempts,
                "next_attempt": _iso(r.next_attempt) if r.status == "queued" else None,
                "last_attempt": _iso(r.last_attempt),
                "last_reply": r.last_reply,
            }
            for r in entry.recipients
        ],
    }


def format_entry(entry: QueueEntry, size: int | None = None, *, detail: bool = False) -> str:
    """One line per entry, then (``detail``) one indented line per recipient."""
    queued = sum(1 for r in entry.recipients if r.status == "queued")
    head = f"{entry.id}\t{_iso(entry.created)}\t<{entry.sender}>\t{size if size is not None else '-'}\t{queued}/{len(entry.recipients)} queued"
    if not detail:
        head += "\t" + " ".join(r.address for r in entry.recipients if r.status == "queued")
        return head
    lines = [head]
    for r in entry.recipients:
        when = f"next {_iso(r.next_attempt)}" if r.status == "queued" else ""
        lines.append(f"  {r.address}\t{r.status}\tattempts {r.attempts}\t{when}\t{r.last_reply}".rstrip())
    return "\n".join(lines)


async def bounce_entry(mail: MailService, config: Config, entry_id: int) -> int:
    """Fail every queued recipient of the entry now and send the failure report (RFC 3464)."""
    outbound = mail.outbound
    if outbound is None:
        raise MailError(Kind.INVALID, "the relay is switched off ([relay] enabled = false)")
    entry = await outbound.queue.get_entry(entry_id)
    if entry is None:
        raise MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")
    now = mail.clock.now()
    pending = entry.pending()
    reason = "550 5.0.0 returned to the sender by the mail administrator"
    await outbound.queue.update_recipients(
        entry_id, [RecipientUpdate(r.address, "failed", reason, now, now, counts_attempt=False) for r in pending]
    )
    runner = QueueRunner(mail, outbound.queue, outbound, config)
    await runner.report(entry_id)
    return len(pending)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
