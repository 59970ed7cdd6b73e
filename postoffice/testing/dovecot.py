"""A private Debian Dovecot for tests and benchmarks, started and stopped by pid.

Owns :func:`start_dovecot` (Debian's dovecot-imapd or dovecot-pop3d, run with
``dovecot -F -c conf`` from a temp dir, Maildir, passwd-file users), :class:`Server`
(a process on a loopback port, stopped by its own ``stop()``), :func:`wait_port`
and :class:`Unavailable`. Invariants: every server binds 127.0.0.1 only; every process
started here is stopped by its own ``stop()`` (by pid, never by name); a server that
cannot be started raises ``Unavailable`` with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from postoffice.testing.serve import free_port

__all__ = ["Server", "Unavailable", "spawn", "start_dovecot", "wait_port"]


class Unavailable(Exception):
    """A reference server could not be installed or started (the reason is the message)."""


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, deadline: float = 60.0) -> None:
    """Return once 127.0.0.1:port accepts a connection; raise if the process died or time ran out."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise Unavailable(f"server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise Unavailable(f"port {port} did not accept connections within {deadline:.0f} s")


@dataclass
class Server:
    name: str
    port: int
    users: dict[str, str]  # login -> password
    proc: subprocess.Popen[bytes]
    workdir: Path
    log: Path
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for p in [self.proc, *self.extra]:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=15)

    def tail_log(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(argv: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    finally:
        out.close()


# ---- Dovecot ---------------------------------------------------------------------


def _ensure_dovecot(protocol: str = "imap") -> str:
    """Debian's dovecot with the ``protocol`` server (dovecot-imapd / dovecot-pop3d)."""
    package = f"dovecot-{protocol}d"
    exe = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if exe and Path(f"/usr/lib/dovecot/{protocol}").exists():
        return exe
    if os.geteuid() != 0:
        raise Unavailable(f"{package} is not installed and we are not root to apt-get it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(argv, env=env, capture_output=True, timeout=900)
        if done.returncode != 0:
            raise Unavailable(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')[-500:]}")
    exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(exe).exists():
        raise Unavailable(f"dovecot not found after apt-get install {package}")
    return exe


def start_dovecot(
    workdir: Path,
    users: dict[str, str],
    *,
    protocol: str = "imap",
    settings: str = "",
    fill: Callable[[Path], None] | None = None,
) -> Server:
    """A private Dovecot serving ``protocol`` ("imap" or "pop3") on 127.0.0.1:<free port>,
    Maildir under workdir, passwd-file with {PLAIN} passwords. ``settings`` are extra
    dovecot.conf lines; ``fill(mail_root)`` writes mail before Dovecot starts
    (``mail_root/<user>/Maildir``), then it is given to the mail user.

    Runs as root (``dovecot -F``); mail is owned by the ``dovecot`` system user when it exists
    (Dovecot refuses mail access as uid 0). Default fsync settings (mail_fsync = optimized)."""
    exe = _ensure_dovecot(protocol)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    for sub in ("run", "state", "mail"):
        (workdir / sub).mkdir(exist_ok=True)
    try:
        import pwd

        owner = pwd.getpwnam("dovecot")
        uid, gid = owner.pw_uid, owner.pw_gid
        internal = "dovecot"
        login_user = "dovenull" if _user_exists("dovenull") else "dovecot"
    except KeyError:
        uid, gid = os.getuid(), os.getgid()
        internal = login_user = "root"
    if uid == 0:
        raise Unavailable("dovecot refuses mail access as root and no 'dovecot' user exists")
    if fill is not None:
        fill(workdir / "mail")
    subprocess.run(["chown", "-R", f"{uid}:{gid}", str(workdir / "mail")], check=True)
    os.chmod(workdir / "state", 0o755)
    passwd = workdir / "passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{p}:{uid}:{gid}::{workdir / 'mail' / u}::\n" for u, p in users.items()))
    os.chmod(passwd, 0o644)
    port = free_port()
    conf = workdir / "dovecot.conf"
    conf.write_text(f"""\
protocols = {protocol}
listen = 127.0.0.1
base_dir = {workdir / "run"}
state_dir = {workdir / "state"}
instance_name = bench-{protocol}-{port}
log_path = {workdir / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_internal_user = {internal}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
default_process_limit = 200
default_client_limit = 2000
{settings}
service {protocol}-login {{
  inet_listener {protocol} {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener {protocol}s {{
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
    log = workdir / "dovecot.log"
    proc = spawn([exe, "-F", "-c", str(conf)], workdir / "dovecot.stdout", workdir)
    server = Server("dovecot", port, dict(users), proc, workdir, log)
    try:
        wait_port(port, proc)
    except Unavailable as exc:
        server.stop()
        stdout = (workdir / "dovecot.stdout").read_text(errors="replace")[-1500:]
        raise Unavailable(f"dovecot: {exc}\n{stdout}\n{server.tail_log()}") from exc
    return server


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
