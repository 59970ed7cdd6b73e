"""In-process servers for transcripts and Python tests.

Owns :class:`TranscriptServer`: a fresh data dir on the SQLite store (through
``app.open_services``; this package never names a backend), domain ``example.test``,
users made with ``MailService.add_user`` (password ``"password"``), a
:class:`~postoffice.clock.ManualClock` given to the services (servers read it from
``mail.clock``), and protocol listeners on 127.0.0.1 at free ports, started on first use.

    async with TranscriptServer(protocol="imap", users=["alice"]) as srv:
        await srv.run("state: authenticated\\nC: a1 NOOP\\nS: a1 OK")
        box = await srv.mail.get_mailbox(await srv.account("alice"), "INBOX")

Invariants: everything it opened (listeners, store, a temporary data dir it made) is
closed on exit; config overrides are applied before the services open.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postoffice.clock import ManualClock
from postoffice.config import Config, config_from_dict
from postoffice.testing.runner import run_transcript
from postoffice.testing.transcript import Transcript, parse_file, parse_transcript

if TYPE_CHECKING:
    from postoffice.app import Services
    from postoffice.mail.service import MailService
    from postoffice.net.listener import ProtocolListener
    from postoffice.net.watchdog import LoopWatchdog
    from postoffice.store.api import Account

__all__ = ["TranscriptServer", "run_transcript_file", "build_config", "DOMAIN", "PASSWORD"]

DOMAIN = "example.test"
PASSWORD = "password"


def build_config(data_dir: Path, overrides: Mapping[str, Any] | None = None, *, domain: str = DOMAIN) -> Config:
    """A test Config: ``data_dir``, one domain, no configured listeners; ``overrides`` maps
    dotted keys (``"limits.imap.max_commands_before_auth"``) to TOML-like values."""
    raw: dict[str, Any] = {
        "data_dir": str(data_dir),
        "domains": [domain],
        "hostname": f"mail.{domain}",
        "listen": {},
        # No SPF/DKIM/DMARC lookups against the machine's resolver: tests stay on loopback
        # (tests/authn turns them on, with a test DNS server).
        "authn": {"inbound_checks": False},
    }
    for key, value in (overrides or {}).items():
        parts = key.split(".")
        table = raw
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ValueError(f"config override {key!r}: {part!r} is not a table")
        table[parts[-1]] = list(value) if isinstance(value, tuple) else value
    return config_from_dict(raw, source="<transcript config>")


class TranscriptServer:
    """Services on a fresh SQLite data dir plus protocol listeners; also a TranscriptHost."""

    password = PASSWORD

    def __init__(
        self,
        protocol: str = "imap",
        *,
        users: Iterable[str] = ("alice",),
        config_overrides: Mapping[str, Any] | None = None,
        data_dir: Path | str | None = None,
        listeners: Iterable[str] = (),
        base_dir: Path | str | None = None,
        domain: str = DOMAIN,
    ) -> None:
        self.protocol = protocol
        self.users = list(users)
        self.config_overrides = dict(config_overrides or {})
        self.domain = domain
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self._data_dir = Path(data_dir) if data_dir else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._wanted_listeners = list(listeners)
        self._servers: dict[str, ProtocolListener] = {}
        self.clock = ManualClock()
        self.config: Config
        self.services: Services

    # ---- lifecycle -----------------------------------------------------------------------
    async def __aenter__(self) -> TranscriptServer:
        from postoffice import app

        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="postoffice-test-")
            self._data_dir = Path(self._tmp.name)
        self.config = build_config(self._data_dir, self.config_overrides, domain=self.domain)
        self.services = await app.open_services(self.config, clock=self.clock)
        try:
            for user in self.users:
                await self.ensure_user(user)
            for listener in self._wanted_listeners:
                await self.start_listener(listener)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop_accepting()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.close_sessions(2.0)
        if hasattr(self, "services"):
            await self.services.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def mail(self) -> MailService:
        return self.services.mail

    # ---- listeners -------------------------------------------------------------------------
    async def start_listener(self, listener: str) -> int:
        """Start ``listener`` (imap, imaps, smtp, submission, ...) if not yet; return its port."""
        if listener not in self._servers:
            from postoffice import app

            self._servers[listener] = await app.start_protocol_listener(self.services, listener, "127.0.0.1", 0)
        return self._servers[listener].bound()[1]

    def listener(self, name: str) -> ProtocolListener:
        """A started listener (its ``server`` is the protocol server, its ``counter`` the connections)."""
        return self._servers[name]

    def port(self, listener: str) -> int:
        """Port of a started listener (``await start_listener`` or a run starts it)."""
        try:
            return self._servers[listener].bound()[1]
        except KeyError:
            raise KeyError(f"listener {listener!r} is not started; await srv.start_listener({listener!r})") from None

    # ---- the event-loop watchdog -----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def no_stall(self) -> AsyncIterator[LoopWatchdog]:
        """Fail if the event loop stalls (``[server] stall_threshold``) within the block."""
        watchdog = self.services.start_watchdog()
        before = len(watchdog.stalls)
        yield watchdog
        # A stall is recorded by a callback queued while it lasted: let the loop run it.
        for _ in range(3):
            await asyncio.sleep(0)
        stalls = watchdog.stalls[before:]
        assert not stalls, f"event loop stalled: {stalls}"

    # ---- TranscriptHost --------------------------------------------------------------------
    async def address(self, listener: str) -> tuple[str, int]:
        return "127.0.0.1", await self.start_listener(listener)

    def user_address(self, user: str) -> str:
        return user if "@" in user else f"{user}@{self.domain}"

    async def ensure_user(self, user: str) -> Account:
        account = await self.mail.get_account(self.user_address(user))
        if account is None:
            account = await self.mail.add_user(self.user_address(user), self.password)
        return account

    async def account(self, user: str) -> Account:
        account = await self.mail.get_account(self.user_address(user))
        if account is None:
            raise KeyError(f"no user {user!r}")
        return account

    async def deliver(self, users: Sequence[str], message: bytes) -> None:
        await self.mail.deliver(message, [self.user_address(u) for u in users])

    async def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for _ in range(5):  # let servers that poll the clock notice
            await asyncio.sleep(0)

    async def delete_user(self, user: str) -> None:
        await self.mail.delete_user(self.user_address(user))

    async def count_messages(self, user: str, mailbox: str) -> int:
        box = await self.mail.get_mailbox(await self.account(user), mailbox)
        return len(await self.mail.list_messages(box))

    # ---- running ---------------------------------------------------------------------------
    async def run(
        self,
        text: str,
        *,
        state: str | None = None,
        connections: int | None = None,
        listener: str | None = None,
        deadline: float | None = None,
    ) -> dict[str, str]:
        """Run transcript text (header lines allowed, except ``config:``); returns captures."""
        transcript = parse_transcript(text, source="<inline>", protocol=self.protocol, base_dir=self.base_dir)
        header = transcript.header
        if header.config:
            raise ValueError("config: lines cannot change a running server; pass TranscriptServer(config_overrides=...)")
        if state is not None:
            header.state = state
        if connections is not None:
            header.connections = connections
        if listener is not None:
            header.listener = listener
        if deadline is not None:  # seconds every wait may take
            header.timeout = deadline
        return await self.run_transcript(transcript)

    async def run_transcript(self, transcript: Transcript) -> dict[str, str]:
        for user in {*transcript.header.users, *transcript.header.login}:
            await self.ensure_user(user)
        return await run_transcript(self, transcript)


async def run_transcript_file(path: Path | str, data_dir: Path | str | None = None) -> dict[str, str]:
    """Run one ``.t`` file on its own fresh server; returns the captures."""
    transcript = parse_file(path)
    header = transcript.header
    async with TranscriptServer(
        header.protocol,
        users=header.users,
        config_overrides=header.config,
        data_dir=data_dir,
        base_dir=Path(path).parent,
    ) as srv:
        return await srv.run_transcript(transcript)
