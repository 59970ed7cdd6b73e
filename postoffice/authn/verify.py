"""DKIM verification (RFC 6376 §6), streamed: body hashes as the body arrives.

Owns :class:`DkimVerifier`: built from a message's header block, it finds up to
``MAX_SIGNATURES`` DKIM-Signature fields, hashes the body once per distinct
(canonicalization, l=) as it streams, then fetches each key over async DNS and lets
dkimpy check the header hash and the signature. Results per signature follow RFC 8601
§2.7.1: pass, fail, neutral (no usable signature), policy, temperror, permerror.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass

import dkim
import dkim.util

from .bodyhash import BodyHasher
from .resolver import DnsTempError, TxtLookup

__all__ = ["DkimResult", "DkimVerifier", "MAX_SIGNATURES"]

MAX_SIGNATURES = 5  # RFC 6376 §6.1: a verifier may limit the signatures it checks
_quiet = logging.getLogger("postoffice.authn.dkimpy")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass(frozen=True, slots=True)
class DkimResult:
    result: str  # pass, fail, neutral, policy, temperror, permerror
    domain: str  # d=
    selector: str  # s=
    algorithm: str  # a=
    header_b: str  # the first octets of b=, to tell signatures apart (RFC 6008)
    reason: str = ""


@dataclass
class _Sig:
    index: int
    fields: dict[bytes, bytes]
    hasher: BodyHasher | None


class DkimVerifier:
    """Verify the DKIM signatures of one message: construct, :meth:`update` with the
    body, then ``await`` :meth:`finish`."""

    def __init__(self, header: bytes, *, now: float | None = None) -> None:
        self.header = header if header.endswith(b"\n\r\n") or header.endswith(b"\n\n") else header + b"\r\n"
        self.sigs: list[_Sig] = []
        self.early: list[DkimResult] = []
        self._hashers: dict[tuple[str, int | None], BodyHasher] = {}
        try:
            self._dkim = dkim.DKIM(self.header, logger=_quiet, minkey=1024)
        except dkim.DKIMException as exc:  # a header block dkimpy cannot read
            if b"dkim-signature" in self.header.lower():
                self.early.append(DkimResult("permerror", "", "", "", "", f"unreadable header: {exc}"))
            return
        raw = [v for n, v in self._dkim.headers if n.lower() == b"dkim-signature"]
        for index, value in enumerate(raw[:MAX_SIGNATURES]):
            try:
                fields = dkim.util.parse_tag_value(value)
            except dkim.util.InvalidTagValueList:
                self.early.append(DkimResult("permerror", "", "", "", "", "malformed signature"))
                continue
            canon = fields.get(b"c", b"simple/simple").decode("ascii", "replace")
            body_canon = canon.split("/", 1)[1] if "/" in canon else "simple"
            length = fields.get(b"l")
            key = (body_canon, int(length) if length and length.isdigit() else None)
            hasher: BodyHasher | None = None
            if body_canon in ("simple", "relaxed"):
                hasher = self._hashers.get(key)
                if hasher is None:
                    hasher = self._hashers[key] = BodyHasher(body_canon, length=key[1])
            self.sigs.append(_Sig(index, fields, hasher))

    def update(self, body: bytes) -> None:
        for hasher in self._hashers.values():
            hasher.update(body)

    def _describe(self, sig: _Sig) -> tuple[str, str, str, str]:
        f = sig.fields
        b = re.sub(rb"\s+", b"", f.get(b"b", b""))
        return (
            f.get(b"d", b"").decode("ascii", "replace").lower(),
            f.get(b"s", b"").decode("ascii", "replace"),
            f.get(b"a", b"").decode("ascii", "replace"),
            b[:8].decode("ascii", "replace"),
        )

    async def finish(self, lookup: TxtLookup) -> list[DkimResult]:
        digests = {id(h): h.digest() for h in self._hashers.values()}
        results = list(self.early)
        for sig in self.sigs:
            results.append(await self._verify(sig, digests, lookup))
        return results

    async def _verify(self, sig: _Sig, digests: dict[int, bytes], lookup: TxtLookup) -> DkimResult:
        domain, selector, algorithm, header_b = self._describe(sig)

        def result(outcome: str, reason: str = "") -> DkimResult:
            return DkimResult(outcome, domain, selector, algorithm, header_b, reason)

        try:
            prep = self._dkim.verify_headerprep(sig.index)
        except dkim.DKIMException as exc:
            return result("permerror", str(exc))
        if not prep:
            return result("permerror", "unreadable signature")
        fields, include_headers, sigheaders = prep
        if sig.hasher is None:
            return result("permerror", "unknown canonicalization")
        try:
            expected = base64.b64decode(re.sub(rb"\s+", b"", fields[b"bh"]))
        except (ValueError, TypeError):
            return result("permerror", "bad bh=")
        if digests[id(sig.hasher)] != expected:
            return result("fail", "body hash mismatch")  # RFC 6376 §6.1.3
        name = f"{selector}._domainkey.{domain}"
        try:
            records = await lookup.txt(name)
        except DnsTempError as exc:
            return result("temperror", f"key lookup: {exc}")
        if not records:
            return result("permerror", f"no key at {name}")  # RFC 6376 §6.1.2
        record = records[0]

        def dnsfunc(qname: bytes, timeout: int = 5) -> bytes:
            return record

        checked = dict(fields)
        del checked[b"bh"]  # the body hash was checked above, from the streamed body
        try:
            ok = self._dkim.verify_sig(checked, include_headers, sigheaders[sig.index], dnsfunc)
        except dkim.DKIMException as exc:
            return result("permerror", str(exc))
        except Exception as exc:  # dkimpy raises plain errors on some malformed keys
            return result("permerror", f"{type(exc).__name__}: {exc}")
        return result("pass") if ok else result("fail", "signature did not verify")
