"""Worker processes of ``serve`` (``[server] processes`` above 1).

Owns: ``WorkerPool``, the main process's side (start the workers, read their
changes and publish them on the main's hub, which sends them on to the other workers;
restart a worker that dies, stop them all), and the worker's side of the pipes
(:class:`WorkerChannel`, ``read_spec``, ``die_with_parent``, ``watch_parent``). What a worker serves is not decided here:
``postoffice.lifecycle.worker_main`` (the worker's entry point) opens its own services
(own SQLite connections and writer, own FileBlobStore on the same data dir) and serves
the listeners of its spec — whatever their protocol — on the ports the main bound, with
SO_REUSEPORT: the kernel spreads new connections over every process accepting on the
port. This module imports neither ``app`` nor ``lifecycle`` (an import-linter contract).

Between the main and a worker there are two pipes and signals, nothing else:

- the worker's stdin: one frame from the main, an 8-byte big-endian length then a
  pickled ``WorkerSpec``; after it, lines ``change JSON`` for every Change published
  in another process (the main's or another worker's), which the worker publishes to
  its own subscribers only (``store.bus``: exactly once everywhere). End of file means
  the main is gone and the worker stops (a watchdog besides ``PR_SET_PDEATHSIG``, which SIGKILLs the
  worker the moment the main dies, so no orphan keeps accepting on the port);
- the worker's stdout (its original fd 1; its own prints go to stderr): lines
  ``ready PID`` once its listeners accept, then ``change JSON`` for every Change it
  publishes (``store.bus.encode_change``), in publish order;
- SIGHUP (forwarded by the main process): the worker re-reads the configuration file
  and applies what can change live, as the main does (``lifecycle.reload_config``);
- SIGTERM or SIGINT: the worker runs every listener's shutdown (SMTP: 421 4.3.2 to
  idle sessions, ``[server] shutdown_grace`` for work in flight, a DATA/BDAT included) and
  exits 0.

Invariants: a worker that exits while the pool is not stopping is logged and
restarted after a back-off (0.5 s doubling to 30 s; back to 0.5 s after it ran 60 s);
``stop`` returns only once every worker has exited (SIGKILL past the grace plus
15 s); ``kill`` leaves no worker alive. Several processes write the one SQLite
database: each has its own writer thread with group commit and waits for the
database's write lock (``busy_timeout``), so the 250 after DATA still means durable.
Only the main process runs the store's background work (search indexing; the garbage
collector and the outbound queue runner are started by ``serve`` in the main): a worker
idles between its own writes while the others are busy, and indexing then would
take the write lock and CPU from them (it could not index twice: a slice runs under
the write lock, BEGIN IMMEDIATE, and deletes what it indexed from search_pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from postoffice.config import Config, Listen
from postoffice.observe.metrics import process_gone
from postoffice.store.api import Change
from postoffice.store.bus import ForwardingChangeBus, HubChangeBus, decode_change, encode_change

__all__ = ["WorkerPool", "WorkerSpec", "Worker", "WorkerChannel", "read_spec", "die_with_parent", "watch_parent"]

log = logging.getLogger("postoffice.workers")

_RESTART_MIN = 0.5  # seconds before restarting a worker that died
_RESTART_MAX = 30.0  # the back-off doubles up to this
_HEALTHY = 60.0  # a worker that ran this long restarts after _RESTART_MIN again
_STOP_SLACK = 15.0  # seconds past shutdown_grace before a stopping worker is killed
_LINE_LIMIT = 1 << 20  # octets of one line from a worker (a Change with many UIDs)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_IMPORT_ROOT = str(Path(__file__).resolve().parents[1])  # where ``postoffice`` is importable from
_ENTRY = "from postoffice.lifecycle import worker_main; raise SystemExit(worker_main())"


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: the config (listen = only the listeners it serves, bound ports)."""

    config: Config
    index: int
    parent_pid: int


@dataclass
class Worker:
    """One worker slot of the pool; its process changes when it is restarted."""

    index: int
    process: asyncio.subprocess.Process | None = None
    starts: int = 0  # processes started in this slot
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # the current process accepts
    reloads: int = 0  # the pool's reloads the current process has applied (or started with)


class WorkerPool:
    """``count`` worker processes serving ``listeners`` (name -> bound host, port), each
    announced by a ``worker N serving NAMES (pid P)`` line on stdout once it accepts."""

    role = "serve"  # names the workers in logs

    def __init__(self, config: Config, listeners: dict[str, tuple[str, int]], count: int, bus: HubChangeBus) -> None:
        self.config = dataclasses.replace(config, listen=Listen(dict(listeners)))
        self.bus = bus
        self.workers = [Worker(i + 1) for i in range(count)]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._reloads = 0  # SIGHUPs so far (reload)

    def start(self) -> None:
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(self._supervise(worker), name=f"{self.role}-worker-{worker.index}"))

    def reload(self, config: Config) -> None:
        """SIGHUP: workers started from now on get ``config`` (with the bound ports), and
        every worker that accepts already re-reads the configuration file itself. One
        still starting (SIGHUP before its handler would end it) is sent SIGHUP once it
        is ready."""
        self.config = dataclasses.replace(config, listen=self.config.listen)
        self._reloads += 1
        for worker in self.workers:
            if worker.ready.is_set():
                worker.reloads = self._reloads
                _signal(worker.process, signal.SIGHUP)

    async def stop(self) -> None:
        """SIGTERM every worker (each runs its listeners' shutdown) and wait for all to exit."""
        self._stopping.set()
        for worker in self.workers:
            _signal(worker.process, signal.SIGTERM)
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=self.config.server.shutdown_grace + _STOP_SLACK)
            if late:
                log.warning("%d %s worker(s) did not stop in time; killing them", len(late), self.role)
        await self.kill()

    async def kill(self) -> None:
        """SIGKILL every worker still alive and wait for it (idempotent)."""
        self._stopping.set()
        for worker in self.workers:
            _signal(worker.process, signal.SIGKILL)
        for worker in self.workers:
            if worker.process is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker.process.wait(), 10)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- one slot -----------------------------------------------------------------------
    async def _supervise(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        delay = _RESTART_MIN
        while not self._stopping.is_set():
            started = loop.time()
            status: int | str = "not started"
            try:
                process = await self._spawn(worker)
            except Exception:
                log.exception("%s worker %d could not be started", self.role, worker.index)
            else:
                worker.process = process
                if self._stopping.is_set():  # stop() came while it was starting
                    _signal(process, signal.SIGTERM)
                try:
                    status = await self._pump(worker, process)
                finally:
                    self.bus.detach(worker.index)
                worker.ready.clear()
                process_gone(process.pid)  # its open-connection gauges stop counting
                if self._stopping.is_set():
                    log.info("%s worker %d (pid %d) exited with status %s", self.role, worker.index, process.pid, status)
                    return
            if loop.time() - started >= _HEALTHY:
                delay = _RESTART_MIN
            log.error("%s worker %d exited with status %s; restarting it in %.1f s", self.role, worker.index, status, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, _RESTART_MAX)

    async def _spawn(self, worker: Worker) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_IMPORT_ROOT, env.get("PYTHONPATH", "")) if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _ENTRY,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, limit=_LINE_LIMIT,
        )  # fmt: skip
        worker.starts += 1
        worker.reloads = self._reloads  # its spec has the configuration in force
        spec = pickle.dumps(WorkerSpec(self.config, worker.index, os.getpid()))
        assert process.stdin is not None
        process.stdin.write(struct.pack(">Q", len(spec)) + spec)
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()
        # stdin stays open: the changes of the other processes follow the spec, and its
        # end of file tells the worker that this process is gone.
        self.bus.attach(worker.index, _sender(process))
        return process

    async def _pump(self, worker: Worker, process: asyncio.subprocess.Process) -> int:
        """Publish the worker's changes on our bus until its stdout closes; its exit status."""
        assert process.stdout is not None
        while True:
            try:
                line = await process.stdout.readline()
            except ValueError:  # longer than _LINE_LIMIT: skipped
                log.warning("%s worker %d: an overlong line was skipped", self.role, worker.index)
                continue
            if not line:
                break
            if line.startswith(b"change "):
                try:
                    change = decode_change(line[7:].rstrip(b"\n"))
                except ValueError:
                    log.warning("%s worker %d: bad change line %r", self.role, worker.index, line[:80])
                    continue
                self.bus.publish_from(worker.index, change)
            elif line.startswith(b"ready"):
                worker.ready.set()
                if worker.reloads < self._reloads:  # a reload came while it was starting
                    worker.reloads = self._reloads
                    _signal(process, signal.SIGHUP)
                names = ", ".join(self.config.listen.addresses)
                print(f"worker {worker.index:<3} serving {names} (pid {process.pid})", flush=True)
        return await process.wait()


def _sender(process: asyncio.subprocess.Process) -> Callable[[bytes], None]:
    """Queue a line on ``process``'s stdin from any thread (the hub's ``send``)."""
    loop = asyncio.get_running_loop()
    stdin = process.stdin
    assert stdin is not None

    def write(line: bytes) -> None:
        if process.returncode is None and not stdin.is_closing():
            stdin.write(b"change " + line)  # buffered by the transport: never blocks this loop

    def send(line: bytes) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            write(line)
        else:
            loop.call_soon_threadsafe(write, line)

    return send


def _signal(process: asyncio.subprocess.Process | None, sig: int) -> None:
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)


# ---- the worker process ----------------------------------------------------------------------


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the kernel SIGKILLs this process when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    except (OSError, AttributeError):
        log.warning("prctl is not available; the stdin watchdog alone ends this worker with its parent")


def _read_exactly(fd: int, n: int) -> bytes:
    parts: list[bytes] = []
    while n > 0:
        part = os.read(fd, min(n, 1 << 20))
        if not part:
            raise EOFError("no worker spec on stdin")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def read_spec(fd: int) -> WorkerSpec:
    """The spec the main wrote on the worker's stdin (``fd``)."""
    # os.read, not sys.stdin: the watchdog thread reads on, and a buffered reader's lock
    # held by a daemon thread would abort the interpreter at exit.
    (size,) = struct.unpack(">Q", _read_exactly(fd, 8))
    data = _read_exactly(fd, size)
    spec = pickle.loads(data)  # from our parent, through a pipe only it holds
    if not isinstance(spec, WorkerSpec):
        raise TypeError("not a worker spec")
    return spec


def watch_parent(fd: int, stop: asyncio.Event, on_change: Callable[[Change], None]) -> None:
    """Hand every ``change`` line of stdin (``fd``) to ``on_change`` (from a thread: it
    must be thread-safe); set ``stop`` when stdin reaches its end (the main is gone)."""
    loop = asyncio.get_running_loop()

    def watch() -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if not line.startswith(b"change "):
                        continue
                    try:
                        on_change(decode_change(line[7:]))
                    except ValueError:
                        log.warning("bad change line from the main process: %r", line[:80])
                    except Exception:
                        log.exception("a change from the main process could not be published")
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


class WorkerChannel:
    """The worker's side of its stdout pipe to the main: ``ready`` and ``change`` lines.

    Takes over fd 1: the pipe moves to a fd of its own and fd 1 (print) goes to stderr."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.dup2(2, 1)
        self._lock = threading.Lock()

    def send(self, line: bytes) -> None:
        with self._lock:  # publish may come from any thread; lines must not interleave
            view = memoryview(line)
            while view:
                view = view[os.write(self.fd, view) :]

    def bus(self) -> ForwardingChangeBus:
        """A bus whose every Change is also sent to the main, which publishes it."""
        return ForwardingChangeBus(lambda change: self.send(b"change " + encode_change(change) + b"\n"))

    def ready(self) -> None:
        self.send(f"ready {os.getpid()}\n".encode())
