"""The email alerter against a real SMTP server (aiosmtpd) with STARTTLS, SMTPS and AUTH."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipeline.alerts.alerters.email import EmailAlerter
from pipeline.alerts.errors import DeliveryError
from pipeline.alerts.templates import AlertMessage
from pipeline.plugin import PluginSpec, build_options

USER, PASSWORD = "alerts", "s3cret"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this hook by name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((session.ssl is not None, auth_data.login.decode()))
        ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def tls_files(tmp_path):
    return self_signed(tmp_path)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def starttls_server(tls_files, free_port):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port,
                            tls_context=server_context(*tls_files), require_starttls=True,
                            authenticator=inbox.authenticate, auth_require_tls=True)
    controller.start()
    yield inbox, free_port
    controller.stop()


def alerter(**options) -> EmailAlerter:
    return EmailAlerter(build_options(EmailAlerter, PluginSpec.of("alerter", "email", options)))


MESSAGE = AlertMessage(subject="【P1】告警：service-errors-p1（api）", text="api 在 5 分钟内出现 12 次事件\n<b>raw</b>",
                       link="http://kibana:5601/app/discover#/?_g=(time:(from:'a',to:'b'))", context={})


def test_email_over_starttls_with_auth_is_received_and_parses(starttls_server, tls_files):
    inbox, port = starttls_server
    mailer = alerter(smtp_host="127.0.0.1", smtp_port=port, smtp_security="starttls",
                     smtp_ca_certs=str(tls_files[0]), user=USER, password=PASSWORD, from_addr="alerts@example.com",
                     to=["oncall@example.com"], cc=["lead@example.com"], bcc=["audit@example.com"],
                     reply_to="noc@example.com")
    mailer.deliver(mailer.prepare(MESSAGE))
    [envelope] = inbox.envelopes
    assert inbox.logins == [(True, USER)]  # AUTH happened inside TLS
    assert sorted(envelope.rcpt_tos) == ["audit@example.com", "lead@example.com", "oncall@example.com"]
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail["Subject"] == MESSAGE.subject
    assert mail["To"] == "oncall@example.com" and mail["Cc"] == "lead@example.com"
    assert mail["Bcc"] is None and mail["Reply-To"] == "noc@example.com"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "12 次事件" in plain and "<b>raw</b>" in plain
    assert "&lt;b&gt;raw&lt;/b&gt;" in html and 'href="http://kibana:5601/app/discover' in html


def test_wrong_password_is_a_permanent_delivery_error(starttls_server, tls_files):
    inbox, port = starttls_server
    mailer = alerter(smtp_host="127.0.0.1", smtp_port=port, smtp_ca_certs=str(tls_files[0]), user=USER,
                     password="wrong", to=["oncall@example.com"])
    with pytest.raises(DeliveryError) as caught:
        mailer.deliver(mailer.prepare(MESSAGE))
    assert caught.value.retryable is False
    assert inbox.envelopes == []


def test_untrusted_certificate_is_refused(starttls_server):
    _, port = starttls_server
    mailer = alerter(smtp_host="127.0.0.1", smtp_port=port, user=USER, password=PASSWORD, to=["x@example.com"])
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        mailer.deliver(mailer.prepare(MESSAGE))


def test_email_over_smtps(tls_files, free_port):
    inbox = Inbox()
    # Implicit TLS: aiosmtpd does not see a STARTTLS upgrade, so it must not ask for one before AUTH.
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port, ssl_context=server_context(*tls_files),
                            authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        mailer = alerter(smtp_host="127.0.0.1", smtp_port=free_port, smtp_ssl=True,
                         smtp_ca_certs=str(tls_files[0]), user=USER, password=PASSWORD, to=["a@example.com"],
                         email_format="text")
        mailer.deliver(mailer.prepare(MESSAGE))
    finally:
        controller.stop()
    [envelope] = inbox.envelopes
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert mail.get_content_type() == "text/plain" and "12 次事件" in mail.get_content()


def test_smtp_server_down_is_retryable(free_port):
    mailer = alerter(smtp_host="127.0.0.1", smtp_port=free_port, to=["a@example.com"], timeout=2)
    with pytest.raises(DeliveryError) as caught:
        mailer.deliver(mailer.prepare(MESSAGE))
    assert caught.value.retryable is True
