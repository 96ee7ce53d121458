"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the outbox tests.

The server can be stopped and started again on the same port, so a test can take the mail
server down and bring it back while the app keeps its MAIL_PORT.
"""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: the envelope and the exact bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    #: The MAIL FROM parameters the client gave (``BODY=8BITMIME``, ``SIZE=...``).
    mail_options: tuple[str, ...] = ()

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()


class _Handler:
    def __init__(
        self, sink: list[Received], lock: threading.Lock, reject: set[str], defer: set[str]
    ):
        self.sink = sink
        self.lock = lock
        self.reject = reject
        self.defer = defer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.casefold() in self.reject:
            return "550 5.1.1 No such user here"
        if address.casefold() in self.defer:
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        content = envelope.original_content or envelope.content
        with self.lock:
            self.sink.append(
                Received(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    content,
                    tuple(envelope.mail_options),
                )
            )
        return "250 Message accepted for delivery"


class LoopbackSMTP:
    """``start()``/``stop()`` an aiosmtpd server on 127.0.0.1:``port``; ``received`` lists mail.

    Recipients added to ``reject`` are refused with a permanent 550 at RCPT TO; those added
    to ``defer`` get a temporary 450.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[Received] = []
        self.reject: set[str] = set()
        self.defer: set[str] = set()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(
                _Handler(self.received, self._lock, self.reject, self.defer),
                hostname="127.0.0.1",
                port=self.port,
            )
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        """What was delivered to ``address``, in the order it arrived."""
        return [r for r in self.messages() if address in r.rcpt_tos]
