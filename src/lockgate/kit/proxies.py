"""The address of the client behind trusted reverse proxies, from ``X-Forwarded-For``
(docs/operations.md §Behind a proxy)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses and CIDR blocks; a bare address is a network of one.

    Raises ``ValueError`` naming the first entry that is neither."""
    networks = []
    for part in text.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR block") from None
    return tuple(networks)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address: the socket peer, unless the peer is a trusted proxy.

    Then ``X-Forwarded-For`` is read from the right, each proxy having appended the address it
    was reached from: the first address that is not a trusted proxy is the client (anything to
    its left came from the client and proves nothing). When every address is trusted, the
    leftmost is the client. An entry that is not an address ends the walk with no answer.
    """
    if peer is None:
        return None
    current = _address(peer)
    if current is None or not _trusted(current, trusted):
        return peer
    hops = forwarded_for.split(",") if forwarded_for else []
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        current = address
        if not _trusted(current, trusted):
            break
    return str(current)
