"""Benchmark: SMTP acceptance rate, postoffice side by side with Debian's Postfix (issue 3).

Run::

    .venv/bin/python bench/smtp_postfix.py [--rounds 5] [--messages 2000] [--sessions 10]
                                           [--length 4096] [--profile /tmp/smtp.txt]

Both servers get the same load from Postfix's own generator, ``smtp-source -s 10 -m 2000
-l 4096 -f sender@remote.test -t pobench@example.test 127.0.0.1:PORT``: 10 parallel
sessions, 2000 messages of 4 KiB payload, HELO + one transaction + QUIT on a new
connection per message (no ``-d``), one recipient each, same flags for both servers.

Figure that counts (the issue's ratio): **acceptance rate** = messages / smtp-source's wall
time. smtp-source exits only after every message got its 250 reply to the final dot, and
both servers say 250 only once the message is durable (Postfix: queue file fsynced;
postoffice: blob and index rows fsynced). For Postfix a second figure, **delivered**, waits
further until the ``local`` agent has written all messages into the recipient's Maildir.

postoffice: ``postoffice --config X serve`` with only the smtp listener on a free loopback
port, user pobench@example.test made with the CLI before serve. After every postoffice
round the CLI ``status`` must show exactly ``--messages`` more stored messages, or the
bench fails (a lost message is not a fast one).

Postfix: a private instance (``postfix -c DIR start``) with Debian's main.cf/master.cf
copied into a temp dir and only these changes: its own queue_directory and data_directory,
smtpd on ``127.0.0.1:PORT`` (master.cf), inet_interfaces = loopback-only, example.test in
mydestination, ``home_mailbox = Maildir/`` for the system user ``pobench`` (made with
``useradd -m`` when missing; its ~/Maildir is emptied at start), ``chroot = n`` for every
service (Debian's chroot needs a copy of /etc in the queue dir; upstream's default is no
chroot) and ``maillog_file`` in the temp dir (no syslog on this machine). Everything else,
fsync included, is the default. The system instance on port 25 is never touched, and the
private one is stopped in a ``finally``.

Both servers run once for the whole bench on the same data dirs (no restart between
rounds, messages accumulate). Each round runs both, alternating the order (Postfix first
in even rounds, postoffice first in odd ones); a round starts only after Postfix has
delivered everything from the previous one, so no backlog competes. Printed per round:
msg/s for each, CPU seconds and CPU% (of one core) of the server processes during the
acceptance window; then medians and the ratio postoffice/Postfix (issue target: >= 0.8).
``--profile FILE`` adds one unmeasured postoffice run under ``py-spy record -f raw`` and
prints the top self-time and inclusive frames.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import VENV_BIN, Server, Unavailable, free_port, start_postoffice, wait_port  # noqa: E402

__all__ = ["main"]

USER = "pobench"
DOMAIN = "example.test"
RECIPIENT = f"{USER}@{DOMAIN}"
SENDER = "sender@remote.test"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
SMTP_SOURCE = "/usr/sbin/smtp-source"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- CPU accounting from /proc ---------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime+stime of pid; with ``children``, plus reaped children (cutime+cstime) and live ones."""
    try:
        f = _stat_fields(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
    if children:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime: children already waited for
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    g = _stat_fields(int(entry.name))
                except OSError:
                    continue
                if int(g[1]) == pid:  # ppid (field 4): a live child such as smtpd, cleanup, local
                    ticks += int(g[11]) + int(g[12])
    return ticks / CLK_TCK


# ---- Postfix -------------------------------------------------------------------------


def ensure_user() -> Path:
    """The system user Postfix's local agent delivers to; returns its Maildir (emptied)."""
    try:
        home = Path(pwd.getpwnam(USER).pw_dir)
    except KeyError:
        done = subprocess.run(["useradd", "-m", "-s", "/usr/sbin/nologin", USER], capture_output=True)
        if done.returncode != 0:
            raise Unavailable(f"useradd {USER}: {done.stderr.decode(errors='replace').strip()}") from None
        home = Path(pwd.getpwnam(USER).pw_dir)
    maildir = home / "Maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    return maildir


def maildir_count(maildir: Path) -> int:
    n = 0
    for sub in ("new", "cur"):
        try:
            with os.scandir(maildir / sub) as it:
                n += sum(1 for _ in it)
        except FileNotFoundError:
            pass
    return n


@dataclass
class Postfix:
    conf: Path
    port: int
    workdir: Path

    @property
    def master_pid(self) -> int:
        return int((self.workdir / "spool" / "pid" / "master.pid").read_text().split()[0])

    def stop(self) -> None:
        try:
            pid = self.master_pid
        except (OSError, ValueError):
            pid = 0
        subprocess.run([POSTFIX, "-c", str(self.conf), "stop"], capture_output=True, timeout=60)
        end = time.monotonic() + 30
        while pid and time.monotonic() < end and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)

    def tail_log(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.workdir / "maillog").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_postfix(workdir: Path, settings: tuple[str, ...] = ()) -> Postfix:
    """A private Postfix in ``workdir`` (see the module docstring); ``settings`` are more
    ``main.cf`` lines (``name = value``), applied last (bench/relay_postfix.py: relayhost)."""
    if not (Path(POSTFIX).exists() and Path(SMTP_SOURCE).exists()):
        raise Unavailable("postfix / smtp-source are not installed (apt-get install postfix)")
    if os.geteuid() != 0:
        raise Unavailable("a private Postfix instance needs root")
    conf = workdir / "etc"  # beside the spool, not above it: postfix-script checks conf/. is all root's
    conf.mkdir(parents=True)
    (workdir / "spool").mkdir(mode=0o755)  # postfix check fills it (post-install create-missing)
    (workdir / "lib").mkdir(mode=0o700)
    postfix_user = pwd.getpwnam("postfix")
    os.chown(workdir / "lib", postfix_user.pw_uid, postfix_user.pw_gid)
    for name in ("main.cf", "master.cf"):
        shutil.copy(Path("/etc/postfix") / name, conf / name)
    port = free_port()

    def postconf(*argv: str) -> None:
        done = subprocess.run([POSTCONF, "-c", str(conf), *argv], capture_output=True, timeout=60)
        if done.returncode != 0:
            raise Unavailable(f"postconf {' '.join(argv)}: {done.stderr.decode(errors='replace').strip()}")

    postconf(
        "-e",
        f"queue_directory = {workdir / 'spool'}",
        f"data_directory = {workdir / 'lib'}",
        "inet_interfaces = loopback-only",
        f"mydestination = $myhostname, localhost.localdomain, localhost, {DOMAIN}",
        "home_mailbox = Maildir/",
        f"maillog_file = {workdir / 'maillog'}",
        *settings,
    )
    postconf("-F", "*/*/chroot = n")
    master = conf / "master.cf"
    text = master.read_text()
    text, n = re.subn(r"(?m)^smtp(\s+inet\s)", rf"127.0.0.1:{port}\1", text, count=1)
    if n != 1:
        raise Unavailable("no 'smtp inet' line in master.cf")
    master.write_text(text)
    pf = Postfix(conf, port, workdir)
    check = subprocess.run([POSTFIX, "-c", str(conf), "check"], capture_output=True, timeout=120)
    if check.returncode != 0:
        raise Unavailable(f"postfix check: {check.stderr.decode(errors='replace').strip()}\n{pf.tail_log()}")
    if check.stderr.strip():
        print(f"postfix check: {check.stderr.decode(errors='replace').strip()}", flush=True)
    done = subprocess.run([POSTFIX, "-c", str(conf), "start"], capture_output=True, timeout=120)
    if done.returncode != 0:
        pf.stop()
        raise Unavailable(f"postfix start: {done.stderr.decode(errors='replace').strip()}\n{pf.tail_log()}")
    try:
        wait_port(port)
    except Unavailable:
        pf.stop()
        raise
    return pf


# ---- postoffice ----------------------------------------------------------------------


def start_po(workdir: Path, processes: int | None = None) -> Server:
    workdir.mkdir(parents=True)
    port = free_port()
    config = workdir / "postoffice.toml"
    server = "" if processes is None else f"[server]\nprocesses = {processes}\n"
    config.write_text(
        f'hostname = "bench.{DOMAIN}"\ndata_dir = "{workdir / "data"}"\ndomains = ["{DOMAIN}"]\n{server}'
        f'[listen]\nsmtp = "127.0.0.1:{port}"\n'
    )
    return start_postoffice(workdir, {RECIPIENT: "bench-password"}, config=config, port=port)


def po_stored(server: Server) -> int:
    """Messages in the store, as the CLI ``status`` counts them (while serve runs)."""
    exe = str(VENV_BIN / "postoffice")
    done = subprocess.run([exe, "--config", str(server.workdir / "postoffice.toml"), "status"],
                          capture_output=True, timeout=300)  # fmt: skip
    found = re.search(rb"^messages: (\d+)$", done.stdout, re.M)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"postoffice status failed: {done.stderr.decode(errors='replace')[-500:]}")
    return int(found.group(1))


# ---- one measured run ----------------------------------------------------------------


@dataclass
class Run:
    accept_s: float
    cpu_s: float  # server CPU during the acceptance window
    client_cpu_s: float  # smtp-source's CPU
    delivered_s: float | None = None  # Postfix: until the Maildir holds every message


def smtp_source(port: int, messages: int, sessions: int, length: int) -> tuple[float, float]:
    """Run smtp-source; return (wall seconds, its CPU seconds). Fails on any non-250."""
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(length),
            "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=1800)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"smtp-source exit {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def run_postfix(pf: Postfix, maildir: Path, args: argparse.Namespace) -> Run:
    base = maildir_count(maildir)
    master = pf.master_pid
    cpu0 = cpu_seconds(master, children=True)
    started = time.perf_counter()
    wall, client = smtp_source(pf.port, args.messages, args.sessions, args.length)
    cpu1 = cpu_seconds(master, children=True)
    deadline = time.monotonic() + 600
    while maildir_count(maildir) < base + args.messages:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Postfix delivered only {maildir_count(maildir) - base} messages\n{pf.tail_log()}")
        time.sleep(0.02)
    delivered = time.perf_counter() - started
    if maildir_count(maildir) != base + args.messages:
        raise RuntimeError(f"Postfix Maildir holds {maildir_count(maildir) - base} new messages, not {args.messages}")
    return Run(wall, cpu1 - cpu0, client, delivered)


def run_postoffice(po: Server, args: argparse.Namespace) -> Run:
    base = po_stored(po)
    cpu0 = cpu_seconds(po.proc.pid, children=True)  # with the SMTP worker processes
    wall, client = smtp_source(po.port, args.messages, args.sessions, args.length)
    cpu1 = cpu_seconds(po.proc.pid, children=True)
    stored = po_stored(po) - base
    if stored != args.messages:
        raise RuntimeError(f"postoffice stored {stored} messages, not {args.messages}\n{po.tail_log()}")
    return Run(wall, cpu1 - cpu0, client)


# ---- profile -------------------------------------------------------------------------


def profile(po: Server, args: argparse.Namespace, out: Path) -> None:
    """One unmeasured postoffice run under ``py-spy record --gil -f raw``; print the top frames.

    ``--gil`` samples only the thread holding the GIL: the server is CPU-bound on one core,
    so that is where its Python time goes (threads blocked in fsync or on a queue are not
    counted; their cost shows as wall time, not here)."""
    f0 = _stat_fields(po.proc.pid)
    spy = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "-o", str(out), "-f", "raw", "--threads",
                            "--gil", "-r", "200", "-p", str(po.proc.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        time.sleep(1.0)  # py-spy attaches
        run_postoffice(po, args)
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes the file and exits
        spy.wait(timeout=60)
    f1 = _stat_fields(po.proc.pid)
    user, system = ((int(f1[i]) - int(f0[i])) / CLK_TCK for i in (11, 12))
    print(f"profiled run: server user {user:.2f} s, system {system:.2f} s (includes py-spy's sampling overhead)")
    print_profile(out, args.top, title="py-spy --gil")


def print_profile(out: Path, top: int, *, title: str = "py-spy") -> None:
    """The top frames of a py-spy raw (collapsed stacks) file: by thread, self and inclusive."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        self_time[frames[-1]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
    print(f"{title}: {total} samples in {out}")
    for name, counter in (("threads", threads), ("self", self_time), ("inclusive", inclusive)):
        print(f"  top {name}:")
        for frame, n in counter.most_common(top):
            print(f"    {100 * n / max(total, 1):5.1f}%  {frame}")


# ---- main ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000, help="smtp-source -m")
    parser.add_argument("--sessions", type=int, default=10, help="smtp-source -s")
    parser.add_argument("--length", type=int, default=4096, help="smtp-source -l (payload octets)")
    parser.add_argument("--profile", type=Path, help="also profile one postoffice run with py-spy into FILE")
    parser.add_argument("--top", type=int, default=15, help="frames shown per profile list")
    parser.add_argument("--smtp-processes", type=int, default=None,
                        help="postoffice [server] processes (default: the server's default)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="smtp-bench-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    pf: Postfix | None = None
    po: Server | None = None
    try:
        try:
            maildir = ensure_user()
            pf = start_postfix(work / "postfix")
        except Unavailable as exc:
            print(f"Postfix unavailable: {exc}")
            return 2
        po = start_po(work / "po", args.smtp_processes)
        print(f"{args.sessions} sessions x {args.messages} messages of {args.length} octets, "
              f"{args.rounds} rounds; Postfix :{pf.port}, postoffice :{po.port}", flush=True)  # fmt: skip
        # Warm-up (unmeasured): first connections, page cache, Postfix's process pool.
        warm = argparse.Namespace(**{**vars(args), "messages": min(200, args.messages)})
        run_postfix(pf, maildir, warm)
        run_postoffice(po, warm)
        results: dict[str, list[Run]] = {"postfix": [], "postoffice": []}
        for r in range(args.rounds):
            order = ["postfix", "postoffice"] if r % 2 == 0 else ["postoffice", "postfix"]
            for name in order:
                run = run_postfix(pf, maildir, args) if name == "postfix" else run_postoffice(po, args)
                results[name].append(run)
                rate = args.messages / run.accept_s
                extra = f"  delivered {args.messages / run.delivered_s:7.0f} msg/s" if run.delivered_s else ""
                print(f"round {r + 1} {name:<10} accepted {rate:7.0f} msg/s ({run.accept_s:5.2f} s){extra}  "
                      f"server CPU {run.cpu_s:5.2f} s = {100 * run.cpu_s / run.accept_s:4.0f}%  "
                      f"smtp-source CPU {run.client_cpu_s:4.2f} s", flush=True)  # fmt: skip
        med = {n: statistics.median(args.messages / x.accept_s for x in runs) for n, runs in results.items()}
        delivered = statistics.median(args.messages / x.delivered_s for x in results["postfix"] if x.delivered_s)
        cpu_per_msg = {n: statistics.median(x.cpu_s / args.messages for x in runs) for n, runs in results.items()}
        print(f"median postfix    accepted {med['postfix']:7.0f} msg/s  delivered {delivered:7.0f} msg/s  "
              f"server CPU {1e3 * cpu_per_msg['postfix']:.2f} ms/msg (acceptance window)")  # fmt: skip
        print(f"median postoffice accepted {med['postoffice']:7.0f} msg/s  "
              f"server CPU {1e3 * cpu_per_msg['postoffice']:.2f} ms/msg")  # fmt: skip
        ratio = med["postoffice"] / med["postfix"]
        verdict = "meets" if ratio >= 0.8 else "misses"
        print(f"ratio postoffice/postfix (acceptance, 250 rate) {ratio:.2f}x  ({verdict} the 0.8x target); "
              f"vs Postfix delivered {med['postoffice'] / delivered:.2f}x")  # fmt: skip
        if args.profile:
            profile(po, args, args.profile)
        return 0 if ratio >= 0.8 else 1
    finally:
        if po is not None:
            po.stop()
        if pf is not None:
            pf.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
