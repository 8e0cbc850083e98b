"""What `realtime.webpush` decides without a push service: which hosts and addresses it pushes to."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from realtime.webpush import _PublicAddressesOnly, is_public_host


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("fcm.googleapis.com", True),
        ("updates.push.services.mozilla.com", True),
        ("8.8.8.8", True),
        ("[2001:4860:4860::8888]", True),
        ("localhost", False),
        ("push.localhost", False),
        ("LOCALHOST.", False),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("[::1]", False),
        ("[fd00::1]", False),
        ("0.0.0.0", False),
    ],
)
def test_public_hosts(host: str, public: bool) -> None:
    assert is_public_host(host) is public


class _Fixed(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_keeps_public_addresses_and_refuses_names_with_none() -> None:
    mixed = _PublicAddressesOnly(_Fixed("10.0.0.7", "93.184.216.34", "127.0.0.1"))
    assert [r["host"] for r in await mixed.resolve("push.example.net", 443)] == ["93.184.216.34"]
    inside = _PublicAddressesOnly(_Fixed("10.0.0.7", "::1"))
    with pytest.raises(OSError):
        await inside.resolve("intranet.example.net", 443)
