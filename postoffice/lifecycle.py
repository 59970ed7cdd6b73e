"""Running a server process: start, signals, the first account, worker processes, stop.

Owns ``serve`` (the main process of ``postoffice serve``), ``worker_main`` (a worker
process's entry point, started by ``workers.WorkerPool``), :class:`Listening` (the
listeners one process serves, started from the composition in ``app``), the order of
a stop, and ``run``, the one event-loop runner of every command (uvloop when installed).

Invariants:
- A stop goes: stop accepting on every listener; every listener's shutdown at once,
  each giving work in flight (SMTP DATA/BDAT, IMAP APPEND, POP3 RETR, web requests) the
  one deadline ``[server] shutdown_grace`` before its goodbye, the workers' at the same time;
  close what is still open and wait for each session's cleanup (POP3 unlock, spool
  removal, shared leases); only then the store closes.
- SIGINT and SIGTERM stop the process that way; a second signal changes nothing.
  Sessions of every protocol finish their work in flight within ``[server]
  shutdown_grace``, then say goodbye (``421 4.3.2``, ``* BYE``, ``-ERR [SYS/TEMP]``).
- SIGHUP re-reads the file in every process (the main passes it on to the workers):
  what can change live (``RELOADABLE``: ``[log]``, the TLS certificate, the limits of
  the servers, ``[auth]``, ``[quota]``, ``[metrics]``, the deadline of a stop, ...)
  applies at once, for new connections and the next command of open ones; no
  connection is dropped. Other changed settings are named in one log line as needing
  a restart.
- Started as root with ``[server] user``: the listeners are bound first, then the
  process becomes that user for good (``drop_privileges``).
- Logging has one handler (``observe.logs.setup_logging``): each line is printed once.
- On first start with no account, ``postmaster@<first domain>`` is created with a
  random password, printed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import secrets
import signal
import ssl
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from postoffice import app
from postoffice.config import Config, ConfigError, Listen, load_config
from postoffice.net.listener import Listener
from postoffice.net.tls import reload_server_contexts
from postoffice.observe.health import HEALTH, probe_store
from postoffice.observe.logs import setup_logging
from postoffice.observe.memory import fix_mmap_threshold
from postoffice.observe.metrics import setup_metrics
from postoffice.queue import start_runner
from postoffice.store.bus import HubChangeBus
from postoffice.workers import WorkerChannel, WorkerPool, WorkerSpec, die_with_parent, read_spec, watch_parent

__all__ = ["Listening", "Reloader", "run", "serve", "start_listeners", "stop_event", "stop_listeners", "worker_main"]

log = logging.getLogger("postoffice")
T = TypeVar("T")

_EXECUTOR_THREADS = 64  # blocking work waits mostly on fsync: more threads than cores
_CLOSE_TIMEOUT = 10.0  # seconds a stop waits for sessions' cleanup


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed, with a thread pool sized for fsync waits."""
    fix_mmap_threshold()  # large blocks go back to the system when freed (observe/memory.py)

    async def main() -> T:
        # Ingestion waits mostly on fsync in threads; the default pool (cores + 4)
        # would let only a few messages in flight wait at once.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=_EXECUTOR_THREADS, thread_name_prefix="postoffice")
        )
        return await coro

    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main())
    return uvloop.run(main())


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@dataclass
class Listening:
    """The listeners one process serves, by name."""

    listeners: dict[str, Listener] = field(default_factory=dict)

    def bound(self, name: str) -> tuple[str, int]:
        """(host, port) a listener is bound to (the port a config's port 0 became)."""
        return self.listeners[name].bound()


async def start_listeners(
    s: app.Services, names: list[str], *, reuse_port: frozenset[str] = frozenset(), announce: bool = True
) -> Listening:
    """Start the listeners ``names`` (keys of ``s.config.listen``) that are built."""
    listening = Listening()
    try:
        for name in names:
            host, port = s.config.listen.addresses[name]
            if name in app.LISTENERS:
                listening.listeners[name] = await app.start_protocol_listener(
                    s, name, host, port, reuse_port=name in reuse_port
                )
            else:  # "http", "https": the webmail
                listening.listeners[name] = await app.start_web_listener(
                    s, name, host, port, reuse_port=name in reuse_port
                )
            if announce:
                print(f"{name:<12} listening on {host}:{port}", flush=True)
    except BaseException:
        await stop_listeners(listening)
        raise
    return listening


async def stop_listeners(listening: Listening) -> None:
    """Stop accepting, run every listener's shutdown, close sessions and wait for them."""
    listeners = list(listening.listeners.values())
    for listener in listeners:
        listener.stop_accepting()
    for result in await asyncio.gather(*(li.shutdown() for li in listeners), return_exceptions=True):
        if isinstance(result, Exception):
            log.error("a listener's shutdown failed", exc_info=result)
    await asyncio.gather(*(li.close_sessions(_CLOSE_TIMEOUT) for li in listeners))


def webmail_url(config: Config, listening: Listening, name: str) -> str:
    """``public_url``, else the address the ``name`` web listener is bound to."""
    if config.public_url:
        return config.public_url
    host, port = listening.bound(name)
    scheme = "https" if name == "https" else "http"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}/"


async def ensure_first_account(s: app.Services) -> None:
    """On first start with no account: postmaster@<first domain> with a random password, printed once."""
    if await s.store.list_accounts():
        return
    password = secrets.token_urlsafe(12)
    account = await s.mail.add_user(f"postmaster@{s.config.domains[0]}", password)
    print(f"First account created: {account.address}  password: {password}", flush=True)
    print("(shown once; change it with: postoffice user passwd " + account.address + ")", flush=True)


async def serve(config: Config) -> int:
    """Run every configured listener until SIGINT or SIGTERM.

    With ``[server] processes`` above 1, worker processes (``workers``) also accept on
    every listener's port (SO_REUSEPORT); this process supervises them, is the hub of
    the change bus (each change reaches every process once: ``store.bus``), runs the
    store's background work alone (search indexing, search text made again after a
    text-extraction change, garbage collection, the outbound queue), and stops them
    before it exits."""
    setup_observability(config, main=True)
    hub = HubChangeBus()
    s = await app.open_services(config, bus=hub)
    pool: WorkerPool | None = None
    try:
        await ensure_first_account(s)
        processes = config.server.process_count()
        names = list(config.listen.addresses)
        shared = frozenset(names) if processes > 1 else frozenset()
        stop = stop_event()
        listening = await start_listeners(s, names, reuse_port=shared)
        register_health(s, listening)
        bound = {name: listening.bound(name) for name in listening.listeners}
        if processes > 1 and bound:
            # Workers start before the privileges are dropped: they bind the same ports
            # (SO_REUSEPORT wants the same user), then drop them themselves.
            pool = WorkerPool(config, bound, processes - 1, hub)
            pool.start()
        drop_privileges(config)
        Reloader(config, s, listening, pool).on_sighup()
        if pool is not None:
            log.info("%d worker processes started", processes - 1)
        web = [name for name in ("http", "https") if name in listening.listeners]
        if web:
            print(f"Webmail URL: {webmail_url(config, listening, web[0])}", flush=True)
        else:
            print("Webmail: no http or https listener configured", flush=True)
        print(f"Data directory: {config.data_dir.resolve()}", flush=True)
        collector = asyncio.create_task(s.mail.run_garbage_collector(), name="garbage-collector")
        # search text made by an older text extraction, made again (mail/ingest.py)
        reindexer = asyncio.create_task(s.mail.run_search_reindexer(), name="search-reindexer")
        queue_runner = start_runner(s.mail, config) if s.mail.outbound is not None else None  # stopped below
        await stop.wait()
        log.info("shutting down")
        for task in (collector, reindexer):
            task.cancel()
        for task in (collector, reindexer):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The workers run their own shutdown at the same time as this process.
        workers_stopped = asyncio.ensure_future(pool.stop()) if pool is not None else None
        await stop_listeners(listening)
        if queue_runner is not None:
            await queue_runner.stop()
        if workers_stopped is not None:
            await workers_stopped
        return 0
    finally:
        if pool is not None:
            await pool.kill()
        await s.close()


# ---- logs, metrics, health ------------------------------------------------------------------


def setup_observability(config: Config, *, main: bool) -> None:
    """``[log]`` on stderr (one handler: each line once) and the metrics of every process
    of this data dir in ``data_dir/metrics`` (the main process starts it afresh)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    c = config.log
    setup_logging(c.format, c.level, addresses=c.addresses, trace_protocols=frozenset(c.trace), data_dir=config.data_dir)
    setup_metrics(config.data_dir / "metrics", fresh=main)


def _accepting(listener: Listener) -> bool:
    server = getattr(listener, "socket_server", None) or getattr(listener, "server", None)
    is_serving = getattr(server, "is_serving", None)
    return bool(is_serving()) if callable(is_serving) else False


def register_health(s: app.Services, listening: Listening) -> None:
    """What ``/healthz`` checks in this process: its listeners and a write to its store."""
    HEALTH.listeners = {name: functools.partial(_accepting, li) for name, li in listening.listeners.items()}
    HEALTH.store_probe = lambda: probe_store(s.store, s.blobs, s.config.data_dir)


# ---- SIGHUP: reload --------------------------------------------------------------------------

# Settings a running process applies on SIGHUP: a whole table, or one key of a table.
# Everything the servers, the webmail and the mail service read at each use (a new
# connection, the next command) is here; a change of any other setting is logged as
# needing a restart: the listeners' addresses, the data directory, the domains and the
# hostname (greetings, caches), the user, the processes, the outbound queue (``[relay]``,
# ``[limits.relay]``, ``[dns]``, ``[authn]``: built once at start) and the stall watchdog.
RELOADABLE = frozenset({
    "log", "tls", "auth", "quota", "metrics",
    "limits.smtp", "limits.imap", "limits.pop3", "limits.http", "limits.message",
    "server.shutdown_grace", "server.gc_grace", "server.gc_interval",
})  # fmt: skip


def _reloadable(key: str) -> bool:
    return any(key == r or key.startswith(r + ".") for r in RELOADABLE)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ, down to the key (``limits.smtp.vrfy``,
    ``listen.imap``)."""
    changed: list[str] = []
    for f in dataclasses.fields(old):
        if f.name == "source":
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        name = f"{prefix}{f.name}"
        if isinstance(a, Listen) and isinstance(b, Listen):
            changed += sorted(f"{name}.{k}" for k in set(a.addresses) | set(b.addresses) if a.get(k) != b.get(k))
        elif dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            changed += changed_keys(a, b, f"{name}.")
        else:
            changed.append(name)
    return changed


def _take(current: Any, new: Any, path: list[str]) -> Any:
    """``current`` with the setting at ``path`` taken from ``new``."""
    head, rest = path[0], path[1:]
    value = getattr(new, head) if not rest else _take(getattr(current, head), getattr(new, head), rest)
    return dataclasses.replace(current, **{head: value})


def reload_config(current: Config, *, main: bool = True) -> Config:
    """Read the configuration file again and apply what can change live (RELOADABLE) to
    the configuration returned; the TLS certificate is loaded again even when the file
    did not change (a renewed certificate at the same path). Logs one line naming the
    settings applied and one naming the changed settings that need a restart (the main
    process only: a worker's listeners differ from the file by design). A bad file or a
    bad certificate changes nothing (logged)."""
    if current.source.startswith("<"):
        new = current  # no file: only the certificate is re-read
    else:
        try:
            new = load_config(current.source)
        except ConfigError as exc:
            log.error("reload: %s; the configuration in force is unchanged", exc, extra={"event": "reload_failed"})
            return current
    changed = changed_keys(current, new)
    restart = [k for k in changed if not _reloadable(k)]
    applied = current
    for key in sorted(RELOADABLE):
        applied = _take(applied, new, key.split("."))
    c = applied.log  # first: the lines of this reload are in the new format
    setup_logging(c.format, c.level, addresses=c.addresses, trace_protocols=frozenset(c.trace), data_dir=applied.data_dir)
    if restart and main:
        log.warning(
            "reload: restart needed for %s (changed; the old values stay in force)", ", ".join(restart),
            extra={"event": "reload_needs_restart", "fields": {"keys": ",".join(restart)}},
        )  # fmt: skip
    try:
        count = reload_server_contexts(applied)
    except (OSError, ssl.SSLError) as exc:
        log.error("reload: the certificate could not be loaded (%s); the old one stays", exc,
                  extra={"event": "reload_failed"})  # fmt: skip
        applied = dataclasses.replace(applied, tls=current.tls)
        count = 0
    live = [k for k in changed if _reloadable(k)]
    log.info("reload: applied %s; certificate loaded into %d TLS contexts", ", ".join(live) or "no changed setting",
             count, extra={"event": "reload", "fields": {"keys": ",".join(live)}})  # fmt: skip
    return applied


@dataclass
class Reloader:
    """What SIGHUP reconfigures in one process: its services, its listeners and (in the
    main process) the worker pool, which passes the signal on to every worker."""

    config: Config
    services: app.Services
    listening: Listening
    pool: WorkerPool | None = None
    main: bool = True

    def reload(self) -> None:
        applied = reload_config(self.config, main=self.main)
        if applied is not self.config:
            self.config = applied
            self.services.reconfigure(applied)
            for listener in self.listening.listeners.values():
                listener.reconfigure(applied)
        if self.pool is not None:
            self.pool.reload(applied)

    def on_sighup(self) -> None:
        """SIGHUP runs :meth:`reload`; open connections are not touched."""
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reload)


# ---- running as a service: root binds, then the configured user runs ------------------------


def drop_privileges(config: Config) -> None:
    """Started as root with ``[server] user``: after the listeners are bound, become that
    user (and ``group``, default its primary group; supplementary groups cleared). The
    data directory is handed to that user first. Raises SystemExit(2) for an unknown
    user or group. Not root, or no user configured: nothing changes."""
    name = config.server.user
    if not name or os.geteuid() != 0:
        if name and os.geteuid() != 0:
            log.info("running as uid %d; [server] user %s applies only when started as root", os.geteuid(), name)
        return
    import grp
    import pwd

    try:
        entry = pwd.getpwnam(name)
        gid = grp.getgrnam(config.server.group).gr_gid if config.server.group else entry.pw_gid
    except KeyError as exc:
        log.error("[server] user/group: %s does not exist", exc)
        raise SystemExit(2) from None
    # Everything this start made as root (database, shared state, metrics files) and,
    # on the first start as that user, all of it; the walk skips what it owns already.
    for path in [config.data_dir, *config.data_dir.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):
            st = path.lstat()
            if (st.st_uid, st.st_gid) != (entry.pw_uid, gid):
                os.chown(path, entry.pw_uid, gid, follow_symlinks=False)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(entry.pw_uid)  # last: after it, nothing can go back to root
    log.info("running as user %s (uid %d, gid %d)", name, entry.pw_uid, gid, extra={"event": "privileges_dropped"})


# ---- a worker process ------------------------------------------------------------------------


async def _serve_worker(spec: WorkerSpec, channel: WorkerChannel, stdin: int) -> int:
    stop = stop_event()
    bus = channel.bus()
    watch_parent(stdin, stop, bus.receive)  # the other processes' changes, through the main
    # The main process runs the store's background work (search indexing).
    s = await app.open_services(spec.config, bus=bus, background=False)
    try:
        names = list(spec.config.listen.addresses)
        listening = await start_listeners(s, names, reuse_port=frozenset(names), announce=False)
        drop_privileges(spec.config)  # bound as root like the main, then the same user
        Reloader(spec.config, s, listening, main=False).on_sighup()  # before ready: the pool's SIGHUP
        channel.ready()
        await stop.wait()
        log.info("shutting down")
        await stop_listeners(listening)
        return 0
    finally:
        await s.close()


def worker_main() -> int:
    """Entry point of a worker process (started by ``workers.WorkerPool``, never by hand)."""
    die_with_parent()
    stdin = sys.stdin.fileno()
    spec = read_spec(stdin)
    if os.getppid() != spec.parent_pid:  # the parent died before prctl took effect
        return 1
    setup_observability(spec.config, main=False)
    channel = WorkerChannel()  # the pipe to the main; print now goes to stderr
    return run(_serve_worker(spec, channel, stdin))
