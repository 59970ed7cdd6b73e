"""Where a message for a domain goes (RFC 5321 §5.1): static routes, a smarthost, or MX.

Owns :class:`Router`, :class:`Route`, :class:`Hop` and :class:`RouteError`.

Order of precedence: a ``[relay.routes]`` entry for the domain, then the
``[relay] smarthost``, then DNS: the MX records in preference order, records of equal
preference shuffled (RFC 5321 §5.1); no MX record: the domain's own A/AAAA records as
an implicit MX of preference 0; a null MX (a single MX ".", RFC 7505 §3) bounces at
once with 556 5.1.10; a domain that does not exist bounces with 550 5.1.2; a DNS
failure is temporary (451 4.4.3). IPv4 and IPv6 addresses are both used.

MTA-STS (RFC 8461, ``mtasts.py``, ``[relay] mta_sts``): for a domain routed by MX whose
policy is in ``enforce`` mode, only the MX hosts the policy lists are tried, each with
verified TLS for its MX name; if it lists none of them the recipients wait (451 4.7.5),
since the policy may change (§5.1: never a permanent failure on a policy alone).
"""

from __future__ import annotations

import logging
import random
import ssl
from dataclasses import dataclass
from pathlib import Path

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from postoffice.clock import Clock, SystemClock
from postoffice.config import DNSConfig, RelayConfig
from postoffice.smtpclient import ServerReply, TLSMode, synthetic

from .mtasts import MtaSts

__all__ = ["Hop", "Route", "RouteError", "Router", "verify_context"]

log = logging.getLogger("postoffice.queue")


def verify_context(ca_file: str) -> ssl.SSLContext:
    """A client context that verifies peers against ``ca_file`` ("" : the system's CAs)."""
    return ssl.create_default_context(cafile=ca_file or None)


@dataclass(frozen=True, slots=True)
class Hop:
    host: str  # what to connect to (an IP address, or a name for static routes)
    port: int
    server_name: str  # for TLS SNI and verification, and the DSN's Remote-MTA
    tls: TLSMode
    auth: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Route:
    key: str  # destinations with the same key share connections and their limit
    hops: tuple[Hop, ...]  # tried in order until one answers


class RouteError(Exception):
    def __init__(self, reply: ServerReply) -> None:
        super().__init__(str(reply))
        self.reply = reply


class Router:
    def __init__(
        self,
        relay: RelayConfig,
        dns_config: DNSConfig,
        *,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        mta_sts_cache: Path | None = None,
    ) -> None:
        self.relay = relay
        self.dns_config = dns_config
        self.rng = rng or random.Random()
        self.clock: Clock = clock or SystemClock()
        self.mta_sts_cache = mta_sts_cache  # where MTA-STS policies are kept across restarts
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._mta_sts: MtaSts | None = None

    @property
    def mta_sts(self) -> MtaSts | None:
        """The MTA-STS policies (None when ``[relay] mta_sts`` is off)."""
        if self._mta_sts is None and self.relay.mta_sts:
            context = verify_context(self.relay.tls_ca_file)
            self._mta_sts = MtaSts(
                self.resolver, self.clock, port=self.relay.mta_sts_port, context=context, cache_file=self.mta_sts_cache
            )
        return self._mta_sts

    @property
    def resolver(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            configured = bool(self.dns_config.nameservers)
            resolver = dns.asyncresolver.Resolver(configure=not configured)
            if configured:
                resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in self.dns_config.nameservers]
            resolver.lifetime = self.dns_config.timeout
            resolver.cache = dns.resolver.Cache()  # answers kept for their TTL (RFC 1035 §3.2.1): MX, A, MTA-STS TXT
            self._resolver = resolver
        return self._resolver

    def _tls(self) -> TLSMode:
        return "verify" if self.relay.require_tls else "opportunistic"

    async def route(self, domain: str) -> Route:
        domain = domain.lower().rstrip(".")
        static = self.relay.routes.get(domain)
        if static is not None:
            host, port = static
            return Route(f"{host}:{port}", (Hop(host, port, host, self._tls()),))
        if self.relay.smarthost is not None:
            host, port = self.relay.smarthost
            mode: TLSMode = {"starttls": "verify", "implicit": "implicit", "none": "none"}[self.relay.smarthost_tls]  # type: ignore[assignment]
            auth = (self.relay.smarthost_user, self.relay.smarthost_password) if self.relay.smarthost_user else None
            return Route(f"smarthost {host}:{port}", (Hop(host, port, host, mode, auth),))
        return Route(f"mx {domain}", tuple(await self._mx_hops(domain)))

    async def mx_hosts(self, domain: str) -> list[str]:
        """The host names to try, in RFC 5321 §5.1 order (the domain itself without MX)."""
        try:
            answer = await self.resolver.resolve(domain, "MX")
        except dns.resolver.NXDOMAIN:
            raise RouteError(synthetic(550, "5.1.2", f"domain {domain} does not exist")) from None
        except dns.resolver.NoAnswer:
            return [domain]  # RFC 5321 §5.1: the implicit MX
        except dns.exception.DNSException as exc:
            raise RouteError(synthetic(451, "4.4.3", f"DNS lookup of {domain} MX failed: {exc}")) from None
        records = [(int(r.preference), r.exchange.to_text(omit_final_dot=True)) for r in answer]
        # RFC 7505 §3: a single MX of preference 0 with the root as exchange: no mail here.
        if any(name in ("", ".") for _, name in records):
            raise RouteError(synthetic(556, "5.1.10", f"{domain} accepts no mail (null MX, RFC 7505)"))
        by_preference: dict[int, list[str]] = {}
        for preference, name in records:
            by_preference.setdefault(preference, []).append(name)
        hosts: list[str] = []
        for preference in sorted(by_preference):
            group = by_preference[preference]
            self.rng.shuffle(group)  # RFC 5321 §5.1: spread load over equal preferences
            hosts += group
        return hosts

    async def addresses(self, host: str) -> list[str]:
        """IPv6 and IPv4 addresses of ``host`` (an address literal is itself)."""
        found: list[str] = []
        for rdtype in ("AAAA", "A"):
            try:
                answer = await self.resolver.resolve(host, rdtype)
            except dns.exception.DNSException:
                continue
            found += [r.to_text() for r in answer]
        return found

    async def _mx_hops(self, domain: str) -> list[Hop]:
        hosts = await self.mx_hosts(domain)
        tls = self._tls()
        policy = await self.mta_sts.policy(domain) if self.mta_sts is not None else None
        if policy is not None and policy.mode != "none":
            listed = [h for h in hosts if policy.matches(h)]
            if policy.mode == "enforce":
                # RFC 8461 §4, §5: only listed MX hosts, with TLS verified for the MX name.
                if not listed:
                    raise RouteError(synthetic(451, "4.7.5", f"the MTA-STS policy of {domain} lists none of its MX hosts ({', '.join(hosts)})"))
                hosts, tls = listed, "verify"
            elif len(listed) < len(hosts):
                log.warning("MTA-STS %s (testing): MX hosts not in the policy: %s", domain, ", ".join(h for h in hosts if h not in listed))
        hops: list[Hop] = []
        for host in hosts:
            for address in await self.addresses(host):
                hops.append(Hop(address, self.relay.mx_port, host, tls))
        if not hops:
            raise RouteError(synthetic(451, "4.4.4", f"no address found for the mail hosts of {domain}"))
        return hops
