"""The client network a booking comes from, as a keyed hash. Pure.

The per-day cap on new bookings per network (``umic.booking.service``) counts bookings by the
network of the client's address, not by the address itself:

- **IPv4: the /24.** One address is too narrow: a script with a handful of addresses in one
  rented block (the review's "/24") would multiply its allowance by 254. A /24 is still far
  smaller than what unrelated citizens share: a town hall, a library or a family behind one
  mobile carrier's NAT use one address or a few inside one /24, and the service gets a few
  dozen bookings a week from the whole province, so the default cap (12 a day) is never met by
  people who merely share a network.
- **IPv6: the /56.** Spanish ISPs delegate a /56 (or a /64) to each home and fibre line;
  mobile phones get a /64. Counting by /64 would let one home with a /56 rotate through 256
  networks; counting by /48 would put a whole business customer or, at some carriers, many
  subscribers in one bucket. The /56 is one subscriber.
- IPv4-mapped IPv6 addresses (``::ffff:192.0.2.7``) count as the IPv4 address they map.

The raw address is never stored: the key is an HMAC-SHA256 of the network with the app's
secret key, so a copy of the database does not say where anyone booked from (and the same
network in another installation gives another key). The booking keeps its key only while
the cap needs it (a day); a periodic job then erases it (``umic.booking.abuse``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

#: Prefix lengths a client is counted by (see above).
IPV4_PREFIX = 24
IPV6_PREFIX = 56


def client_network(address: str | None) -> str:
    """The network ``address`` belongs to, as text (``"192.0.2.0/24"``), or ``"unknown"``."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if isinstance(ip, ipaddress.IPv4Address) else IPV6_PREFIX
    return str(ipaddress.ip_network((ip, prefix), strict=False))


def network_key(address: str | None, secret: str | bytes) -> str:
    """A keyed hash (32 hex digits) of the client's network: countable, not readable."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, b"umic.network:" + client_network(address).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
