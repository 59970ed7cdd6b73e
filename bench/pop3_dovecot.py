"""Benchmark: 8 POP3 clients each download the whole maildrop of their own account,
postoffice side by side with Debian's Dovecot (dovecot-pop3d) on the same machine.

Run::

    .venv/bin/python bench/pop3_dovecot.py [--messages 200] [--kb 50] [--rounds 3]

Both servers get the same corpus (8 accounts x ``--messages`` messages of about ``--kb``
KB): postoffice through ``mail.deliver``, Dovecot as Maildir files. Rounds alternate
(postoffice, Dovecot, postoffice, ...); each round runs 8 poplib clients in threads
(USER/PASS, RETR every message, QUIT). Prints messages/s and MB/s per server (best
round) and the ratio; the target is postoffice >= 0.5x Dovecot's MB/s. Dovecot is
installed with apt-get only if missing and runs from a temp dir on a loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import poplib
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import Server, Unavailable, free_port, start_dovecot, start_postoffice  # noqa: E402
from postoffice import app  # noqa: E402
from postoffice.config import load_config  # noqa: E402

CLIENTS = 8
PASSWORD = "password"


def corpus_message(account: int, i: int, kb: int) -> bytes:
    head = f"From: bench@example.test\r\nTo: user{account}@example.test\r\nSubject: message {i}\r\n\r\n".encode()
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    return head + line * (kb * 1024 // len(line)) + b".dotted line\r\n"


def start_dovecot_pop3(work: Path, users: list[str], messages: int, kb: int) -> Server:
    def fill(mail: Path) -> None:  # the corpus as Maildir files
        for a, user in enumerate(users):
            new = mail / user / "Maildir" / "new"
            for sub in ("new", "cur", "tmp"):
                (new.parent / sub).mkdir(parents=True, exist_ok=True)
            for i in range(messages):
                (new / f"{1700000000 + i}.M{i}P{a}.bench").write_bytes(corpus_message(a, i, kb))

    return start_dovecot(
        work, {u: PASSWORD for u in users}, protocol="pop3", settings="pop3_uidl_format = %08Xu%08Xv", fill=fill
    )


async def fill_postoffice(config_file: Path, users: list[str], messages: int, kb: int) -> None:
    async with app.services(load_config(config_file)) as s:
        for a, user in enumerate(users):
            for i in range(messages):
                await s.mail.deliver(corpus_message(a, i, kb), [user])


def download(port: int, user: str) -> tuple[int, int]:
    pop = poplib.POP3("127.0.0.1", port, timeout=60)
    pop.user(user)
    pop.pass_(PASSWORD)
    count, _ = pop.stat()
    octets = 0
    for n in range(1, count + 1):
        octets += pop.retr(n)[2]
    pop.quit()
    return count, octets


def round_(port: int, users: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda u: download(port, u), users))
    elapsed = time.perf_counter() - start
    count = sum(r[0] for r in results)
    octets = sum(r[1] for r in results)
    return count / elapsed, octets / elapsed / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--kb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pop3-bench-", dir="/var/tmp") as tmp:
        os.chmod(tmp, 0o755)
        work = Path(tmp)
        users = [f"user{a}@example.test" for a in range(CLIENTS)]
        port = free_port()
        (work / "po").mkdir()
        config_file = work / "po" / "postoffice.toml"
        config_file.write_text(
            f'data_dir = "{work / "po" / "data"}"\ndomains = ["example.test"]\n[listen]\npop3 = "127.0.0.1:{port}"\n'
        )
        po = start_postoffice(work / "po", {u: PASSWORD for u in users}, config=config_file, port=port)
        po.stop()  # users made; fill the store while no server runs, then start again
        asyncio.run(fill_postoffice(config_file, users, args.messages, args.kb))
        po = start_postoffice(work / "po", None, config=config_file, port=port)
        try:
            dc = start_dovecot_pop3(work / "dovecot", users, args.messages, args.kb)
        except Unavailable as exc:
            po.stop()
            print(f"Dovecot unavailable: {exc}")
            return 2
        results: dict[str, list[tuple[float, float]]] = {"postoffice": [], "dovecot": []}
        try:
            round_(po.port, users)  # warm-up both (page cache, first-login work)
            round_(dc.port, users)
            for _ in range(args.rounds):
                results["postoffice"].append(round_(po.port, users))
                results["dovecot"].append(round_(dc.port, users))
        finally:
            po.stop()
            dc.stop()
        best = {name: max(runs, key=lambda r: r[1]) for name, runs in results.items()}
        for name, (mps, mbps) in best.items():
            print(f"{name:<11} {mps:8.0f} messages/s {mbps:8.1f} MB/s   (rounds: "
                  + ", ".join(f"{r[1]:.1f}" for r in results[name]) + " MB/s)")  # fmt: skip
        ratio = best["postoffice"][1] / best["dovecot"][1]
        print(f"ratio postoffice/dovecot MB/s: {ratio:.2f} (target >= 0.5)")
        return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
