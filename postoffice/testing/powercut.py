"""Power cuts at random points under real clients: the harness of tests/durability and
bench/powercut.py.

A ``postoffice serve`` process keeps its ``data_dir`` on powerfs (see
``postoffice.testing.powerfs``). Four client threads work on one mailbox over real
sockets: SMTP deliveries (smtplib), IMAP APPEND (imaplib), POP3 TOP+DELE+QUIT
(poplib) and IMAP UID STORE \\Deleted + UID EXPUNGE (imaplib). After a seeded random
delay the server is SIGKILLed and the power is cut (every unsynced write dropped, or a
seeded random part of them kept); then the SQLite file must pass ``integrity_check``,
the server must start on what is left, and the mailbox, read over IMAP, must hold:

- every message whose delivery was acknowledged (SMTP 250, APPEND OK) exactly once,
  unless a deletion of it was sent;
- no message whose deletion was acknowledged (POP3 QUIT +OK, UID EXPUNGE OK);
- no message twice, and no message the clients did not send.

Each message carries a unique Message-ID. A delivery or a deletion cut before its
answer may have happened or not; what the check after the cut observes becomes the
expected state from then on (that state was read from durable storage, so a message
seen once must stay, one not seen must never come back).
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import json
import os
import poplib
import random
import re
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from postoffice.testing.powerfs import PowerFS

__all__ = ["PowerCutResult", "PowerCutRun", "run_power_cuts"]

USER = "alice@example.test"
PASSWORD = "powercut-password"
_MESSAGE_ID = re.compile(rb"Message-ID: <([^>@]+)@powercut\.test>", re.IGNORECASE)
_UID = re.compile(rb"UID (\d+)")


class State(Enum):
    MAYBE_IN = "maybe-in"  # delivery sent, no answer yet
    IN = "in"  # delivery acknowledged (or seen after a cut)
    MAYBE_OUT = "maybe-out"  # deletion sent, no answer yet
    OUT = "out"  # deletion acknowledged (or not seen after a cut)


@dataclass
class PowerCutResult:
    cuts: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)  # per operation
    lost: list[str] = field(default_factory=list)  # acknowledged, missing after a cut
    duplicated: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)  # acknowledged deletion, back after a cut
    strange: list[str] = field(default_factory=list)  # never sent, or came back after being seen gone
    failures: list[str] = field(default_factory=list)  # integrity check, start, reading the mailbox
    log: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.undone or self.strange or self.failures)

    def summary(self) -> str:
        return (
            f"cuts={self.cuts} acked={dict(self.acknowledged)} lost={len(self.lost)} "
            f"duplicated={len(self.duplicated)} undone={len(self.undone)} strange={len(self.strange)} "
            f"failures={len(self.failures)}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _message(msg_id: str, rng: random.Random) -> bytes:
    head = f"From: <a@remote.test>\r\nTo: <{USER}>\r\nMessage-ID: <{msg_id}@powercut.test>\r\nSubject: {msg_id}\r\n"
    if rng.random() < 0.15:
        # A large decoded part: the part store writes it as its own blob.
        blob = rng.randbytes(rng.randint(20_000, 120_000))
        import base64

        b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n").decode()
        return (
            head + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64
            + "--b--\r\n"
        ).encode()
    return (head + "\r\n" + "".join(f"{msg_id} line {i}\r\n" for i in range(rng.randint(1, 300)))).encode()


def _live_members(group: int) -> list[int]:
    """Processes of a process group that are not zombies (from /proc/PID/stat)."""
    live = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":  # state, ppid, pgrp
                live.append(int(entry))
    return live


def _how_many(rng: random.Random, count: int) -> int:
    """Messages to delete in one go: a few, more when the mailbox grows past ~60, so
    deletions keep pace with deliveries over a long run."""
    return rng.randint(1, 6) + max(0, count - 60) // 2


class PowerCutRun:
    """One server on one powerfs, cut again and again: ``with PowerCutRun(dir) as run:
    run.cut_once(rng)``. ``serve`` is the console script to run (a mutated copy of the
    package may be on its PYTHONPATH: ``env``)."""

    def __init__(self, workdir: Path, *, serve: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.serve = serve or [str(Path(sys.executable).parent / "postoffice")]
        self.env = env
        self.fs = PowerFS(self.workdir / "mnt")
        self.data_dir = self.workdir / "mnt" / "data"
        self.ports = {"smtp": _free_port(), "imap": _free_port(), "pop3": _free_port()}
        self.config = self.workdir / "postoffice.toml"
        self.process: subprocess.Popen[bytes] | None = None
        self.states: dict[str, State] = {}
        self.texts: dict[str, str] = {}  # Message-ID -> SHA-256 of the body sent (BODY[TEXT])
        self.lock = threading.Lock()
        self.result = PowerCutResult()
        self._serial = 0
        self._stderr = self.workdir / "serve.log"

    # ---- the server ------------------------------------------------------------------
    def __enter__(self) -> PowerCutRun:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.fs.__enter__()
        listen = "".join(f'{name} = "127.0.0.1:{port}"\n' for name, port in self.ports.items())
        self.config.write_text(
            f'data_dir = "{self.data_dir}"\ndomains = ["example.test"]\n[listen]\n{listen}[auth]\n'
            'trusted_networks = ["127.0.0.0/8"]\n'
            # A session killed by a cut leaves its maildrop lock behind until it expires.
            '[limits.pop3]\nlock_ttl = "2s"\n'
        )
        subprocess.run(
            [*self.serve, "--config", str(self.config), "user", "add", USER, "--password-stdin"],
            input=PASSWORD.encode() + b"\n", check=True, env=self.env, capture_output=True, timeout=120,
        )  # fmt: skip
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self.fs.__exit__()

    def start(self) -> None:
        with open(self._stderr, "ab") as err:
            self.process = subprocess.Popen(
                [*self.serve, "--config", str(self.config), "serve"],
                stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True,  # its own process group: the cut kills its workers too
            )  # fmt: skip
        deadline = time.monotonic() + 60
        for port in self.ports.values():
            while True:
                if self.process.poll() is not None:
                    self.process = None
                    raise RuntimeError(f"the server exited; see {self._stderr}")
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError("the server did not start listening")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server and its SMTP worker processes; return once all are gone
        (a write still in flight must land before the cut, not after)."""
        if self.process is None:
            return
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()
        self.process = None
        deadline = time.monotonic() + 30
        while _live_members(group):  # a zombie has closed its files already
            if time.monotonic() > deadline:
                raise RuntimeError("a server process outlived SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            time.sleep(0.01)

    # ---- the model -------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        with self.lock:
            self._serial += 1
            msg_id = f"{kind}{self._serial}"
            self.states[msg_id] = State.MAYBE_IN
            return msg_id

    def _compose(self, msg_id: str, rng: random.Random) -> bytes:
        message = _message(msg_id, rng)
        with self.lock:
            self.texts[msg_id] = hashlib.sha256(message.split(b"\r\n\r\n", 1)[1]).hexdigest()
        return message

    def _delivered(self, msg_id: str, op: str) -> None:
        with self.lock:
            self.result.acknowledged[op] += 1
            if self.states[msg_id] is State.MAYBE_IN:  # a deletion may already have begun
                self.states[msg_id] = State.IN

    def _deleting(self, ids: list[str]) -> None:
        with self.lock:
            for msg_id in ids:
                if self.states.get(msg_id) is not State.OUT:
                    self.states[msg_id] = State.MAYBE_OUT

    def _deleted(self, ids: list[str], op: str) -> None:
        with self.lock:
            self.result.acknowledged[op] += len(ids)
            for msg_id in ids:
                self.states[msg_id] = State.OUT

    # ---- the clients -------------------------------------------------------------------
    def _smtp(self, rng: random.Random, stop: threading.Event) -> None:
        with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=15) as smtp:
            while not stop.is_set():
                msg_id = self._new_id("s")
                smtp.sendmail("a@remote.test", [USER], self._compose(msg_id, rng))  # raises unless 250
                self._delivered(msg_id, "smtp")

    def _append(self, rng: random.Random, stop: threading.Event) -> None:
        imap = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=15)
        try:
            imap.login(USER, PASSWORD)
            while not stop.is_set():
                msg_id = self._new_id("a")
                status, _ = imap.append("INBOX", None, None, self._compose(msg_id, rng))
                if status == "OK":
                    self._delivered(msg_id, "append")
        finally:
            with contextlib.suppress(Exception):
                imap.shutdown()

    def _pop3(self, rng: random.Random, stop: threading.Event) -> None:
        while not stop.is_set():
            pop = poplib.POP3("127.0.0.1", self.ports["pop3"], timeout=15)
            try:
                pop.user(USER)
                try:
                    pop.pass_(PASSWORD)
                except poplib.error_proto as e:
                    if "IN-USE" in str(e.args[0]):
                        time.sleep(0.05)
                        continue  # the previous session's lock is not released yet
                    raise
                count = len(pop.list()[1])
                chosen: list[str] = []
                for n in rng.sample(range(1, count + 1), min(count, _how_many(rng, count))):
                    m = _MESSAGE_ID.search(b"\r\n".join(pop.top(n, 0)[1]))
                    if m is None:
                        raise AssertionError("a message without our Message-ID")
                    pop.dele(n)
                    chosen.append(m.group(1).decode())
                self._deleting(chosen)
                pop.quit()  # RFC 1939 §6: the deletions are made in the UPDATE state
                self._deleted(chosen, "pop3_dele")
            finally:
                with contextlib.suppress(Exception):
                    pop.close()

    def _expunge(self, rng: random.Random, stop: threading.Event) -> None:
        imap = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=15)
        try:
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            while not stop.is_set():
                seen = self._fetch_ids(imap)
                if not seen:
                    imap.noop()
                    continue
                picked = rng.sample(sorted(seen), min(len(seen), _how_many(rng, len(seen))))
                uids = ",".join(str(uid) for uid in picked)
                ids = [seen[uid] for uid in picked]
                self._deleting(ids)
                if imap.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")[0] != "OK":
                    raise RuntimeError("STORE failed")
                if imap.uid("EXPUNGE", uids)[0] == "OK":  # RFC 4315 §2.1
                    self._deleted(ids, "imap_expunge")
        finally:
            with contextlib.suppress(Exception):
                imap.shutdown()

    @staticmethod
    def _fetch_texts(imap: imaplib.IMAP4) -> dict[int, str]:
        """uid -> SHA-256 of the body (BODY[TEXT]) of every message in the selected mailbox."""
        status, data = imap.uid("FETCH", "1:*", "(UID BODY.PEEK[TEXT])")
        if status != "OK":
            raise RuntimeError(f"FETCH BODY[TEXT] failed: {data!r}")
        found: dict[int, str] = {}
        for item in data:
            if isinstance(item, tuple):
                uid = _UID.search(item[0])
                if uid is None:
                    raise AssertionError(f"unexpected FETCH item {item!r}")
                found[int(uid.group(1))] = hashlib.sha256(item[1]).hexdigest()
        return found

    @staticmethod
    def _fetch_ids(imap: imaplib.IMAP4) -> dict[int, str]:
        """uid -> Message-ID of every message in the selected mailbox."""
        status, data = imap.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        if status != "OK":
            raise RuntimeError(f"FETCH failed: {data!r}")
        found: dict[int, str] = {}
        for item in data:
            if isinstance(item, tuple):
                uid = _UID.search(item[0])
                m = _MESSAGE_ID.search(item[1])
                if uid is None or m is None:
                    raise AssertionError(f"unexpected FETCH item {item!r}")
                found[int(uid.group(1))] = m.group(1).decode()
        return found

    def _worker(self, name: str, body: Callable[[random.Random, threading.Event], None], seed: int,
                stop: threading.Event) -> None:  # fmt: skip
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                body(rng, stop)
            except (OSError, EOFError, smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto):
                # The server died under us (or refused while starting): not acknowledged.
                if not stop.is_set():
                    time.sleep(0.02)

    # ---- one cut -----------------------------------------------------------------------
    def cut_after_each_single_operation(self) -> None:
        """The cut right after ONE acknowledged operation of each kind on a freshly
        started server, with no later commit to sync it along: SMTP, APPEND, POP3
        DELE+QUIT, UID EXPUNGE, each followed at once by SIGKILL and a cut."""
        rng = random.Random(0)

        def once(body: Callable[[], None], what: str) -> None:
            n = self.result.cuts + 1
            self.result.log.append(f"cut {n}: right after one {what}")
            try:
                body()
            except (OSError, EOFError, StopIteration, smtplib.SMTPException, imaplib.IMAP4.error, poplib.error_proto) as e:
                # E.g. the account itself was lost at the cut before: a failure, not a crash.
                self.result.failures.append(f"cut {n}: the {what} failed: {e!r}")
            self.kill()
            self.fs.cut()
            self.result.cuts += 1
            self._check_sqlite(n)
            try:
                self.start()
                self._check_mailbox(n)
            except (OSError, RuntimeError, AssertionError, imaplib.IMAP4.error) as e:
                self.result.failures.append(f"cut {n}: the server or its mailbox did not come back: {e!r}")

        def smtp() -> None:
            with smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=15) as client:
                msg_id = self._new_id("s")
                client.sendmail("a@remote.test", [USER], self._compose(msg_id, rng))
                self._delivered(msg_id, "smtp")

        def append() -> None:
            imap = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=15)
            imap.login(USER, PASSWORD)
            msg_id = self._new_id("a")
            if imap.append("INBOX", None, None, self._compose(msg_id, rng))[0] == "OK":
                self._delivered(msg_id, "append")
            imap.logout()

        def pop3() -> None:
            pop = poplib.POP3("127.0.0.1", self.ports["pop3"], timeout=15)
            pop.user(USER)
            pop.pass_(PASSWORD)
            m = _MESSAGE_ID.search(b"\r\n".join(pop.top(1, 0)[1]))
            assert m is not None
            pop.dele(1)
            self._deleting([m.group(1).decode()])
            pop.quit()
            self._deleted([m.group(1).decode()], "pop3_dele")

        def expunge() -> None:
            imap = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=15)
            imap.login(USER, PASSWORD)
            imap.select("INBOX")
            uid, msg_id = next(iter(self._fetch_ids(imap).items()))
            self._deleting([msg_id])
            imap.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            if imap.uid("EXPUNGE", str(uid))[0] == "OK":
                self._deleted([msg_id], "imap_expunge")
            imap.logout()

        for body, what in ((smtp, "SMTP delivery"), (append, "APPEND"), (smtp, "SMTP delivery"),
                           (pop3, "POP3 DELE+QUIT"), (expunge, "UID EXPUNGE")):  # fmt: skip
            once(body, what)

    def cut_once(self, rng: random.Random) -> None:
        """Let the clients work for a random while, kill the server and cut the power,
        restart it and check the mailbox against the model."""
        delay = rng.uniform(0.05, 0.7)
        keep = rng.choice((0.0, 0.0, 0.3, 0.7))
        cut_seed = rng.randrange(1 << 32)
        n = self.result.cuts + 1
        self.result.log.append(f"cut {n}: after {delay:.3f}s, keep={keep}, seed={cut_seed}")
        stop = threading.Event()
        bodies = {"smtp": self._smtp, "append": self._append, "pop3": self._pop3, "expunge": self._expunge}
        threads = [
            threading.Thread(target=self._worker, args=(name, body, rng.randrange(1 << 32), stop), daemon=True)
            for name, body in bodies.items()
        ]
        for t in threads:
            t.start()
        time.sleep(delay)  # the cut point: a random moment in the clients' work
        self.kill()
        stop.set()
        for t in threads:
            t.join(30)
        self.fs.cut(keep=keep, seed=cut_seed)
        self.result.cuts += 1
        self._check_sqlite(n)
        try:
            self.start()
            self._check_mailbox(n)
        except (OSError, RuntimeError, AssertionError, imaplib.IMAP4.error) as e:
            self.result.failures.append(f"cut {n}: the server or its mailbox did not come back: {e!r}")

    def _check_sqlite(self, n: int) -> None:
        db = self.data_dir / "postoffice.sqlite3"
        try:
            conn = sqlite3.connect(db, isolation_level=None)
            try:
                result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
                # SQLite 3.40 reports "NULL value in T.C" falsely for a WITHOUT ROWID table
                # whose primary key leaves out column C: ask the table itself.
                for line in list(result):
                    m = re.fullmatch(r"NULL value in (\w+)\.(\w+)", line)
                    if m and conn.execute(f"SELECT count(*) FROM {m[1]} WHERE {m[2]} IS NULL").fetchone() == (0,):
                        result.remove(line)
            finally:
                conn.close()
        except sqlite3.Error as e:
            self.result.failures.append(f"cut {n}: the database does not open: {e}")
            return
        if [line for line in result if line != "ok"]:
            self.result.failures.append(f"cut {n}: integrity_check: {result[:5]}")

    def _check_mailbox(self, n: int) -> None:
        imap = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=30)
        try:
            imap.login(USER, PASSWORD)
            if imap.select("INBOX")[0] != "OK":
                self.result.failures.append(f"cut {n}: SELECT INBOX failed")
                return
            ids = self._fetch_ids(imap)
            stored = Counter(ids.values())
            texts = self._fetch_texts(imap)
        finally:
            with contextlib.suppress(Exception):
                imap.logout()
        with self.lock:
            for msg_id, count in stored.items():
                if count > 1:
                    self.result.duplicated.append(f"cut {n}: {msg_id} x{count}")
                if msg_id not in self.states:
                    self.result.strange.append(f"cut {n}: {msg_id} was never sent")
            for uid, msg_id in ids.items():
                # Every byte of a message that is there must be there: its parts may be
                # blob files the database row points at (a lost blob is lost mail).
                expected = self.texts.get(msg_id)
                if expected is not None and texts.get(uid) != expected:
                    self.result.lost.append(f"cut {n}: {msg_id} is there but its content is not (UID {uid})")
            for msg_id, state in self.states.items():
                count = stored.get(msg_id, 0)
                if state is State.IN and count == 0:
                    self.result.lost.append(f"cut {n}: {msg_id}")
                elif state is State.OUT and count:
                    self.result.undone.append(f"cut {n}: {msg_id}")
                # What was read from durable storage is the expectation from now on.
                self.states[msg_id] = State.IN if count else State.OUT

    def stats(self) -> dict[str, int]:
        return self.fs.stats()


def run_power_cuts(workdir: Path, cuts: int, seed: int, *, serve: list[str] | None = None,
                   env: dict[str, str] | None = None, progress: Callable[[str], None] | None = None,
                   stop_on_failure: bool = False) -> PowerCutResult:  # fmt: skip
    """Five cuts right after single operations, then ``cuts`` cuts at random points, on
    one server; the result counts what was lost."""
    rng = random.Random(seed)
    with PowerCutRun(workdir, serve=serve, env=env) as run:
        run.cut_after_each_single_operation()
        for _ in range(cuts):
            run.cut_once(rng)
            if progress is not None:
                progress(run.result.log[-1] + " -> " + run.result.summary())
            if (stop_on_failure and not run.result.ok) or run.process is None:
                break  # stop at the first failure, or the server is gone
        run.result.log.append("powerfs: " + json.dumps(run.stats()))
    return run.result
