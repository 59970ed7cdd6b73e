"""Benchmark: the load driver's IMAP, POP3 and APPEND workloads against postoffice (1 and
2 processes) and Dovecot, side by side, alternating, with the same argon2id hashes.

Run: ``.venv/bin/python -m bench.load_dovecot --load PATH/load.py [--rounds 3]
[--seconds 15]`` (or set ``POSTOFFICE_LOAD_DRIVER``). Owns nothing but its temp dir and
the server processes it starts (bench/_servers.py).

The load driver is an external standard-library script (subcommands ``seed``: IMAP
APPEND of a deterministic corpus, 4 clients; ``imap``: 8 clients looping whole
sessions; ``pop3``: 8 clients downloading every message), each printing one JSON line.
Without it, this benchmark says so and does nothing.

Servers: postoffice with ``[server] processes = 1``, postoffice with ``processes = 2``
(each its own data dir, IMAP and POP3 listeners), and Debian's Dovecot (Maildir,
default fsync settings; an IMAP instance, and a POP3 instance on a copy of its Maildir
made after seeding). Every login checks the same argon2id hash (m=19 MiB, t=2, p=1,
postoffice's own): Dovecot's passwd-file holds ``{ARGON2ID}`` and the hash postoffice
made. Users ``user1..8@example.test`` get ``--messages`` messages each by APPEND first;
each round then appends ``--messages`` to 4 fresh users (the APPEND figure), and runs
the IMAP and POP3 loads on users 1..8; the server order alternates between rounds.
Printed: every figure per round, medians, and postoffice/Dovecot ratios. Loopback only;
every figure is printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench._servers import Server, Unavailable, free_port, start_dovecot, start_postoffice

__all__ = ["main"]

DOMAIN = "example.test"
PASSWORD = "pass"
CLIENTS = 8
USERS = 8  # seeded before the rounds; each round appends to 4 fresh ones
WORKLOADS = ("append_msgs_per_s", "imap_ops_per_s", "imap_fetch_meta_p50_ms", "pop3_msgs_per_s", "pop3_retr_p50_ms")


def po_config(workdir: Path, imap: int, pop3: int, processes: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "bench.{DOMAIN}"\ndata_dir = "{workdir / "data"}"\ndomains = ["{DOMAIN}"]\n'
        f'[listen]\nimap = "127.0.0.1:{imap}"\npop3 = "127.0.0.1:{pop3}"\n'
        f"[server]\nprocesses = {processes}\n"
        "[limits.imap]\nmax_connections_per_ip = 500\nmax_connections_per_user = 500\n"
        "[limits.pop3]\nmax_connections_per_ip = 500\n"
    )
    return config


def load(driver: Path, command: str, port: int, clients: int, users: str, extra: list[str]) -> dict[str, object]:
    argv = [sys.executable, str(driver), command, "--port", str(port), "--clients", str(clients), "--users", users,
            "--user-fmt", f"user%d@{DOMAIN}", "--password", PASSWORD, *extra]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stderr.decode(errors='replace')[-800:]}")
    result: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    if result.get("errors"):
        print(f"  {command} errors: {result['errors']}", flush=True)
    return result


def number(result: dict[str, object], key: str) -> float:
    value = result.get(key)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def p50(result: dict[str, object], op: str) -> float:
    latency = result.get("latency")
    assert isinstance(latency, dict)
    return float(latency.get(op, {}).get("p50_ms", float("nan")))


class Target:
    def __init__(self, name: str, imap: int, pop3: int, stop: Callable[[], None]) -> None:
        self.name, self.imap, self.pop3, self.stop = name, imap, pop3, stop
        self.figures: dict[str, list[float]] = {w: [] for w in WORKLOADS}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.load_dovecot", description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=Path, default=os.environ.get("POSTOFFICE_LOAD_DRIVER"),
                        help="the load driver script (default: $POSTOFFICE_LOAD_DRIVER)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--messages", type=int, default=100, help="messages per user")
    args = parser.parse_args(argv)
    if args.load is None or not Path(args.load).exists():
        print("load_dovecot: no load driver (--load or POSTOFFICE_LOAD_DRIVER); skipped", flush=True)
        return 0
    from postoffice.mail.auth import make_credentials

    work = Path(tempfile.mkdtemp(prefix="po-load-"))
    os.chmod(work, 0o755)
    total_users = USERS + 4 * args.rounds
    users = {f"user{i}@{DOMAIN}": PASSWORD for i in range(1, total_users + 1)}
    seed = ["--count", str(args.messages)]
    servers: list[Server] = []
    targets: list[Target] = []
    try:
        for processes in (1, 2):
            imap_port, pop3_port = free_port(), free_port()
            config = po_config(work / f"po{processes}", imap_port, pop3_port, processes)
            server = start_postoffice(work / f"po{processes}", users, config=config, port=imap_port)
            servers.append(server)
            targets.append(Target(f"postoffice/{processes}p", imap_port, pop3_port, server.stop))
        try:
            dovecot = start_dovecot(work / "dovecot", users)
            servers.append(dovecot)
            # The same argon2id hash for every user (postoffice's own parameters).
            argon2 = make_credentials(PASSWORD).argon2_hash
            passwd = work / "dovecot" / "passwd"
            passwd.write_text(passwd.read_text().replace("{PLAIN}" + PASSWORD, "{ARGON2ID}" + argon2))
            dovecot_target = Target("dovecot", dovecot.port, 0, dovecot.stop)
            targets.append(dovecot_target)
        except Unavailable as exc:
            print(f"load_dovecot: Dovecot unavailable, postoffice alone: {exc}", flush=True)
            dovecot_target = None
        for target in targets:
            done = load(args.load, "seed", target.imap, 4, f"1-{USERS}", seed)
            print(f"{target.name}: seeded {done.get('appended')} messages", flush=True)
        if dovecot_target is not None:
            mail = work / "dovecot" / "mail"

            def fill(root: Path) -> None:
                shutil.copytree(mail, root, dirs_exist_ok=True)

            dovecot_pop3 = start_dovecot(work / "dovecot-pop3", users, protocol="pop3", fill=fill)
            servers.append(dovecot_pop3)
            pop3_passwd = work / "dovecot-pop3" / "passwd"
            pop3_passwd.write_text(pop3_passwd.read_text().replace("{PLAIN}" + PASSWORD, "{ARGON2ID}" + argon2))
            dovecot_target.pop3 = dovecot_pop3.port
        for r in range(args.rounds):
            fresh = f"{USERS + 4 * r + 1}-{USERS + 4 * r + 4}"
            for target in targets if r % 2 == 0 else list(reversed(targets)):
                appended = load(args.load, "seed", target.imap, 4, fresh, seed)
                sessions = load(args.load, "imap", target.imap, CLIENTS, f"1-{USERS}", ["--seconds", str(args.seconds)])
                pop = load(args.load, "pop3", target.pop3, CLIENTS, f"1-{USERS}", ["--seconds", str(args.seconds)])
                row = {
                    "append_msgs_per_s": number(appended, "append_msgs_per_s"),
                    "imap_ops_per_s": number(sessions, "ops_per_s"),
                    "imap_fetch_meta_p50_ms": p50(sessions, "FETCH_META"),
                    "pop3_msgs_per_s": number(pop, "msgs_per_s"),
                    "pop3_retr_p50_ms": p50(pop, "RETR"),
                }
                for key, value in row.items():
                    target.figures[key].append(value)
                print(f"round {r + 1} {target.name}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
        print("medians over", args.rounds, "rounds:", flush=True)
        medians = {t.name: {w: statistics.median(v) for w, v in t.figures.items()} for t in targets}
        for name, figures in medians.items():
            print(f"  {name}: " + ", ".join(f"{w} {v:.2f}" for w, v in figures.items()), flush=True)
        if "dovecot" in medians:
            for name in (n for n in medians if n != "dovecot"):
                ratios = {w: medians[name][w] / medians["dovecot"][w] for w in WORKLOADS if medians["dovecot"][w]}
                print(f"  {name} / dovecot: " + ", ".join(f"{w} {v:.2f}x" for w, v in ratios.items()), flush=True)
        if "postoffice/1p" in medians and "postoffice/2p" in medians:
            base, two = medians["postoffice/1p"], medians["postoffice/2p"]
            print("  postoffice 2 processes / 1: " + ", ".join(f"{w} {two[w] / base[w]:.2f}x" for w in WORKLOADS if base[w]), flush=True)  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
