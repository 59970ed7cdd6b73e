"""DMARC (RFC 7489): the policy record, identifier alignment, and the verdict.

Owns :func:`organizational_domain` (RFC 7489 §3.2, from the Public Suffix List shipped
inside the ``publicsuffixlist`` package: never fetched at run time), :func:`parse_record`
(§6.3) and :func:`evaluate` (§6.6): the result (pass, fail, none, temperror, permerror)
and the policy to apply (none, quarantine, reject).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from .resolver import DnsTempError, TxtLookup
from .spf import SpfResult
from .verify import DkimResult

__all__ = ["DmarcRecord", "DmarcResult", "organizational_domain", "parse_record", "evaluate", "lookup_record"]


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled in the package (only_icann=False)


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label; the domain itself if it is one."""
    domain = domain.lower().rstrip(".")
    return _psl().privatesuffix(domain) or domain


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    policy: str  # p=: none, quarantine, reject
    subdomain_policy: str  # sp= (defaults to p=)
    adkim: str = "r"  # r (relaxed) or s (strict), §6.3
    aspf: str = "r"
    pct: int = 100


def parse_record(text: bytes) -> DmarcRecord | None:
    """A DMARC record (§6.3), None if ``text`` is not one or has no valid p= (§6.6.3)."""
    try:
        value = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    tags: dict[str, str] = {}
    for part in value.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            tags.setdefault(k.strip().lower(), v.strip())
    if tags.get("v") != "DMARC1" or not value.lstrip().startswith("v"):
        return None
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return None
    sp = tags.get("sp", policy).lower()
    if sp not in ("none", "quarantine", "reject"):
        sp = policy
    adkim = tags.get("adkim", "r").lower()
    aspf = tags.get("aspf", "r").lower()
    try:
        pct = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        pct = 100
    return DmarcRecord(policy, sp, adkim if adkim in ("r", "s") else "r", aspf if aspf in ("r", "s") else "r", pct)


async def lookup_record(lookup: TxtLookup, from_domain: str) -> tuple[DmarcRecord | None, str]:
    """§6.6.3: the record at _dmarc.FROM-DOMAIN, else at _dmarc.ORGANIZATIONAL-DOMAIN;
    (record, the domain it was found at). DnsTempError passes through."""
    for domain in dict.fromkeys([from_domain, organizational_domain(from_domain)]):
        records = [r for r in (parse_record(t) for t in await lookup.txt(f"_dmarc.{domain}")) if r is not None]
        if len(records) == 1:
            return records[0], domain
        if len(records) > 1:
            return None, domain  # §6.6.3: more than one record: as if none
    return None, ""


@dataclass(frozen=True, slots=True)
class DmarcResult:
    result: str  # pass, fail, none, temperror, permerror (RFC 8601 §2.7.x, RFC 7489 §11.2)
    from_domain: str  # header.from
    policy: str  # what to do: none, quarantine, reject (after pct= sampling)
    published: str = ""  # p= (or sp=) as published, for the A-R comment


def _aligned(domain: str, from_domain: str, mode: str) -> bool:
    if mode == "s":
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


async def evaluate(
    lookup: TxtLookup,
    from_domain: str | None,
    spf_result: SpfResult,
    dkim_results: list[DkimResult],
    *,
    rng: random.Random | None = None,
) -> DmarcResult:
    """The DMARC verdict for a message whose RFC5322.From domain is ``from_domain``
    (None: no single From domain, §6.6.1: permerror, the message cannot be evaluated)."""
    if not from_domain:
        return DmarcResult("permerror", "", "none")
    from_domain = from_domain.lower().rstrip(".")
    try:
        record, found_at = await lookup_record(lookup, from_domain)
    except DnsTempError:
        return DmarcResult("temperror", from_domain, "none")
    if record is None:
        return DmarcResult("none", from_domain, "none")
    # §3.1.1 / §3.1.2: a passing DKIM signature or SPF check, aligned with From.
    dkim_ok = any(r.result == "pass" and _aligned(r.domain, from_domain, record.adkim) for r in dkim_results)
    # §3.1.2: the SPF identity is MAIL FROM's domain, or HELO's for the null sender.
    spf_ok = spf_result.result == "pass" and _aligned(spf_result.domain, from_domain, record.aspf)
    published = record.policy if found_at == from_domain else record.subdomain_policy  # §6.6.3 sp=
    if dkim_ok or spf_ok:
        return DmarcResult("pass", from_domain, "none", published)
    policy = published
    if record.pct < 100 and (rng or random).randrange(100) >= record.pct:
        # §6.6.4: a message outside the sample gets the next weaker policy.
        policy = {"reject": "quarantine", "quarantine": "none"}.get(policy, "none")
    return DmarcResult("fail", from_domain, policy, published)
