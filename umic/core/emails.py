"""One key per e-mail address, for counting what one person books. Pure.

People (and scripts) write one mailbox many ways: ``Raul@Example.net``, `` raul@example.net``,
``raul+1@example.net``, ``raul+cita2@example.net`` all reach the same inbox, and Gmail also
ignores dots in the local part and answers to ``googlemail.com``. The booking caps
(``umic.booking.service``) count bookings per :func:`email_key`, so those spellings count as
one address. The key is only ever compared, never used to send mail: the booking keeps the
address exactly as typed for that.

What is folded, and why only that:

- case and outer spaces: no mail provider distinguishes them in practice;
- a ``+tag`` in the local part: "subaddressing" (RFC 5233) is offered by Gmail, Outlook.com,
  iCloud, Fastmail, Proton and most self-hosted servers, and a tag never names another person;
- for ``gmail.com`` and ``googlemail.com``: dots in the local part, and the second domain
  becomes the first (Google documents both as the same mailbox).

Other providers' dots are significant (``a.b@`` and ``ab@`` may be two people), so they are
kept. A provider that uses ``-`` for tags (Yahoo) is not folded: guessing would merge two
people's addresses.
"""

from __future__ import annotations

_GMAIL_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def email_key(address: str | None) -> str:
    """The normalised form of ``address`` used to count bookings per mailbox.

    >>> email_key("  Raul.Sanchez+Cita2@GoogleMail.com ")
    'raulsanchez@gmail.com'
    >>> email_key("Joan+x@Example.net")
    'joan@example.net'
    """
    value = (address or "").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return value
    local = local.split("+", 1)[0] or local
    domain = domain.rstrip(".")
    if domain in _GMAIL_DOMAINS:
        domain = _GMAIL_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def same_mailbox(first: str | None, second: str | None) -> bool:
    """Whether two addresses are the same mailbox by :func:`email_key` (e.g. the service's own)."""
    return bool(first and second) and email_key(first) == email_key(second)
