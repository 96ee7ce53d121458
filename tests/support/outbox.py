"""Reading an outbox message as the worker will send it.

The outbox stores bodies with every link token masked (umic/mail/links.py); a message that
has not gone out yet keeps its tokens in ``link_tokens``. Tests that follow a link from a
queued e-mail read it here, as the worker would splice it.
"""

from __future__ import annotations

from umic.mail import links
from umic.models import OutboxMessage


def clear_text(message: OutboxMessage) -> str:
    """The text body with its links as the citizen will get them."""
    return links.unmask(message.body_text, links.load(message.link_tokens))


def clear_html(message: OutboxMessage) -> str:
    """The HTML body with its links as the citizen will get them."""
    return links.unmask(message.body_html, links.load(message.link_tokens))
