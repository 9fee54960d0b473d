"""What an alerter is: options, ``prepare`` (message → JSON payload kept in the outbox, no secrets)
and ``deliver`` (payload → sent, or DeliveryError)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pipeline.alerts.registry import Declared
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class AlerterOptions:
    timeout: float = option(10.0, "Seconds to wait for the receiving server.")


class Alerter(Declared):
    """Base of the alerters; subclasses set ``name``, ``Options``, ``prepare`` and ``deliver``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[AlerterOptions]] = AlerterOptions

    def __init__(self, options: AlerterOptions) -> None:
        self.options = options

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        """The payload to deliver (JSON-able; stored until delivered, so no secrets in it)."""
        return {"subject": message.subject, "text": message.text, "link": message.link}

    def deliver(self, payload: dict[str, Any]) -> None:
        """Send; raise DeliveryError (retryable or not) when it did not arrive."""
        raise NotImplementedError

    def problems(self) -> list[str]:
        """Why the resolved options cannot send (an empty token from an unset ${ENV}, no host ...);
        ``alerts check`` reports them."""
        return []


def blank(value: Any) -> bool:
    """An option left empty: None, "" or a Secret holding "" (``${TOKEN:}`` with TOKEN unset)."""
    from pipeline.plugin import Secret

    text = value.reveal() if isinstance(value, Secret) else value
    return text is None or not str(text).strip()


def markdown(message: AlertMessage, *, link_label: str = "Kibana") -> str:
    """The message as chat markdown: a heading, hard line breaks, the Kibana link."""
    body = "  \n".join(line if line.strip() else "" for line in message.text.rstrip().splitlines())
    out = f"#### {message.subject}\n\n{body}"
    if message.link and message.link not in message.text:
        out += f"\n\n[{link_label}]({message.link})"
    return out
