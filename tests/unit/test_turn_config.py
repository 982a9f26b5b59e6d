"""The generated coturn config: hardened, and its peer ranges deny what they should."""

from __future__ import annotations

import ipaddress

from turn.config import TurnSettings
from turn.coturn import turnserver_conf
from turn.credentials import ephemeral, turn_urls


def ranges(conf: str, key: str) -> list[tuple[ipaddress._BaseAddress, ipaddress._BaseAddress]]:
    found = []
    for line in conf.splitlines():
        if line.startswith(f"{key}="):
            value = line.split("=", 1)[1]
            low, _dash, high = value.partition("-")
            found.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    return found


def denied(conf: str, address: str) -> bool:
    ip = ipaddress.ip_address(address)

    def inside(spans: list[tuple[ipaddress._BaseAddress, ipaddress._BaseAddress]]) -> bool:
        return any(low.version == ip.version and low <= ip <= high for low, high in spans)

    return inside(ranges(conf, "denied-peer-ip")) and not inside(ranges(conf, "allowed-peer-ip"))


def test_the_config_is_hardened() -> None:
    conf = turnserver_conf(TurnSettings(), "s3cret", sfu_addresses=["10.0.0.5"])
    lines = conf.splitlines()
    for required in (
        "use-auth-secret",
        "static-auth-secret=s3cret",
        "no-multicast-peers",
        "no-cli",
        "no-software-attribute",
        "user-quota=12",
        "total-quota=1200",
        "max-bps=3000000",
        "listening-port=3478",
        "no-tls",
        "fingerprint",
    ):
        assert required in lines, required
    assert "allow-loopback-peers" not in lines


def test_private_special_and_mapped_peers_are_denied_but_the_sfu_is_allowed() -> None:
    conf = turnserver_conf(TurnSettings(), "s", sfu_addresses=["10.0.0.5"])
    for address in (
        "10.1.2.3",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "127.0.0.1",
        "::1",
        "192.168.1.10",
        "172.16.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "fe80::1",
        "fd00::1",
        "0.0.0.0",
        "255.255.255.255",
    ):
        assert denied(conf, address), address
    assert not denied(conf, "10.0.0.5")  # the SFU itself
    for address in ("8.8.8.8", "2606:4700::1111", "49.44.1.1"):
        assert not denied(conf, address), address


def test_tls_port_adds_the_certificate() -> None:
    conf = turnserver_conf(TurnSettings(tls_port=443, cert_file="/c.pem", key_file="/k.pem"), "s")
    assert {"tls-listening-port=443", "cert=/c.pem", "pkey=/k.pem"} <= set(conf.splitlines())
    assert "no-tls" not in conf.splitlines()


def test_ephemeral_credentials_follow_coturns_rest_scheme() -> None:
    credential = ephemeral("north", 42, 1_800_000_000)
    assert credential.username == "1800000000:42"
    # base64(HMAC-SHA1("north", "1800000000:42")), as coturn computes it
    assert credential.password == "qJRbrLzbcuIHjfnOqwabMHPwxgs="
    assert turn_urls("turn.campus.edu", 3478, 443) == [
        "turn:turn.campus.edu:3478?transport=udp",
        "turn:turn.campus.edu:3478?transport=tcp",
        "turns:turn.campus.edu:443?transport=tcp",
    ]
