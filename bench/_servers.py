"""Start and stop the IMAP servers the benchmarks measure, each on a free loopback port.

Owns: postoffice (``postoffice --config X serve`` as a subprocess), a private Dovecot
instance (Debian's dovecot-imapd, installed with apt-get when missing, run with
``dovecot -F -c conf`` from a temp dir) and pymap (``pip install pymap`` into the venv
when missing, maildir backend). Invariants: every server binds 127.0.0.1 only; every
process started here is stopped by its own ``stop()`` (by pid, never by name); a server
that cannot be started raises ``Unavailable`` with the reason, so a benchmark can skip it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from postoffice.testing.serve import free_port

__all__ = [
    "ROOT",
    "VENV_BIN",
    "Server",
    "Unavailable",
    "free_port",
    "start_dovecot",
    "start_postoffice",
    "start_pymap",
    "wait_port",
    "write_postoffice_config",
]

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
if not VENV_BIN.exists():  # running from another interpreter: use this one's bin dir
    VENV_BIN = Path(sys.executable).parent


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


def _spawn(argv: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    finally:
        out.close()


# ---- postoffice ------------------------------------------------------------------


def write_postoffice_config(workdir: Path, port: int, domain: str = "example.test") -> Path:
    """A config with only the imap listener, on 127.0.0.1:port, data in workdir/data."""
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "bench.{domain}"\ndata_dir = "{workdir / "data"}"\ndomains = ["{domain}"]\n'
        f'[listen]\nimap = "127.0.0.1:{port}"\n'
    )
    return config


def start_postoffice(workdir: Path, users: dict[str, str] | None = None, *, config: Path | None = None,
                     port: int | None = None) -> Server:  # fmt: skip
    """Run ``postoffice --config X serve``; ``users`` (address -> password) are added first with the CLI."""
    workdir.mkdir(parents=True, exist_ok=True)
    if config is None:
        port = port or free_port()
        config = write_postoffice_config(workdir, port)
    assert port is not None
    exe = str(VENV_BIN / "postoffice")
    log = workdir / "postoffice.log"
    for address, password in (users or {}).items():
        done = subprocess.run([exe, "--config", str(config), "user", "add", address, "--password-stdin"],
                              input=f"{password}\n".encode(), capture_output=True, timeout=120)  # fmt: skip
        if done.returncode != 0:
            raise Unavailable(f"postoffice user add {address}: {done.stderr.decode(errors='replace').strip()}")
    proc = _spawn([exe, "--config", str(config), "serve"], log, workdir)
    server = Server("postoffice", port, dict(users or {}), proc, workdir, log)
    try:
        wait_port(port, proc)
    except Unavailable as exc:
        server.stop()
        raise Unavailable(f"postoffice: {exc}\n{server.tail_log()}") from exc
    return server


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
    proc = _spawn([exe, "-F", "-c", str(conf)], workdir / "dovecot.stdout", workdir)
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


# ---- pymap -----------------------------------------------------------------------


def _ensure_pymap() -> Path:
    exe = VENV_BIN / "pymap"
    if exe.exists():
        return exe
    done = subprocess.run([str(VENV_BIN / "pip"), "install", "-q", "pymap"], capture_output=True, timeout=600)
    if done.returncode != 0 or not exe.exists():
        raise Unavailable(f"pip install pymap failed: {done.stderr.decode(errors='replace')[-500:]}")
    return exe


def _pymap_hash(password: str) -> str:
    """The password hash pymap's maildir backend verifies (its default hash context)."""
    code = (
        "import sys; from argparse import Namespace; from pymap.config import IMAPConfig;"
        "print(IMAPConfig._get_hash_context(None).hash(sys.argv[1]))"
    )
    done = subprocess.run([str(VENV_BIN / "python"), "-c", code, password], capture_output=True, timeout=60)
    if done.returncode != 0:
        raise Unavailable(f"pymap password hash: {done.stderr.decode(errors='replace')[-500:]}")
    return done.stdout.decode().strip()


def start_pymap(workdir: Path, users: dict[str, str]) -> Server:
    """pymap's maildir backend on 127.0.0.1:<free port>, one Maildir per user, no TLS."""
    exe = _ensure_pymap()
    base = workdir / "maildir"
    base.mkdir(parents=True, exist_ok=True)
    hashes = {p: _pymap_hash(p) for p in set(users.values())}
    # pymap-etc-passwd / pymap-etc-shadow: passwd(5) / shadow(5) lines; ':' in a hash is escaped.
    (base / "pymap-etc-passwd").write_text("".join(f"{u}::1000:1000::{u}:\n" for u in users))
    (base / "pymap-etc-shadow").write_text(
        "".join(f"{u}:{hashes[p].replace(':', chr(92) + ':')}:::::::\n" for u, p in users.items())
    )
    port = free_port()
    log = workdir / "pymap.log"
    argv = [str(exe), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "maildir", str(base)]
    proc = _spawn(argv, log, workdir)
    server = Server("pymap", port, dict(users), proc, workdir, log)
    try:
        wait_port(port, proc)
    except Unavailable as exc:
        server.stop()
        raise Unavailable(f"pymap: {exc}\n{server.tail_log()}") from exc
    return server
