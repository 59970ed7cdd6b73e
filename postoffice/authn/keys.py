"""DKIM keys per local domain: made on first need, rotated on request (RFC 6376 §3.6).

Layout under ``data_dir/dkim/DOMAIN/`` (directory 0700, files 0600):

- ``SELECTOR.rsa.pem``: an RSA-2048 private key, PKCS#1 PEM (what dkimpy reads);
- ``SELECTOR.ed25519``: an Ed25519 private key, the base64 32-octet seed (RFC 8463 §3);
- ``current``: two lines, ``rsa SELECTOR`` and ``ed25519 SELECTOR``: the selectors
  signing now. Two keys, two selectors: one selector names one key record.

Invariants: keys are written to a temporary file, synced and renamed before ``current``
names them; the first ``current`` is created with ``link`` so that two processes racing
on first need agree on one pair (the loser's keys are left unused); ``rotate`` replaces
``current`` atomically and keeps the old keys, whose DNS records must stay published
until mail signed with them has been delivered. ``current`` is re-read when it
changes (inode or mtime), so ``postoffice dkim rotate`` takes effect in a running server.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = ["DkimKey", "DkimKeys", "dns_record"]

_SELECTOR = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private: bytes  # what dkimpy's sign() takes: PEM (RSA) or base64 seed (Ed25519)

    @property
    def key_type(self) -> str:
        return "rsa" if self.algorithm == "rsa-sha256" else "ed25519"

    def public_record(self) -> str:
        """The TXT record value at SELECTOR._domainkey.DOMAIN (RFC 6376 §3.6.1)."""
        return dns_record(self)


def dns_record(key: DkimKey) -> str:
    if key.key_type == "rsa":
        private = serialization.load_pem_private_key(key.private, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    seed = base64.b64decode(key.private)
    raw = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    # RFC 8463 §4.2: p= is the base64 of the raw 32-octet public key.
    return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DkimKeys:
    """The DKIM keys of every local domain, in ``directory`` (``Config.dkim_dir``)."""

    def __init__(self, directory: Path, *, now: float | None = None) -> None:
        self.directory = directory
        self._now = now
        self._cache: dict[str, tuple[tuple[int, int], tuple[DkimKey, ...]]] = {}

    def _domain_dir(self, domain: str) -> Path:
        domain = domain.lower().rstrip(".")
        if not re.fullmatch(r"[a-z0-9.-]+", domain) or domain.startswith(".") or ".." in domain:
            raise ValueError(f"not a domain name: {domain!r}")
        return self.directory / domain

    def _new_base(self) -> str:
        stamp = time.strftime("%Y%m%d", time.gmtime(self._now if self._now is not None else time.time()))
        return f"po{stamp}{secrets.token_hex(2)}"

    def _make_pair(self, folder: Path) -> str:
        """Two new keys in ``folder``; returns the text of a ``current`` naming them."""
        base = self._new_base()
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        _write_private(folder / f"{base}r.rsa.pem", pem)
        _write_private(folder / f"{base}e.ed25519", base64.b64encode(seed))
        _fsync_dir(folder)
        return f"rsa {base}r\ned25519 {base}e\n"

    def loaded(self, domain: str) -> bool:
        """``domain``'s keys were read before: :meth:`keys` costs one stat, no thread needed."""
        return domain in self._cache

    def keys(self, domain: str) -> tuple[DkimKey, ...]:
        """The signing keys of ``domain`` (RSA first, then Ed25519), made on first need."""
        folder = self._domain_dir(domain)
        current = folder / "current"
        try:
            st = current.stat()
        except FileNotFoundError:
            self._create(folder)
            st = current.stat()
        version = (st.st_ino, st.st_mtime_ns)  # rotate replaces the file: a new inode
        cached = self._cache.get(domain)
        if cached is not None and cached[0] == version:
            return cached[1]
        keys = self._load(domain, folder)
        self._cache[domain] = (version, keys)
        return keys

    def _create(self, folder: Path) -> None:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        text = self._make_pair(folder)
        tmp = folder / f".current.{secrets.token_hex(4)}.tmp"
        _write_private(tmp, text.encode())
        try:
            os.link(tmp, folder / "current")  # atomic, and fails if another process won
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(folder)

    def _load(self, domain: str, folder: Path) -> tuple[DkimKey, ...]:
        selectors: dict[str, str] = {}
        for line in (folder / "current").read_text("ascii").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in ("rsa", "ed25519") and _SELECTOR.fullmatch(parts[1]):
                selectors[parts[0]] = parts[1]
        keys: list[DkimKey] = []
        if "rsa" in selectors:
            s = selectors["rsa"]
            keys.append(DkimKey(domain, s, "rsa-sha256", (folder / f"{s}.rsa.pem").read_bytes()))
        if "ed25519" in selectors:
            s = selectors["ed25519"]
            keys.append(DkimKey(domain, s, "ed25519-sha256", (folder / f"{s}.ed25519").read_bytes().strip()))
        if not keys:
            raise ValueError(f"{folder / 'current'}: names no key")
        return tuple(keys)

    def rotate(self, domain: str) -> tuple[DkimKey, ...]:
        """Switch ``domain`` to a new pair of keys under new selectors; the old keys stay."""
        folder = self._domain_dir(domain)
        if not (folder / "current").exists():
            self._create(folder)
            return self.keys(domain)
        text = self._make_pair(folder)
        _write_private(folder / "current", text.encode())
        _fsync_dir(folder)
        self._cache.pop(domain, None)
        return self.keys(domain)
