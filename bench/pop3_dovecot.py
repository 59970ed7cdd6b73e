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
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import Server, Unavailable, _spawn, free_port, start_postoffice, wait_port  # noqa: E402
from postoffice import app  # noqa: E402
from postoffice.config import load_config  # noqa: E402

CLIENTS = 8
PASSWORD = "password"


def corpus_message(account: int, i: int, kb: int) -> bytes:
    head = f"From: bench@example.test\r\nTo: user{account}@example.test\r\nSubject: message {i}\r\n\r\n".encode()
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    return head + line * (kb * 1024 // len(line)) + b".dotted line\r\n"


def ensure_dovecot_pop3() -> str:
    if not Path("/usr/lib/dovecot/pop3").exists():
        if os.geteuid() != 0:
            raise Unavailable("dovecot-pop3d is missing and we are not root to apt-get it")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "dovecot-pop3d"]):
            done = subprocess.run(argv, env=env, capture_output=True, timeout=900)
            if done.returncode != 0:
                raise Unavailable(f"{' '.join(argv)}: {done.stderr.decode(errors='replace')[-400:]}")
    exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(exe).exists():
        raise Unavailable("dovecot not found")
    return exe


def start_dovecot_pop3(work: Path, users: list[str], messages: int, kb: int) -> Server:
    exe = ensure_dovecot_pop3()
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    for sub in ("run", "state", "mail"):
        (work / sub).mkdir(exist_ok=True)
    owner = pwd.getpwnam("dovecot")
    uid, gid = owner.pw_uid, owner.pw_gid
    try:
        pwd.getpwnam("dovenull")
        login_user = "dovenull"
    except KeyError:
        login_user = "dovecot"
    for a, user in enumerate(users):  # the corpus as Maildir files
        new = work / "mail" / user / "Maildir" / "new"
        for sub in ("new", "cur", "tmp"):
            (new.parent / sub).mkdir(parents=True, exist_ok=True)
        for i in range(messages):
            (new / f"{1700000000 + i}.M{i}P{a}.bench").write_bytes(corpus_message(a, i, kb))
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(work / "mail")], check=True)
    passwd = work / "passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{work / 'mail' / u}::\n" for u in users))
    port = free_port()
    conf = work / "dovecot.conf"
    conf.write_text(f"""\
protocols = pop3
listen = 127.0.0.1
base_dir = {work / "run"}
state_dir = {work / "state"}
instance_name = bench-pop3-{port}
log_path = {work / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
default_internal_user = dovecot
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
""")
    proc = _spawn([exe, "-F", "-c", str(conf)], work / "dovecot.stdout", work)
    server = Server("dovecot", port, {u: PASSWORD for u in users}, proc, work, work / "dovecot.log")
    try:
        wait_port(port, proc)
    except Unavailable:
        server.stop()
        raise
    return server


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
