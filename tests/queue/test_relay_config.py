"""[relay], [dns] and [limits.relay] in the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from postoffice.config import ConfigError, config_from_dict


def test_defaults() -> None:
    config = config_from_dict({})
    relay, limits = config.relay, config.limits.relay
    assert relay.enabled and relay.mx_port == 25 and relay.smarthost is None and dict(relay.routes) == {}
    assert relay.mta_sts and relay.mta_sts_port == 443 and relay.tls_ca_file == ""
    assert config.dns.nameservers == ()
    assert (limits.first_retry, limits.max_retry, limits.delay_notice, limits.lifetime) == (300, 3600, 4 * 3600, 5 * 86400)


def test_values(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("")
    config = config_from_dict(
        {
            "relay": {"routes": {"B.Test": "127.0.0.1:2626"}, "mx_port": 2525, "smarthost": "[::1]:587", "smarthost_tls": "implicit",
                      "mta_sts": False, "mta_sts_port": 8443, "tls_ca_file": str(tmp_path / "ca.pem")},
            "dns": {"nameservers": ["127.0.0.1:5353", "::1", "192.0.2.1"]},
            "limits": {"relay": {"first_retry": "1m", "lifetime": "2d", "connections_per_destination": 4}},
        }
    )
    assert dict(config.relay.routes) == {"b.test": ("127.0.0.1", 2626)}
    assert config.relay.smarthost == ("::1", 587) and config.relay.smarthost_tls == "implicit"
    assert (config.relay.mta_sts, config.relay.mta_sts_port, config.relay.tls_ca_file) == (False, 8443, str(tmp_path / "ca.pem"))
    assert config.dns.nameservers == (("127.0.0.1", 5353), ("::1", 53), ("192.0.2.1", 53))
    assert config.limits.relay.first_retry == 60 and config.limits.relay.lifetime == 2 * 86400


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"relay": {"routes": {"b.test": "nowhere"}}}, "relay.routes.b.test"),
        ({"relay": {"mx_port": 0}}, "relay.mx_port"),
        ({"relay": {"mta_sts_port": 70000}}, "relay.mta_sts_port"),
        ({"relay": {"mta_sts": 1}}, "relay.mta_sts"),
        ({"relay": {"tls_ca_file": "/nonexistent/ca.pem"}}, "relay.tls_ca_file"),
        ({"relay": {"smarthost_tls": "maybe"}}, "relay.smarthost_tls"),
        ({"relay": {"frobnicate": 1}}, "relay.frobnicate"),
        ({"relay": {"enabled": "yes"}}, "relay.enabled"),
        ({"dns": {"nameservers": ["dns.example:53"]}}, "dns.nameservers"),
        ({"dns": {"nameservers": "127.0.0.1"}}, "dns.nameservers"),
        ({"limits": {"relay": {"first_retry": "soon"}}}, "limits.relay.first_retry"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, source="po.toml")
    assert f"'{key}'" in str(info.value) and str(info.value).startswith("po.toml: ")
