"""``mail``: an SMTP server in golive's own process, on 127.0.0.1, for every provider, that
accepts every message and keeps it, so checks can judge what the app sent (a welcome mail).
aiosmtpd speaks SMTP (EHLO, pipelining, dot-stuffing, size limits) so golive need not."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ..checklist import ServiceSpec, StubRoute
from .endpoint import Endpoint
from .processes import free_port
from .running import Running

#: the largest message the sink takes (aiosmtpd's SIZE limit): a welcome mail is far smaller
MAX_MESSAGE_BYTES = 10_000_000


class MailSink:
    """The SMTP server and the messages it received since the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._epoch = time.monotonic()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=free_port(), data_size_limit=MAX_MESSAGE_BYTES, ready_timeout=10
        )
        self._controller.start()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def reset(self, routes: tuple[StubRoute, ...] | None) -> None:
        """Forget the messages received so far (a sink has no routes)."""
        with self._lock:
            self._messages = []
            self._epoch = time.monotonic()

    def recorded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(message) for message in self._messages]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        with self._lock:
            self._messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "subject": str(parsed.get("Subject", "")),
                    "body": _text_of(parsed),
                    "headers": {name.lower(): str(value) for name, value in parsed.items()},
                    "at": round(time.monotonic() - self._epoch, 6),
                }
            )
        return "250 OK"

    def stop(self) -> None:
        self._controller.stop()


def _text_of(message: Any) -> str:
    """The plain-text body (of a multipart message, its text/plain part, else its HTML)."""
    if isinstance(message, EmailMessage):
        part = message.get_body(preferencelist=("plain", "html"))
        if part is not None:
            return str(part.get_content())
    payload = message.get_payload(decode=True)
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def start(spec: ServiceSpec) -> tuple[Running, MailSink]:
    """The sink, on a free 127.0.0.1 port until stopped."""
    sink = MailSink()
    endpoint = Endpoint("mail", "in-process", "127.0.0.1", sink.port, origin="golive (aiosmtpd)")
    return Running(endpoint, sink.stop), sink
