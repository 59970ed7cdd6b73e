"""``postoffice dns DOMAIN`` prints the records a domain needs, as zone-file lines that a
DNS server loads as they are; ``postoffice dkim rotate DOMAIN`` switches to new selectors,
which a running signer picks up."""

from __future__ import annotations

from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest

from postoffice.authn import DkimKeys
from postoffice.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "postoffice.toml"
    path.write_text(f'hostname = "mail.a.test"\ndata_dir = "{tmp_path / "data"}"\ndomains = ["a.test"]\n[listen]\n')
    return path


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(config), *args])
    return code, capsys.readouterr().out


def zone(text: str) -> dns.zone.Zone:
    return dns.zone.from_text("$ORIGIN a.test.\n@ 3600 IN SOA ns. h. 1 2 3 4 5\n@ 3600 IN NS ns.\n" + text,
                              origin="a.test.", relativize=False)


def txt(z: dns.zone.Zone, name: str) -> str:
    [rdata] = z.find_rdataset(name, dns.rdatatype.TXT)
    return b"".join(rdata.strings).decode()  # type: ignore[attr-defined]


def test_dns_prints_every_record(config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(config, capsys, "dns", "a.test")
    assert code == 0
    z = zone(out)
    [mx] = z.find_rdataset("a.test.", dns.rdatatype.MX)
    assert mx.exchange.to_text() == "mail.a.test."  # type: ignore[attr-defined]
    assert txt(z, "a.test.").startswith("v=spf1 ")
    keys = DkimKeys(tmp_path / "data" / "dkim").keys("a.test")  # made by the command, on first need
    for key in keys:
        assert txt(z, f"{key.selector}._domainkey.a.test.") == key.public_record()
    assert txt(z, "_dmarc.a.test.").startswith("v=DMARC1; p=")
    assert txt(z, "_mta-sts.a.test.").startswith("v=STSv1; id=")
    assert "mta-sts.a.test/.well-known/mta-sts.txt" in out
    assert txt(z, "_smtp._tls.a.test.").startswith("v=TLSRPTv1;")


def test_rotate_switches_selectors(config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    running = DkimKeys(tmp_path / "data" / "dkim")  # as a serving process holds it
    before = running.keys("a.test")
    code, out = run(config, capsys, "dkim", "rotate", "a.test")
    assert code == 0
    after = running.keys("a.test")  # re-read: current changed on disk
    assert {k.selector for k in after}.isdisjoint({k.selector for k in before})
    z = zone(out)
    for key in after:
        assert txt(z, f"{key.selector}._domainkey.a.test.") == key.public_record()
    code, out = run(config, capsys, "dns", "a.test")
    assert all(f"{k.selector}._domainkey" in out for k in after)


def test_non_local_domain_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "dns", "elsewhere.test"]) == 1
    assert main(["--config", str(config), "dkim", "rotate", "elsewhere.test"]) == 1
    assert "not a local domain" in capsys.readouterr().err
