"""Independent DKIM verifiers for tests: OpenDKIM and Perl's Mail::DKIM, as Debian ships them.

Owns :func:`opendkim_results` (OpenDKIM's test mode, ``opendkim -t``, Debian package
opendkim; the public keys given in a ``TestPublicKeys`` file) and
:func:`mail_dkim_results` (Mail::DKIM::Verifier, Debian libmail-dkim-perl, with
Net::DNS from libnet-dns-perl asking a DNS server on loopback for the keys). Both are in
the Makefile's TEST_DEBS. Each returns one ``(result, algorithm, domain)`` per
signature, in the message's order. Neither shares code with postoffice's verifier
(``authn/verify.py``) or with dkimpy, so a signature both accept is not an artefact of
our own reading of RFC 6376.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["OPENDKIM", "opendkim_results", "mail_dkim_results"]

OPENDKIM = "/usr/sbin/opendkim"
_AUTHSERV = "independent.test"

_MAIL_DKIM = r"""
use strict;
use Mail::DKIM::Verifier;
use Net::DNS::Resolver;
my ($port) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port, recurse => 1));
my $v = Mail::DKIM::Verifier->new();
binmode STDIN;
while (<STDIN>) { s/\015?\012$/\015\012/; $v->PRINT($_); }
$v->CLOSE;
foreach my $sig ($v->signatures) { print $sig->result, " ", $sig->algorithm, " ", $sig->domain, "\n"; }
"""


def opendkim_results(message: bytes, public_keys: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """OpenDKIM's verdict on each signature of ``message``; ``public_keys`` maps a key
    name (``selector._domainkey.domain``) to its TXT record value."""
    with tempfile.TemporaryDirectory(prefix="opendkim-") as tmp:
        work = Path(tmp)
        (work / "keys").write_text("".join(f"{name} {record}\n" for name, record in public_keys.items()))
        (work / "opendkim.conf").write_text(
            f"Mode v\nSyslog no\nTestPublicKeys {work / 'keys'}\nAlwaysAddARHeader yes\nAuthservID {_AUTHSERV}\n"
        )
        (work / "message.eml").write_bytes(message)
        run = subprocess.run(
            [OPENDKIM, "-x", str(work / "opendkim.conf"), "-vv", "-t", str(work / "message.eml")],
            capture_output=True,
            timeout=60,
            check=False,
        )
    if run.returncode != 0:
        raise RuntimeError(f"opendkim -t failed: {run.stderr.decode(errors='replace')}")
    # Only the Authentication-Results field OpenDKIM inserts (others in the message may name dkim too).
    out = run.stdout.decode(errors="replace")
    start = out.find(f"hvalue='{_AUTHSERV};")
    if start < 0:
        return []
    field = out[start : out.find("'", start + 8)]
    return [(m[0], m[2], m[1]) for m in re.findall(r"dkim=(\w+).*?header\.d=(\S+) .*?header\.a=([\w-]+)", field)]


def mail_dkim_results(message: bytes, dns_port: int) -> list[tuple[str, str, str]]:
    """Mail::DKIM's verdict on each signature of ``message``, keys read from the DNS
    server on 127.0.0.1:``dns_port``. (Debian 12's Mail::DKIM 1.20230212 does not know
    ed25519-sha256: it reports such a signature "invalid".)"""
    run = subprocess.run(
        ["perl", "-e", _MAIL_DKIM, str(dns_port)], input=message, capture_output=True, timeout=60, check=False
    )
    if run.returncode != 0:
        raise RuntimeError(f"Mail::DKIM failed: {run.stderr.decode(errors='replace')}")
    results = []
    for line in run.stdout.decode().splitlines():
        result, algorithm, domain = line.split(" ", 2)
        results.append((result, algorithm, domain))
    return results
