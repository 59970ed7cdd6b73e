"""The DNS records a local domain needs, as zone-file lines ready to paste.

Owns :func:`domain_records`: MX (RFC 5321 §5.1), SPF (RFC 7208), the two DKIM keys
(RFC 6376 §3.6.1, RFC 8463), DMARC (RFC 7489 §6.3), MTA-STS (RFC 8461 §3.1, with the
policy file it points at, §3.2) and TLS reporting (RFC 8460 §3). TXT values longer than
255 octets are split into several strings (RFC 1035 §3.3.14, RFC 7208 §3.3).
"""

from __future__ import annotations

import time

from .keys import DkimKey

__all__ = ["domain_records", "txt_strings", "mta_sts_policy"]


def txt_strings(value: str) -> str:
    """``value`` as one or more quoted strings of at most 255 octets."""
    raw = value.encode("ascii")
    return " ".join('"' + raw[i : i + 255].decode() + '"' for i in range(0, len(raw), 255)) or '""'


def mta_sts_policy(hostname: str) -> str:
    """The policy file (RFC 8461 §3.2); mode "testing" until TLS to the MX is trusted."""
    return f"version: STSv1\nmode: testing\nmx: {hostname}\nmax_age: 604800\n"


def domain_records(domain: str, hostname: str, keys: tuple[DkimKey, ...], *, now: float | None = None) -> list[str]:
    """Zone-file lines (comments start with ';') for ``domain`` served by ``hostname``."""
    d = domain.rstrip(".") + "."
    mx = hostname.rstrip(".") + "."
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
    lines = [
        f"; DNS records for {domain}: paste into its zone (TTL 3600).",
        "; Mail for the domain is received by this server:",
        f"{d}\t3600\tIN\tMX\t10 {mx}",
        "; SPF (RFC 7208): mail from the domain leaves from its MX host only.",
        f"{d}\t3600\tIN\tTXT\t{txt_strings('v=spf1 mx -all')}",
        "; DKIM (RFC 6376, RFC 8463): the keys this server signs with now.",
    ]
    for key in keys:
        lines.append(f"{key.selector}._domainkey.{d}\t3600\tIN\tTXT\t{txt_strings(key.public_record())}")
    lines += [
        "; DMARC (RFC 7489): receivers quarantine mail that fails; start with p=none to observe first.",
        f"_dmarc.{d}\t3600\tIN\tTXT\t{txt_strings(f'v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@{domain}')}",
        "; MTA-STS (RFC 8461): senders require TLS to the MX; change id= whenever the policy changes.",
        f"_mta-sts.{d}\t3600\tIN\tTXT\t{txt_strings(f'v=STSv1; id={stamp}')}",
        f"; and serve this policy file at https://mta-sts.{domain}/.well-known/mta-sts.txt (RFC 8461 §3.2):",
        *(f";   {line}" for line in mta_sts_policy(hostname).splitlines()),
        "; TLS reporting (RFC 8460): where senders report TLS failures.",
        f"_smtp._tls.{d}\t3600\tIN\tTXT\t{txt_strings(f'v=TLSRPTv1; rua=mailto:postmaster@{domain}')}",
    ]
    return lines
