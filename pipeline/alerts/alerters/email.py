"""Send alerts by email (SMTP with STARTTLS or SSL, optional auth, plain text and HTML)."""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Literal

from pipeline.alerts.alerters.base import Alerter, AlerterOptions, blank
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import Secret, option


@dataclass(frozen=True, kw_only=True)
class EmailOptions(AlerterOptions):
    to: list[str] = option(doc="Recipients.", aliases=("email",))
    cc: list[str] = option([], "Copy recipients.")
    bcc: list[str] = option([], "Blind copy recipients (not shown in headers).")
    from_addr: str = option("pipeline-alerts@localhost", "Sender address.")
    reply_to: str | None = option(None, "Reply-To address.", aliases=("email_reply_to",))
    smtp_host: str = option("localhost", "SMTP server.")
    smtp_port: int | None = option(None, "SMTP port (default 465 with smtp_security ssl, else 25).")
    smtp_security: Literal["auto", "starttls", "ssl", "none"] = option(
        "auto", "auto: STARTTLS when the server offers it; starttls: required; ssl: TLS from the start.")
    smtp_ssl: bool = option(False, "ElastAlert's switch: true is smtp_security ssl.")
    smtp_ca_certs: Path | None = option(None, "CA bundle to verify the server certificate.")
    smtp_verify: bool = option(True, "Verify the server certificate (false only for tests).")
    user: str | None = option(None, "SMTP AUTH user.", aliases=("smtp_user",))
    password: Secret | None = option(None, "SMTP AUTH password (use ${ENV} in the settings file).",
                                     aliases=("smtp_password",))
    email_format: Literal["both", "text", "html"] = option("both", "Plain text, HTML, or both "
                                                                   "(multipart/alternative).")


class EmailAlerter(Alerter):
    """Email each alert to to/cc/bcc through an SMTP server."""

    name = "email"
    Options = EmailOptions

    def prepare(self, message: AlertMessage) -> dict[str, Any]:
        payload = super().prepare(message)
        link = f'<p><a href="{html.escape(message.link)}">Kibana</a></p>' if message.link else ""
        payload["html"] = (f"<html><body><h3>{html.escape(message.subject)}</h3>"
                           f"<pre style=\"font-family:monospace\">{html.escape(message.text)}</pre>{link}"
                           "</body></html>")
        return payload

    def build(self, payload: dict[str, Any]) -> EmailMessage:
        opts: EmailOptions = self.options  # type: ignore[assignment]
        mail = EmailMessage()
        mail["Subject"] = payload["subject"]
        mail["From"] = opts.from_addr
        mail["To"] = ", ".join(opts.to)
        if opts.cc:
            mail["Cc"] = ", ".join(opts.cc)
        if opts.reply_to:
            mail["Reply-To"] = opts.reply_to
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=opts.from_addr.rsplit("@", 1)[-1] or None)
        if opts.email_format == "html":
            mail.set_content(payload["html"], subtype="html")
        else:
            mail.set_content(payload["text"])
            if opts.email_format == "both":
                mail.add_alternative(payload["html"], subtype="html")
        return mail

    def problems(self) -> list[str]:
        opts = self.options
        out = []
        if blank(opts.smtp_host):  # type: ignore[attr-defined]
            out.append("smtp_host is empty (set it, or the environment variable the settings read it from)")
        if not [a for a in opts.to if not blank(a)]:  # type: ignore[attr-defined]
            out.append("to lists no recipient")
        if opts.user and opts.password is not None and blank(opts.password):  # type: ignore[attr-defined]
            out.append("password is empty while user is set")
        return out

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: EmailOptions = self.options  # type: ignore[assignment]
        mail = self.build(payload)
        security = "ssl" if opts.smtp_ssl else opts.smtp_security
        port = opts.smtp_port or (465 if security == "ssl" else 25)
        context = ssl.create_default_context(cafile=str(opts.smtp_ca_certs) if opts.smtp_ca_certs else None)
        if not opts.smtp_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            if security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(opts.smtp_host, port, timeout=opts.timeout,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(opts.smtp_host, port, timeout=opts.timeout)
            with smtp:
                smtp.ehlo()
                if security == "starttls" or (security == "auto" and smtp.has_extn("starttls")):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if opts.user:
                    smtp.login(opts.user, opts.password.reveal() if opts.password else "")
                smtp.send_message(mail, from_addr=opts.from_addr, to_addrs=[*opts.to, *opts.cc, *opts.bcc])
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused,
                smtplib.SMTPSenderRefused, smtplib.SMTPNotSupportedError) as exc:
            raise DeliveryError(f"SMTP {opts.smtp_host}:{port} refused the alert: {exc}",
                                retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {opts.smtp_host}:{port} failed: {type(exc).__name__}: {exc}") from exc


ALERTER = EmailAlerter
