"""MTA-STS (RFC 8461): the TLS policy a destination domain publishes for the mail sent to it.

Owns :class:`MtaSts` (discovery, fetch and cache), :class:`Policy`,
:func:`parse_policy` and :class:`PolicyError`.

How a policy is found (RFC 8461 §3, §5.1), each time mail is routed to a domain:

- the TXT record at ``_mta-sts.<domain>`` (exactly one record starting ``v=STSv1``)
  names the policy's ``id``; none (or a DNS failure) means "use the cached policy if it
  has not expired, else there is none";
- a cached policy is used while ``fetched + max_age`` has not passed and its id is the
  one in DNS; otherwise the policy is fetched from
  ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` — verified TLS for that name
  (§3.3), no redirect followed, status 200 only, ``text/plain``, at most 64 KiB, a
  minute at most — and cached for its ``max_age``;
- a fetch that fails leaves the cached policy in force while it is valid; without one
  the domain is treated as having no policy (§3.3).

The cache is kept in memory and, when given a file (``data_dir/mta-sts.json``), written
there after each fetch (atomically) and read at start: a policy outlives a restart, so
an attacker who blocks the fetch afterwards cannot turn it off (§10.2). Applying a policy is :class:`~.routing.Router`'s
part: in ``enforce`` mode only MX hosts that match the policy are tried, each with
verified TLS for its MX name (§4, §5); ``testing`` and ``none`` change nothing (no
TLS-RPT reports are sent, RFC 8460).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dns.asyncresolver
import dns.exception
import dns.resolver

from postoffice.clock import Clock

__all__ = ["MtaSts", "Policy", "PolicyError", "parse_policy"]

log = logging.getLogger("postoffice.queue")

Mode = Literal["enforce", "testing", "none"]
_MAX_POLICY = 64 * 1024  # RFC 8461 §3.3: senders may cap the body (64 KiB suggested)
_MAX_HEAD = 16 * 1024
_MAX_AGE = 31_557_600  # RFC 8461 §3.2: at most a year
_FETCH_TIMEOUT = 60.0  # RFC 8461 §3.3: a minute suggested


class PolicyError(Exception):
    """A policy that could not be fetched or parsed."""


@dataclass(frozen=True, slots=True)
class Policy:
    domain: str
    id: str  # the TXT record's id when it was fetched
    mode: Mode
    mx: tuple[str, ...]  # patterns: a host name, or "*." and a domain (one label)
    max_age: int
    fetched: float

    def expired(self, now: float) -> bool:
        return now >= self.fetched + self.max_age

    def matches(self, host: str) -> bool:
        """RFC 8461 §4.1: ``host`` (an MX name) is one the policy lists; a wildcard
        ``*.example.com`` stands for exactly one label."""
        host = host.lower().rstrip(".")
        for pattern in self.mx:
            if pattern.startswith("*."):
                label, _, rest = host.partition(".")
                if label and rest == pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False


def parse_policy(text: str) -> tuple[Mode, tuple[str, ...], int]:
    """(mode, mx patterns, max_age) of a policy body (RFC 8461 §3.2); PolicyError if it
    lacks ``version: STSv1``, a known mode, a max_age or (unless mode none) an mx."""
    version = mode = max_age = None
    mx: list[str] = []
    for line in re.split(r"\r?\n", text):
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "version":
            version = value
        elif key == "mode":
            mode = value
        elif key == "max_age":
            max_age = value
        elif key == "mx":
            mx.append(value.lower().rstrip("."))
        # other keys: ignored (§3.2: future extensions)
    if version != "STSv1":
        raise PolicyError(f"version {version!r}, not STSv1")
    if mode not in ("enforce", "testing", "none"):
        raise PolicyError(f"unknown mode {mode!r}")
    if max_age is None or not max_age.isdigit() or len(max_age) > 10:
        raise PolicyError(f"bad max_age {max_age!r}")
    if mode != "none" and not mx:
        raise PolicyError("no mx pattern")
    return mode, tuple(mx), min(int(max_age), _MAX_AGE)  # type: ignore[return-value]


class MtaSts:
    """Policies of destination domains, discovered through ``resolver`` and fetched over
    HTTPS on ``port`` (443; tests use another), trusting ``context``'s CAs."""

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        clock: Clock,
        *,
        port: int = 443,
        context: ssl.SSLContext | None = None,
        cache_file: Path | None = None,
    ) -> None:
        self.resolver = resolver
        self.clock = clock
        self.port = port
        self.context = context or ssl.create_default_context()
        self.cache_file = cache_file
        self._cache: dict[str, Policy] = _load(cache_file) if cache_file is not None else {}

    async def policy(self, domain: str) -> Policy | None:
        """The policy in force for ``domain`` now, or None."""
        domain = domain.lower().rstrip(".")
        now = self.clock.now()
        cached = self._cache.get(domain)
        if cached is not None and cached.expired(now):
            del self._cache[domain]
            cached = None
        try:
            policy_id = await self._policy_id(domain)
        except dns.exception.DNSException as exc:
            log.info("MTA-STS %s: TXT lookup failed (%s)", domain, exc)
            return cached
        if policy_id is None or (cached is not None and cached.id == policy_id):
            return cached  # §5.1: no record (or the same id): the cached policy, if any, stays
        try:
            mode, mx, max_age = parse_policy(await self._fetch(domain))
        except (PolicyError, OSError, ssl.SSLError, TimeoutError, UnicodeDecodeError) as exc:
            log.warning("MTA-STS %s: policy not fetched (%s)%s", domain, exc, "; the cached one stays" if cached else "")
            return cached
        fresh = Policy(domain, policy_id, mode, mx, max_age, now)
        self._cache[domain] = fresh
        if self.cache_file is not None:
            try:
                await asyncio.to_thread(_save, self.cache_file, dict(self._cache))
            except OSError as exc:
                log.warning("MTA-STS: cache %s not written (%s)", self.cache_file, exc)
        log.info("MTA-STS %s: policy %s, mode %s, mx %s, max_age %d", domain, policy_id, mode, ",".join(mx), max_age)
        return fresh

    async def _policy_id(self, domain: str) -> str | None:
        """The id of the one ``v=STSv1`` TXT record at ``_mta-sts.<domain>`` (§3.1)."""
        try:
            answer = await self.resolver.resolve(f"_mta-sts.{domain}", "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        records = [b"".join(r.strings).decode("ascii", "replace") for r in answer]
        records = [r for r in records if r.startswith("v=STSv1")]
        if len(records) != 1:
            return None  # §3.1: several records: as if there were none
        fields = dict(f.strip().partition("=")[::2] for f in records[0].split(";") if "=" in f)
        value = fields.get("id", "")
        return value if re.fullmatch(r"[A-Za-z0-9]{1,32}", value) else None

    async def _fetch(self, domain: str) -> str:
        host = f"mta-sts.{domain}"
        addresses: list[str] = []
        for rdtype in ("AAAA", "A"):
            try:
                addresses += [r.to_text() for r in await self.resolver.resolve(host, rdtype, search=False)]
            except dns.exception.DNSException:
                continue
        if not addresses:
            raise PolicyError(f"{host} has no address")
        last: Exception | None = None
        for address in addresses:
            try:
                async with asyncio.timeout(_FETCH_TIMEOUT):
                    return await self._get(address, host)
            except (OSError, ssl.SSLError, TimeoutError) as exc:
                last = exc
        raise PolicyError(f"{host}: {last}")

    async def _get(self, address: str, host: str) -> str:
        """GET /.well-known/mta-sts.txt over verified TLS for ``host`` (HTTP/1.1)."""
        reader, writer = await asyncio.open_connection(address, self.port, ssl=self.context, server_hostname=host)
        try:
            request = f"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: postoffice\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("ascii"))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEAD:
                raise PolicyError("response header too large")
            lines = head.decode("latin-1").split("\r\n")
            status = lines[0].split(" ", 2)
            if len(status) < 2 or not status[0].startswith("HTTP/1.") or status[1] != "200":
                raise PolicyError(f"answer {lines[0]!r}, not 200 (§3.3: redirects are not followed)")
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if headers.get("content-type", "").split(";")[0].strip().lower() != "text/plain":
                raise PolicyError(f"media type {headers.get('content-type')!r}, not text/plain")
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            elif "content-length" in headers:
                length = int(headers["content-length"]) if headers["content-length"].isdigit() else -1
                if not 0 <= length <= _MAX_POLICY:
                    raise PolicyError(f"bad or too large Content-Length {headers['content-length']!r}")
                body = await reader.readexactly(length)
            else:
                body = await reader.read(_MAX_POLICY + 1)
                while len(body) <= _MAX_POLICY and (more := await reader.read(_MAX_POLICY + 1 - len(body))):
                    body += more
            if len(body) > _MAX_POLICY:
                raise PolicyError("policy larger than 64 KiB")
            return body.decode("utf-8")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise PolicyError(f"truncated answer ({exc})") from None
        finally:
            writer.close()


def _load(path: Path) -> dict[str, Policy]:
    """The cached policies in ``path`` ({} when there is none or it cannot be read)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {p["domain"]: Policy(p["domain"], p["id"], p["mode"], tuple(p["mx"]), int(p["max_age"]), float(p["fetched"])) for p in raw}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("MTA-STS: cache %s unreadable (%s); policies are fetched again", path, exc)
        return {}


def _save(path: Path, policies: dict[str, Policy]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([dataclasses.asdict(p) for p in policies.values()]), encoding="utf-8")
    os.replace(tmp, path)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """An HTTP/1.1 chunked body (RFC 9112 §7.1), at most 64 KiB."""
    body = b""
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise PolicyError(f"bad chunk size {size_line!r}") from None
        if size == 0:
            return body
        if len(body) + size > _MAX_POLICY:
            raise PolicyError("policy larger than 64 KiB")
        body += await reader.readexactly(size)
        await reader.readexactly(2)
