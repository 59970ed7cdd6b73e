"""TLS contexts for every listener and for STARTTLS.

Owns: the server context (from ``[tls] cert/key``, or a self-signed certificate made
once in ``data_dir/tls/`` and reused on every later start) and an insecure client
context for tests.

Invariants: TLS 1.2 is the minimum (RFC 8996 deprecates 1.0/1.1; RFC 8314 §3.2 wants
current TLS); the private key file is written with mode 0600, atomically (temporary
file, fsync, rename), so a crash never leaves a half-written key and two workers
starting at once end with one consistent pair.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import weakref
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from postoffice.config import Config

__all__ = [
    "server_context",
    "reload_server_contexts",
    "client_context_insecure",
    "ensure_self_signed",
    "SELF_SIGNED_CERT",
    "SELF_SIGNED_KEY",
]

SELF_SIGNED_CERT = "selfsigned.crt"
SELF_SIGNED_KEY = "selfsigned.key"
_VALIDITY_DAYS = 3650


def _alt_names(hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for name in (hostname, "localhost", "127.0.0.1"):
        if name in seen:
            continue
        seen.add(name)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return names


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # O_CREAT's mode is filtered by the umask
    os.replace(tmp, path)


def ensure_self_signed(data_dir: Path, hostname: str) -> tuple[Path, Path]:
    """(cert, key) paths in ``data_dir/tls``, creating an EC P-256 pair on first use only.

    SAN: ``hostname``, localhost and 127.0.0.1. An existing pair is reused as it is.
    """
    tls_dir = data_dir / "tls"
    cert_path, key_path = tls_dir / SELF_SIGNED_CERT, tls_dir / SELF_SIGNED_KEY
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64] or "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=_VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(_alt_names(hostname)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Key first: a cert file never exists without its key.
    _write_atomic(key_path, key_pem, 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


# Every server context this process made, so SIGHUP can load a renewed certificate into
# them: a handshake after ``load_cert_chain`` presents the new one; connections already
# up keep theirs.
_SERVER_CONTEXTS: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()


def _cert_paths(config: Config) -> tuple[Path, Path]:
    if config.tls.cert is not None and config.tls.key is not None:
        return config.tls.cert, config.tls.key
    return ensure_self_signed(config.data_dir, config.hostname)


def server_context(config: Config) -> ssl.SSLContext:
    """The server-side context for implicit TLS and STARTTLS listeners."""
    cert_path, key_path = _cert_paths(config)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION  # CRIME
    context.load_cert_chain(str(cert_path), str(key_path))
    _SERVER_CONTEXTS.add(context)
    return context


def reload_server_contexts(config: Config) -> int:
    """Load ``config``'s certificate and key into every server context of this process
    (SIGHUP); returns how many. The pair is checked on a scratch context first, so a
    bad file changes nothing (ssl.SSLError or OSError is raised)."""
    cert_path, key_path = _cert_paths(config)
    check = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    check.load_cert_chain(str(cert_path), str(key_path))
    contexts = list(_SERVER_CONTEXTS)
    for context in contexts:
        context.load_cert_chain(str(cert_path), str(key_path))
    return len(contexts)


def client_context_insecure() -> ssl.SSLContext:
    """A client context that trusts any certificate: for tests against our self-signed one."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
