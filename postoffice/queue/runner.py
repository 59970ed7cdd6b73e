"""The queue scheduler: who is due, over which connection, and what happens afterwards.

Owns :class:`QueueRunner`.

Invariants:
- At least once, never lost: a recipient leaves the ``queued`` status only after the
  peer's final reply was recorded durably; a crash (SIGKILL included) at any point
  leaves it queued with its last due time, so it is sent again after a restart.
- Backoff (RFC 5321 §4.5.4.1): after the n-th failed attempt the next one is
  ``first_retry * 2**(n-1)`` later, at most ``max_retry``; a recipient still deferred
  ``lifetime`` after the submission fails (4.4.7). 5xx fails the recipient at once;
  4xx and every connection problem defer it with the reason recorded.
- Reports (RFC 3464): one failure DSN per attempt that failed recipients, a delay DSN
  once after ``delay_notice``; none for the null sender (RFC 5321 §4.5.5) or where
  NOTIFY forbids it (RFC 3461 §4.1). A message with more than ``max_received_headers``
  Received fields is a loop (RFC 5321 §6.3) and fails at once (5.4.6).
- Concurrency: at most ``connections_per_destination`` connections per route and
  ``max_deliveries`` in all; one connection carries up to ``messages_per_connection``
  messages for its destination. A recipient domain of an entry is never in two
  deliveries at once, nor sent again by a pass that read the queue before its delivery
  ended (that pass's copy of the entry is stale). A connection sends on while its last
  outcomes are written (at most ``_RECORDS_AHEAD``); a job is in flight until recorded.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from postoffice.authn.sign import DkimSigner
from postoffice.clock import Clock
from postoffice.config import Config
from postoffice.errors import MailError
from postoffice.mail.outbound import Outbound, chain
from postoffice.mail.service import MailService
from postoffice.message.dsn import RecipientReport, compose_dsn
from postoffice.message.headers import header_text, split_header_block
from postoffice.smtpclient import (
    Envelope,
    RecipientSpec,
    ServerReply,
    SignHook,
    SMTPClientError,
    SMTPConnection,
    synthetic,
)
from postoffice.store.api import Content
from postoffice.store.queue import QueueEntry, QueueRecipient, QueueStore, RecipientUpdate

from .routing import Route, RouteError, Router, verify_context

__all__ = ["QueueRunner", "Job"]

log = logging.getLogger("postoffice.queue")

_HEADER_READ = 64 * 1024
_BACKLOG_PER_CONNECTION = 10  # jobs waiting for a destination that call for one more connection
_RECORDS_AHEAD = 8  # outcomes of one connection being written while it sends on


@dataclass(frozen=True, slots=True)
class Job:
    """The recipients of one entry at one domain, to send in one transaction."""

    entry: QueueEntry
    domain: str
    recipients: tuple[QueueRecipient, ...]


class QueueRunner:
    # Seconds an idle connection waits for more jobs for its destination before QUIT
    # (Postfix keeps a connection cached 2 s): a stream of messages does not reconnect.
    connection_idle = 0.5

    def __init__(
        self,
        mail: MailService,
        queue: QueueStore,
        outbound: Outbound,
        config: Config,
        *,
        clock: Clock | None = None,
        router: Router | None = None,
    ) -> None:
        self.mail = mail
        self.queue = queue
        self.outbound = outbound
        self.config = config
        self.limits = config.limits.relay
        self.clock: Clock = clock or mail.clock
        self.router = router or Router(config.relay, config.dns, clock=self.clock, mta_sts_cache=config.mta_sts_cache)
        self._verify = verify_context(config.relay.tls_ca_file)  # [relay] tls_ca_file: whom verified TLS trusts
        self.helo = config.relay.helo_name or config.hostname
        # RFC 6376: mail from a local domain leaves DKIM-signed ([authn] dkim_sign).
        self.signer = DkimSigner.from_config(config)
        self._wake = asyncio.Event()
        self._inflight: set[tuple[int, str]] = set()
        # A pass reads the queue, then awaits (routes, headers) before it looks at each
        # entry: a delivery that ends meanwhile leaves the entry as read, still "queued".
        # Each end is numbered; a pass skips what ended after its read began.
        self._ended: dict[tuple[int, str], int] = {}
        self._ends = 0
        self._pass_marks: list[int] = []  # the end number at the start of each running pass
        self._arrivals: dict[str, asyncio.Event] = {}  # route key -> set when a pass adds jobs
        self._domains: tuple[float, frozenset[str]] | None = None  # (read at, local domains)
        self._pending: dict[str, collections.deque[Job]] = {}  # route key -> jobs waiting for a connection
        self._workers: dict[str, int] = {}  # route key -> worker tasks (connections) running
        self._total = asyncio.Semaphore(max(1, self.limits.max_deliveries))
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        outbound.listeners.append(self.wake)

    # ---- life --------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="postoffice queue")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the pass: a wake-up during it makes another pass
            try:
                await self.run_pass()
                following = await self.queue.next_attempt()
            except Exception:
                log.exception("queue pass failed")
                following = None
            wait = self.limits.poll_interval
            if following is not None and following > self.clock.now():
                wait = max(0.05, min(wait, following - self.clock.now()))
            # (something due now is in flight: its end wakes this loop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    # ---- passes ------------------------------------------------------------------------
    async def run_pass(self) -> list[asyncio.Task[None]]:
        """Hand every due recipient not already being delivered to its route's workers;
        the worker tasks started (each delivers until its route has nothing left)."""
        mark = self._ends
        self._pass_marks.append(mark)
        try:
            return await self._pass(mark)
        finally:
            self._pass_marks.remove(mark)

    def _busy(self, entry_id: int, domain: str, mark: int) -> bool:
        """In flight now, or ended after the pass that began at ``mark`` read the queue."""
        key = (entry_id, domain)
        return key in self._inflight or self._ended.get(key, 0) > mark

    async def _pass(self, mark: int) -> list[asyncio.Task[None]]:
        oldest = min(self._pass_marks)  # ends before every running pass's read: in what they read
        for ended in [k for k, n in self._ended.items() if n <= oldest]:
            del self._ended[ended]
        now = self.clock.now()
        entries = await self.queue.due_entries(now, 1000)
        touched: dict[str, Route] = {}
        for entry in entries:
            if await self._expired_or_looping(entry, now, mark):
                continue
            domains: dict[str, list[QueueRecipient]] = {}
            for r in entry.pending():
                if r.next_attempt <= now and not self._busy(entry.id, r.domain, mark):
                    domains.setdefault(r.domain, []).append(r)
            for domain, recipients in domains.items():
                job = Job(entry, domain, tuple(recipients))
                try:
                    route = await self.router.route(domain)
                except RouteError as exc:
                    await self._record(job, {r.address: exc.reply for r in recipients}, "")
                    continue
                self._inflight.add((entry.id, domain))
                self._pending.setdefault(route.key, collections.deque()).append(job)
                self._more(route.key).set()  # an idle connection to that route takes it
                touched[route.key] = route
        started: list[asyncio.Task[None]] = []
        per_connection = max(1, self.limits.messages_per_connection)
        for key, route in touched.items():
            # More connections only for a backlog: one per _BACKLOG_PER_CONNECTION jobs waiting
            # (a few messages share one connection; a stream of them gets several at once).
            batch = min(per_connection, _BACKLOG_PER_CONNECTION)
            wanted = min(self.limits.connections_per_destination or 1, -(-len(self._pending[key]) // batch))
            for _ in range(wanted - self._workers.get(key, 0)):
                self._workers[key] = self._workers.get(key, 0) + 1
                task = asyncio.create_task(self._route_worker(route))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started.append(task)
        return started

    async def run_until_idle(self) -> None:
        """One pass and its deliveries to their end (tests, with an injected clock)."""
        tasks = await self.run_pass()
        if tasks:
            await asyncio.gather(*tasks)

    # ---- delivery ----------------------------------------------------------------------
    async def _route_worker(self, route: Route) -> None:
        """Connections to one route, one after another, until its pending jobs are done."""
        pending = self._pending[route.key]
        try:
            while pending:
                async with self._total:
                    await self._connection(route, pending)
        except Exception:
            log.exception("delivery to %s failed", route.key)
        finally:
            self._workers[route.key] -= 1
            self._wake.set()  # what is due next may have changed

    def _done(self, job: Job) -> None:
        """The job's outcome is recorded (or failed to be): it may be read again."""
        self._ends += 1
        self._ended[(job.entry.id, job.domain)] = self._ends
        self._inflight.discard((job.entry.id, job.domain))

    async def _connection(self, route: Route, pending: collections.deque[Job]) -> None:
        """One connection: up to messages_per_connection jobs from ``pending``."""
        try:
            conn, remote = await self._connect(route)
        except SMTPClientError as exc:
            # The destination cannot be reached: every job waiting for it is deferred alike.
            while pending:
                job = pending.popleft()
                try:
                    await self._record(job, {r.address: exc.reply for r in job.recipients}, "")
                finally:
                    self._done(job)
            return
        broken = False
        # Each outcome is recorded (durably) while the next message is already on its way:
        # the connection does not wait for the database, and concurrent records share
        # a commit. A job stays in flight until its record is written (_finish).
        records: set[asyncio.Task[None]] = set()
        try:
            for _ in range(max(1, self.limits.messages_per_connection)):
                if not pending and not await self._wait_for_more(route.key, pending):
                    break
                job = pending.popleft()
                try:
                    content = await self.mail.get_content(job.entry.content_id)
                    result = await conn.send(
                        self._envelope(job, content), functools.partial(_as_relayed, self.mail, content), sign=self._sign_hook(job)
                    )
                    replies = {r.address: r.reply for r in result.recipients}
                except SMTPClientError as exc:
                    broken = True
                    replies, result = {r.address: exc.reply for r in job.recipients}, None
                except BaseException:
                    self._done(job)
                    raise
                records.add(asyncio.create_task(self._finish(job, replies, remote, result is not None and result.dsn)))
                if broken:
                    break
                while len(records) >= _RECORDS_AHEAD:
                    _, records = await asyncio.wait(records, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled (shutdown) or a bug: no polite QUIT to wait for
            conn.close()
            for task in records:
                task.cancel()
            await asyncio.gather(*records, return_exceptions=True)
            raise
        if broken:
            conn.close()
        else:
            await conn.quit()
        await asyncio.gather(*records)

    def _more(self, key: str) -> asyncio.Event:
        return self._arrivals.setdefault(key, asyncio.Event())

    async def _wait_for_more(self, key: str, pending: collections.deque[Job]) -> bool:
        """Keep an idle connection a moment: ask for a pass (entries queued by another
        process wake nobody else) and wait for it to bring jobs for this route."""
        more = self._more(key)
        more.clear()
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(more.wait(), self.connection_idle)
        return bool(pending)

    async def _finish(self, job: Job, replies: dict[str, ServerReply], remote_mta: str, peer_dsn: bool) -> None:
        """Record a job's outcome; then it is no longer in flight (whatever happened)."""
        try:
            await self._record(job, replies, remote_mta, peer_dsn=peer_dsn)
        except Exception:
            log.exception("queue %d: outcome not recorded (it is sent again)", job.entry.id)
        finally:
            self._done(job)

    async def _connect(self, route: Route) -> tuple[SMTPConnection, str]:
        """A connection to the first hop that answers, and that hop's name (Remote-MTA)."""
        last: ServerReply | None = None
        for hop in route.hops:
            try:
                context = self._verify if hop.tls in ("verify", "implicit") else None
                conn = await SMTPConnection.open(
                    hop.host, hop.port, self.limits, helo=self.helo, tls=hop.tls, server_name=hop.server_name, auth=hop.auth,
                    context=context,
                )  # fmt: skip
                return conn, hop.server_name
            except SMTPClientError as exc:
                last = exc.reply
                log.info("%s: %s", route.key, exc)
                if exc.reply.is_permanent and hop.auth is not None:
                    break
        raise SMTPClientError(last or synthetic(451, "4.4.1", f"no host to try for {route.key}"))

    def _envelope(self, job: Job, content: Content) -> Envelope:
        info: dict[str, Any] = json.loads(job.entry.envelope or "{}")
        recipients = []
        for r in job.recipients:
            notify = tuple(r.notify.split(",")) if r.notify else None
            orcpt = tuple(r.orcpt.split(";", 1)) if r.orcpt and ";" in r.orcpt else None
            recipients.append(RecipientSpec(r.address, notify, orcpt))  # type: ignore[arg-type]
        return Envelope(
            job.entry.sender,
            tuple(recipients),
            content.size,
            body=info.get("body"),
            smtputf8=bool(info.get("smtputf8")),
            ret=info.get("ret"),
            envid=info.get("envid"),
        )

    # ---- outcomes ----------------------------------------------------------------------
    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones."""
        return float(min(self.limits.first_retry * 2 ** max(0, attempts - 1), self.limits.max_retry))

    async def _record(
        self, job: Job, replies: dict[str, ServerReply], remote_mta: str, *, peer_dsn: bool = False
    ) -> None:
        now = self.clock.now()
        entry = job.entry
        updates = []
        relayed: list[QueueRecipient] = []
        for r in job.recipients:
            reply = replies.get(r.address) or synthetic(451, "4.4.0", "no reply for this recipient")
            text = str(reply)
            if reply.is_positive:
                updates.append(RecipientUpdate(r.address, "delivered", text, now, now))
                if _notify(r, "SUCCESS") and not peer_dsn:
                    # RFC 3461 §6.2.3.1: the peer cannot carry the request on: "relayed".
                    relayed.append(dataclasses.replace(r, last_reply=text, last_attempt=now))
            elif reply.is_permanent:
                updates.append(RecipientUpdate(r.address, "failed", text, now, now))
            elif now - entry.created >= self.limits.lifetime:
                updates.append(RecipientUpdate(r.address, "failed", f"{text} (gave up after {r.attempts + 1} attempts: delivery time expired)", now, now))
            else:
                updates.append(RecipientUpdate(r.address, "queued", text, now + self.backoff(r.attempts + 1), now))
            log.info("queue %d <%s>: %s", entry.id, r.address, text)
        # Nothing left to report (no success notice to send): the entry ends with its outcome.
        if await self.queue.update_recipients(entry.id, updates, remove_if_finished=not relayed):
            return
        if relayed and entry.sender:
            info: dict[str, Any] = json.loads(entry.envelope or "{}")
            try:
                await self._send_dsn(entry, info, [_report_of(r, "relayed", remote_mta) for r in relayed])
            except Exception:
                log.exception("queue %d: success notice not sent", entry.id)  # at most once, never blocks the queue
        await self.report(entry.id, remote_mta)

    async def _expired_or_looping(self, entry: QueueEntry, now: float, mark: int) -> bool:
        """Fail an entry past its lifetime with nothing in flight, or one that loops."""
        pending = entry.pending()
        if any(self._busy(entry.id, r.domain, mark) for r in pending):
            return False
        reason: str | None = None
        if entry.recipients and all(r.attempts == 0 for r in entry.recipients):
            content = await self.mail.get_content(entry.content_id)
            headers = await self._header_block(content)
            received = sum(1 for name, _ in split_header_block(headers) if name.lower() == "received")
            if received > self.limits.max_received_headers:
                reason = f"554 5.4.6 mail loop: {received} Received header fields"  # RFC 5321 §6.3
        expired = now - entry.created >= self.limits.lifetime
        if reason is None and not expired:
            return False
        updates = []
        for r in pending:
            text = reason or f"{r.last_reply or '451 4.4.7'} (gave up: delivery time expired)"  # RFC 3463 X.4.7
            updates.append(RecipientUpdate(r.address, "failed", text, now, now, counts_attempt=False))
        await self.queue.update_recipients(entry.id, updates)
        await self.report(entry.id, "")
        return True

    async def _header_block(self, content: Content) -> bytes:
        block = bytearray()
        offset = 0
        limit = self.config.limits.message.max_header_size
        while offset < content.size and len(block) < limit:
            chunk = await self.mail.read(content, offset, _HEADER_READ)
            if not chunk:
                break
            start = max(0, len(block) - 3)
            block += chunk
            offset += len(chunk)
            end = block.find(b"\r\n\r\n", start)
            if end >= 0:
                return bytes(block[: end + 2])
        return bytes(block)

    async def report(self, entry_id: int, remote_mta: str = "") -> None:
        """DSNs for what this entry's last outcomes call for; then drop it if finished."""
        entry = await self.queue.get_entry(entry_id)
        if entry is None:
            return
        now = self.clock.now()
        info: dict[str, Any] = json.loads(entry.envelope or "{}")
        failed = [r for r in entry.recipients if r.status == "failed" and not r.reported]
        if failed:
            wanted = [r for r in failed if _notify(r, "FAILURE")]
            if wanted and entry.sender:
                await self._send_dsn(entry, info, [_report_of(r, "failed", remote_mta) for r in wanted])
            await self.queue.mark_reported(entry.id, [r.address for r in failed])
        late = now - entry.created >= self.limits.delay_notice
        if not entry.delay_notified and late:
            waiting = [r for r in entry.pending() if _notify(r, "DELAY")]
            if waiting and entry.sender:
                until = entry.created + self.limits.lifetime
                await self._send_dsn(entry, info, [_report_of(r, "delayed", remote_mta, until) for r in waiting])
            await self.queue.set_delay_notified(entry.id)
        await self.queue.remove_finished(entry_id)

    async def _local_domains(self, sender: str) -> frozenset[str]:
        """The local domains, for signing: the set read within ``[auth] directory_cache``
        seconds when it holds the sender's domain (a found answer, reused as MailService
        reuses them), else a fresh read (a domain just added is seen at once)."""
        domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else ""
        cached = self._domains
        if cached is not None and time.monotonic() - cached[0] < self.config.auth.directory_cache and domain in cached[1]:
            return cached[1]
        fresh = frozenset(await self.mail.local_domains())
        self._domains = (time.monotonic(), fresh)
        return fresh

    def _sign_hook(self, job: Job) -> SignHook:
        async def sign(message: AsyncIterator[bytes]) -> bytes:
            if not self.signer.enabled:
                return b""
            try:
                return await self.signer.signature(
                    message, mail_from=job.entry.sender, local_domains=await self._local_domains(job.entry.sender)
                )
            except ValueError as exc:  # no From field, a header block too big: sent unsigned
                log.warning("queue entry %d: not DKIM-signed: %s", job.entry.id, exc)
                return b""

        return sign

    async def _send_dsn(self, entry: QueueEntry, info: dict[str, Any], reports: list[RecipientReport]) -> None:
        content = await self.mail.get_content(entry.content_id)
        headers = await self._header_block(content)
        subject = ""
        for name, value in split_header_block(headers):
            if name.lower() == "subject":
                subject = header_text(value)
        full = info.get("ret") == "FULL"
        head, tail = compose_dsn(
            reporting_mta=self.config.hostname,
            postmaster=f"postmaster@{self.config.domains[0]}",
            to=entry.sender,
            recipients=reports,
            now=self.clock.now(),
            arrival_date=entry.created,
            envid=info.get("envid"),
            original_headers=headers,
            full=full,
            original_subject=subject,
        )
        original: AsyncIterator[bytes] | bytes = self.mail.stream(content) if full else b""
        try:
            await self.outbound.deliver_report(entry.sender, chain(head, original, tail), size_hint=content.size)
        except MailError as exc:
            log.warning("queue %d: report to <%s> undeliverable (%s); to the postmaster", entry.id, entry.sender, exc)
            original = self.mail.stream(content) if full else b""
            try:
                await self.outbound.deliver_to_postmaster(chain(head, original, tail))
            except MailError as again:
                # Nobody can take it: logged, and not retried forever (RFC 5321 §6.1 asks
                # for every effort, not for a report about a report).
                log.error("queue %d: report undeliverable to the postmaster too: %s", entry.id, again)


async def _as_relayed(mail: MailService, content: Content) -> AsyncIterator[bytes]:
    """The stored message as it is relayed: without the Return-Path field that the
    submission put first for the local copies (RFC 5321 §4.4: only the final delivery
    adds one, and a message that already holds one SHOULD NOT be sent on)."""
    head = b""
    stream = mail.stream(content)
    async for chunk in stream:
        head += chunk
        if b"\n" in head or len(head) > 4096:
            break
    if head[:12].lower() == b"return-path:":
        end = head.find(b"\n")
        # a folded Return-Path is not ours: only a one-line field is dropped
        if end != -1 and head[end + 1 : end + 2] not in (b" ", b"\t"):
            head = head[end + 1 :]
    if head:
        yield head
    async for chunk in stream:
        yield chunk


def _notify(r: QueueRecipient, kind: str) -> bool:
    """RFC 3461 §4.1: no NOTIFY means FAILURE and DELAY (at the MTA's choice); NEVER none."""
    if r.notify is None:
        return kind in ("FAILURE", "DELAY")
    values = {v.strip().upper() for v in r.notify.split(",")}
    return kind in values and "NEVER" not in values


def _report_of(r: QueueRecipient, action: str, remote_mta: str, until: float | None = None) -> RecipientReport:
    reply = r.last_reply
    status = {"failed": "5.0.0", "delayed": "4.0.0"}.get(action, "2.0.0")
    parts = reply.split()
    if len(parts) > 1 and parts[1][:1] in "245" and parts[1].count(".") == 2:
        status = parts[1]
    elif len(parts) > 0 and parts[0][:1] in "45":
        status = f"{parts[0][0]}.0.0"
    if "delivery time expired" in reply:
        status = "4.4.7"  # RFC 3463: delivery time expired (what a retrying MTA reports at the end)
    elif action == "failed" and not status.startswith("5"):
        status = "5" + status[1:]
    return RecipientReport(
        r.address,
        action,  # type: ignore[arg-type]
        status,
        diagnostic=reply,
        remote_mta=remote_mta,
        orcpt=r.orcpt or "",
        last_attempt=r.last_attempt,
        will_retry_until=until,
    )
