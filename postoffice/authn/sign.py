"""DKIM signing (RFC 6376) with RSA-SHA256 and Ed25519-SHA256 (RFC 8463), streamed.

Owns :class:`MessageSigner` (fed a message in chunks, returns the DKIM-Signature
header fields to prepend), :func:`sign_message` (the same for bytes in memory),
:func:`signing_domain` (which local domain signs a message) and :class:`DkimSigner`,
the hook the outbound path calls.

The body is hashed by :class:`~postoffice.authn.bodyhash.BodyHasher` as it streams, so a
message of any size is signed in constant memory; only the header block is held (it is
bounded by ``[limits.message] max_header_size``). dkimpy computes the header hash and
the signature from that header block and our body hash.

Sign the bytes exactly as they will be sent, after any 8BITMIME or BINARYMIME
conversion (RFC 6376 §5.3): a conversion after signing breaks the body hash.
Canonicalization is relaxed/relaxed, the more robust to whitespace changes on the way.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import time
from collections.abc import AsyncIterable, Iterable
from pathlib import Path

import dkim
import dkim.canonicalization
import nacl.encoding
import nacl.signing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from postoffice.config import Config
from postoffice.message.address import parse_address_list
from postoffice.message.headers import header_text, split_header_block

from .bodyhash import BodyHasher
from .keys import DkimKey, DkimKeys
from .message import HeaderSplitter

__all__ = ["MessageSigner", "sign_message", "signing_domain", "DkimSigner", "CANONICALIZATION"]

CANONICALIZATION = b"relaxed/relaxed"
_READ = 256 * 1024


class MessageSigner:
    """Feed a message with :meth:`update`; :meth:`finish` returns its DKIM-Signature fields
    (one per key, each ending in CRLF), to be put before the message."""

    def __init__(self, keys: Iterable[DkimKey], *, now: float | None = None, max_header: int = 1024 * 1024) -> None:
        self.keys = tuple(keys)
        self.now = time.time() if now is None else now
        self._split = HeaderSplitter(max_header)
        self._body = BodyHasher("relaxed")

    def update(self, data: bytes) -> None:
        body = self._split.feed(data)
        if body:
            self._body.update(body)

    def finish(self) -> bytes:
        self._split.close()
        header = self._split.header or b""
        if self._split.overflow:
            raise ValueError("header block too large to sign")
        bh = base64.b64encode(self._body.digest())
        return b"".join(_signature(key, header, bh, self.now) for key in self.keys)


def _signature(key: DkimKey, header: bytes, bh: bytes, now: float) -> bytes:
    """One DKIM-Signature field. dkimpy picks the header fields to sign, canonicalizes
    and hashes them (RFC 6376 §3.7, its ``hash_headers``); the signature itself is made
    by OpenSSL (``cryptography``) or libsodium: dkimpy's own RSA is pure Python, some
    15 ms per signature, and this is on every relayed message."""
    algorithm = key.algorithm.encode()
    signer = dkim.DKIM(header if header.endswith(b"\n\r\n") or header.endswith(b"\n\n") else header + b"\r\n",
                       signature_algorithm=algorithm, linesep=b"\r\n")
    include = [h.lower() for h in signer.default_sign_headers()]
    if b"from" not in include:
        raise ValueError("a message without a From header field cannot be DKIM-signed (RFC 6376 §5.4)")
    fields = [
        (b"v", b"1"),
        (b"a", algorithm),
        (b"c", CANONICALIZATION),
        (b"d", key.domain.encode()),
        (b"s", key.selector.encode()),
        (b"t", str(int(now)).encode()),
        (b"h", b" : ".join(include)),
        (b"bh", bh),
        (b"b", b"0" * 60),  # placeholder: keeps b= on its own folded line (as dkimpy does)
    ]
    policy = dkim.canonicalization.CanonicalizationPolicy.from_c_value(CANONICALIZATION)
    # RFC 6376 §3.7: the hash covers the signed fields, then this field with b= empty.
    unsigned = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_FIELD), linesep=b"\r\n")
    unsigned = dkim.RE_BTAG.sub(b"\\1", unsigned)
    hasher = hashlib.sha256()
    dkim.hash_headers(hasher, policy, policy.canonicalize_headers(signer.headers), include, (_FIELD, b" " + unsigned), dict(fields))
    digest = hasher.digest()
    if key.key_type == "rsa":
        signature = _rsa_key(key.private).sign(digest, padding.PKCS1v15(), asym_utils.Prehashed(hashes.SHA256()))
    else:
        signature = nacl.signing.SigningKey(key.private, encoder=nacl.encoding.Base64Encoder).sign(digest).signature
    fields[-1] = (b"b", base64.b64encode(signature))
    value: bytes = dkim.fold(b"; ".join(b"=".join(f) for f in fields) + b"\r\n", namelen=len(_FIELD), linesep=b"\r\n")
    return _FIELD + b": " + value


_FIELD = b"DKIM-Signature"


@functools.lru_cache(maxsize=64)
def _rsa_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The parsed key (parsing and checking an RSA key costs more than a signature)."""
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return private


def sign_message(keys: Iterable[DkimKey], message: bytes, *, now: float | None = None) -> bytes:
    """The DKIM-Signature header fields for ``message`` (bytes in memory)."""
    signer = MessageSigner(keys, now=now)
    signer.update(message)
    return signer.finish()


def signing_domain(header: bytes, mail_from: str, local_domains: Iterable[str]) -> str | None:
    """The local domain that signs: the RFC5322.From domain when local (so that DMARC
    aligns, RFC 7489 §3.1.1), else the envelope sender's when local; None otherwise."""
    local = {d.lower() for d in local_domains}
    for name, raw in split_header_block(header):
        if name.lower() == "from":
            for address in parse_address_list(header_text(raw)):
                if address.host and address.host.lower() in local:
                    return address.host.lower()
            break
    if "@" in mail_from:
        domain = mail_from.rsplit("@", 1)[1].lower()
        if domain in local:
            return domain
    return None


class DkimSigner:
    """The signing hook of the outbound path (submission -> queue -> relay).

    Build it once (``DkimSigner.from_config(config)``); for each message about to be
    relayed, call :meth:`signature` with the message exactly as it will be sent (after
    any 8BITMIME / BINARYMIME conversion, since RFC 6376 signs the bytes on the wire),
    ``mail_from`` its envelope sender and ``local_domains`` the local domains
    (``MailService.local_domains()``); put the bytes it returns before the message (b""
    when no local domain signs). Keys are made on first need. Signing a stored message
    again on each retry is cheap (one streamed read) and keeps t= honest; or sign once
    at enqueue time and store the fields with the entry."""

    def __init__(self, keys: DkimKeys, *, max_header: int = 1024 * 1024, enabled: bool = True) -> None:
        self.keys = keys
        self.max_header = max_header
        self.enabled = enabled

    @classmethod
    def from_config(cls, config: Config) -> DkimSigner:
        """The signer for ``config``: keys in ``data_dir/dkim``, ``[authn] dkim_sign``."""
        return cls(DkimKeys(config.dkim_dir), max_header=config.limits.message.max_header_size,
                   enabled=config.authn.dkim_sign)

    async def signature(
        self,
        source: bytes | Path | AsyncIterable[bytes],
        *,
        mail_from: str,
        local_domains: Iterable[str],
        now: float | None = None,
    ) -> bytes:
        """DKIM-Signature fields (RSA-SHA256, then Ed25519-SHA256) for the message in
        ``source``, read in constant memory; key and file work run in threads. b"" when
        signing is off or no local domain is the author's (From) or the sender's.
        ValueError for a message that cannot be signed (no From field, header too big)."""
        if not self.enabled:
            return b""
        splitter = HeaderSplitter(self.max_header)
        signer: MessageSigner | None = None
        pending: list[bytes] = []
        domains = tuple(local_domains)

        async def start() -> MessageSigner | None:
            domain = signing_domain(splitter.header or b"", mail_from, domains)
            if domain is None:
                return None
            # Keys already read: one stat on the loop (a thread hop per message costs more).
            keys = self.keys.keys(domain) if self.keys.loaded(domain) else await asyncio.to_thread(self.keys.keys, domain)
            s = MessageSigner(keys, now=now, max_header=self.max_header)
            for piece in pending:
                s.update(piece)
            pending.clear()
            return s

        async for chunk in _chunks(source):
            if signer is not None:
                if len(chunk) > 64 * 1024:
                    await asyncio.to_thread(signer.update, chunk)  # hashing a big chunk: off the loop
                else:
                    signer.update(chunk)
                continue
            pending.append(chunk)
            splitter.feed(chunk)
            if splitter.header is not None:
                signer = await start()
                if signer is None:
                    return b""
        if signer is None:
            splitter.close()
            signer = await start()
            if signer is None:
                return b""
        return await asyncio.to_thread(signer.finish)


async def _chunks(source: bytes | Path | AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, Path):
        f = await asyncio.to_thread(source.open, "rb")
        try:
            while data := await asyncio.to_thread(f.read, _READ):
                yield data
        finally:
            await asyncio.to_thread(f.close)
    else:
        async for data in source:
            yield data
