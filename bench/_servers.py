"""Start and stop the IMAP servers the benchmarks measure, each on a free loopback port.

Owns: postoffice (``postoffice --config X serve`` as a subprocess), a private Dovecot
instance (Debian's dovecot-imapd, installed with apt-get when missing, run with
``dovecot -F -c conf`` from a temp dir) and pymap (``pip install pymap`` into the venv
when missing, maildir backend). Invariants: every server binds 127.0.0.1 only; every
process started here is stopped by its own ``stop()`` (by pid, never by name); a server
that cannot be started raises ``Unavailable`` with the reason, so a benchmark can skip it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from postoffice.testing.dovecot import Server, Unavailable, start_dovecot, wait_port
from postoffice.testing.dovecot import spawn as _spawn
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
