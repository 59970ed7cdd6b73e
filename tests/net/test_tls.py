"""TLS contexts: the self-signed certificate is made once and reused; configured pairs are used."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509

from postoffice.config import Config, TLSConfig
from postoffice.net.tls import client_context_insecure, ensure_self_signed, server_context


def test_self_signed_made_once_with_private_key_and_sans(tmp_path: Path) -> None:
    config = Config(hostname="mail.example.test", data_dir=tmp_path)
    ctx = server_context(config)
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    cert_path, key_path = ensure_self_signed(tmp_path, "mail.example.test")
    assert cert_path.parent == tmp_path / "tls"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"mail.example.test", "localhost"}
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]

    before = (cert_path.read_bytes(), key_path.read_bytes())
    server_context(config)  # second start
    server_context(Config(hostname="other.example.test", data_dir=tmp_path))
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == ["selfsigned.crt", "selfsigned.key"]


def test_configured_cert_and_key_are_used(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed(tmp_path / "elsewhere", "configured.example.test")
    config = Config(data_dir=tmp_path / "data", tls=TLSConfig(cert=cert_path, key=key_path))
    server_context(config)
    assert not (tmp_path / "data" / "tls").exists()


def test_insecure_client_context_trusts_anything() -> None:
    ctx = client_context_insecure()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
