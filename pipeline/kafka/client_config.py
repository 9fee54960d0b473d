"""Logstash kafka options → librdkafka configuration (the properties the Java client would get).

The security options (``security_protocol``, ``sasl_*``, ``ssl_*``) are declared once here and
shared by the input and the output. librdkafka reads PEM or PKCS#12 files, not Java keystores
(JKS): a JKS path is a config error with the keytool command converting it. JAAS settings (inline
``sasl_jaas_config`` or a ``jaas_path`` file) give librdkafka the credentials they hold. Options that
only mean something to the Java client are accepted with one warning (``no_effect``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.plugin import Secret, no_effect, option

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
DnsLookup = Literal["default", "use_all_dns_ips", "resolve_canonical_bootstrap_servers_only"]
# The SASL mechanisms librdkafka implements (the Java client's AWS_MSK_IAM is a Java plugin).
SASL_MECHANISMS = ("GSSAPI", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


def _check_mechanism(value: str) -> str | None:
    if value.upper() in SASL_MECHANISMS:
        return None
    return (f"{value!r} is not a SASL mechanism librdkafka implements ({', '.join(SASL_MECHANISMS)}); "
            "AWS MSK also accepts SASL/SCRAM (SCRAM-SHA-512)")


_JAVA_LOGIN = "the Java client's login classes; librdkafka logs in itself"


@dataclass(frozen=True, kw_only=True)
class KafkaCommonOptions:
    """Options of logstash-integration-kafka's common mixin, declared once for input and output."""

    bootstrap_servers: str = option("localhost:9092", "Kafka brokers for the first connection: host1:port1,host2:port2.")
    # The docs say "default"; the code's default is use_all_dns_ips (and it maps "default" to it).
    client_dns_lookup: DnsLookup = option("use_all_dns_ips", "How broker host names are resolved (default = use_all_dns_ips).")
    # Defaults: Logstash's (plugin_mixins/kafka/common.rb), which are the Java client's, not librdkafka's.
    connections_max_idle_ms: int = option(540000, "Close idle connections after this many ms.")
    metadata_max_age_ms: int = option(300000, "Refresh topic metadata at least this often (ms).")
    request_timeout_ms: int = option(40000, "Timeout of a request to a broker (ms; librdkafka socket.timeout.ms).")
    receive_buffer_bytes: int = option(32768, "TCP receive buffer (SO_RCVBUF); -1 = OS default.")
    send_buffer_bytes: int = option(131072, "TCP send buffer (SO_SNDBUF); -1 = OS default.")
    reconnect_backoff_ms: int = option(50, "Wait before reconnecting to a broker (ms).")
    reconnect_backoff_max_ms: int = option(1000, "Longest wait before reconnecting to a broker (ms): the wait "
                                                 "doubles per failure up to this.")
    retry_backoff_ms: int = option(100, "Wait before retrying a failed request (ms).")
    security_protocol: SecurityProtocol = option("PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
    sasl_mechanism: str = option("GSSAPI", "SASL mechanism: GSSAPI (Kerberos), PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.",
                                 check=_check_mechanism)
    sasl_jaas_config: Secret | None = option(None, "JAAS line; its settings are used: username/password (Plain, Scram), "
                                                   "keyTab/principal (Krb5), clientId/clientSecret/scope (OAuthBearer).")
    sasl_kerberos_service_name: str | None = option(None, "Kerberos principal name the brokers run as.")
    sasl_oauthbearer_token_endpoint_url: str | None = option(None, "OAuth 2.0 token endpoint (OIDC client credentials).")
    ssl_truststore_location: Path | None = option(None, "CA certificates to verify the brokers: a PEM file or a PKCS12 "
                                                        "truststore (the file's content decides).")
    ssl_truststore_password: Secret | None = option(None, "Password of a PKCS12 truststore.")
    ssl_truststore_type: str | None = option(None, "PEM or PKCS12 (JKS must be converted: the error gives the command).")
    ssl_keystore_location: Path | None = option(None, "Client certificate and key for TLS client authentication: PKCS12 or PEM.")
    ssl_keystore_password: Secret | None = option(None, "Password of the keystore.")
    ssl_keystore_type: str | None = option(None, "PKCS12 or PEM (JKS must be converted, see docs).")
    ssl_key_password: Secret | None = option(None, "Password of the private key.")
    ssl_endpoint_identification_algorithm: str = option("https", "https checks the broker host name; \"\" disables it.")
    jaas_path: Path | None = option(None, "JAAS file; its KafkaClient section is read as sasl_jaas_config is "
                                          "(which wins when both are set, as in Kafka).")
    kerberos_config: Any = no_effect("librdkafka's Kerberos reads the krb5.conf named by KRB5_CONFIG in the "
                                     "environment (default /etc/krb5.conf)")
    sasl_client_callback_handler_class: Any = no_effect(_JAVA_LOGIN)
    sasl_login_callback_handler_class: Any = no_effect(_JAVA_LOGIN)
    sasl_login_connect_timeout_ms: Any = no_effect(_JAVA_LOGIN)
    sasl_login_read_timeout_ms: Any = no_effect(_JAVA_LOGIN)
    sasl_login_retry_backoff_ms: Any = no_effect(_JAVA_LOGIN)
    sasl_login_retry_backoff_max_ms: Any = no_effect(_JAVA_LOGIN)
    sasl_oauthbearer_scope_claim_name: Any = no_effect("librdkafka does not check the token's scope claim")
    sasl_iam_jar_paths: Any = no_effect("Java jars (AWS MSK IAM) cannot be loaded by librdkafka; use SCRAM with MSK")


# key="value" or key='value' (Logstash's docs use single quotes; \" survives a config without escapes)
_JAAS_VALUE = re.compile(r"""(\w+)\s*=\s*\\?(["'])(.*?)\\?\2""")
_JAAS_SECTION = re.compile(r"\bKafkaClient\s*\{(.*?)\}\s*;", re.DOTALL)
# JAAS settings librdkafka has a property for.
_JAAS_PROPERTIES = {"username": "sasl.username", "password": "sasl.password", "keyTab": "sasl.kerberos.keytab",
                    "principal": "sasl.kerberos.principal", "clientId": "sasl.oauthbearer.client.id",
                    "clientSecret": "sasl.oauthbearer.client.secret", "scope": "sasl.oauthbearer.scope"}
_OIDC_SETTINGS = ("clientId", "clientSecret", "scope")
_JAVA_STORE_MAGICS = (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")  # JKS, JCEKS


def jaas_settings(jaas: str) -> dict[str, str]:
    """The key="value" settings of a JAAS entry such as
    ``org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";``."""
    return {key: value for key, _quote, value in _JAAS_VALUE.findall(jaas)}


def jaas_file_entry(path: Path) -> str:
    """The KafkaClient section of a JAAS file (the one the Java client reads)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"jaas_path {path}: cannot read it: {exc.strerror or exc}") from None
    match = _JAAS_SECTION.search(text)
    if match is None:
        raise ConfigError(f"jaas_path {path}: no KafkaClient {{ ... }}; section, which the Kafka client reads")
    return match.group(1)


def _jks_error(kind: str, location: Path) -> ConfigError:
    return ConfigError(
        f"ssl_{kind}_location {location}: Java keystores (JKS) cannot be read by librdkafka; convert it, e.g. "
        f"`keytool -importkeystore -srckeystore {location} -destkeystore {location.with_suffix('.p12')} "
        "-deststoretype PKCS12` (or export PEM with `keytool -exportcert -rfc`)")


def _store_path(kind: str, location: Path, store_type: str | None) -> str:
    kind_name = store_type.upper() if store_type else ("JKS" if location.suffix.lower() in (".jks", ".keystore") else "")
    if kind_name == "JKS":
        raise _jks_error(kind, location)
    return str(location)


def _trusted_authorities(location: Path, opts: KafkaCommonOptions) -> dict[str, str]:
    """The brokers' CAs for librdkafka: a PEM file as is, a PKCS#12 truststore (Logstash's
    ssl_truststore_type => PKCS12) read here and given as PEM text."""
    from pipeline.tls import StoreRef
    from pipeline.tls.stores import load_trusted_certificates, pem_bundle

    path = _store_path("truststore", location, opts.ssl_truststore_type)
    try:
        with location.open("rb") as store:
            head = store.read(16)
    except OSError as exc:
        raise ConfigError(f"ssl_truststore_location {location}: cannot read it: {exc.strerror or exc}") from None
    if head.lstrip().startswith(b"-----BEGIN"):
        return {"ssl.ca.location": path}
    if head[:4] in _JAVA_STORE_MAGICS:  # a JKS/JCEKS file under another name or type
        raise _jks_error("truststore", location)
    password = opts.ssl_truststore_password.reveal() if opts.ssl_truststore_password else None
    certificates = load_trusted_certificates(StoreRef(location, password, "pkcs12", "ssl_truststore_location"))
    return {"ssl.ca.pem": pem_bundle(certificates)}


def common_config(opts: KafkaCommonOptions, client_id: str | None) -> dict[str, Any]:
    """librdkafka settings for the options input and output share."""
    conf: dict[str, Any] = {
        "bootstrap.servers": opts.bootstrap_servers,
        "client.dns.lookup": "use_all_dns_ips" if opts.client_dns_lookup == "default" else opts.client_dns_lookup,
        "reconnect.backoff.ms": opts.reconnect_backoff_ms,
        "reconnect.backoff.max.ms": opts.reconnect_backoff_max_ms,
        "retry.backoff.ms": opts.retry_backoff_ms,
        "security.protocol": opts.security_protocol.lower(),
    }
    if client_id:
        conf["client.id"] = client_id
    if opts.receive_buffer_bytes > 0:
        conf["socket.receive.buffer.bytes"] = opts.receive_buffer_bytes
    if opts.send_buffer_bytes > 0:
        conf["socket.send.buffer.bytes"] = opts.send_buffer_bytes
    conf["connections.max.idle.ms"] = opts.connections_max_idle_ms
    conf["metadata.max.age.ms"] = opts.metadata_max_age_ms
    conf["socket.timeout.ms"] = opts.request_timeout_ms
    if opts.security_protocol in ("SSL", "SASL_SSL"):
        conf.update(_ssl_config(opts))
    if opts.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        conf.update(_sasl_config(opts))
    return conf


def _ssl_config(opts: KafkaCommonOptions) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "ssl.endpoint.identification.algorithm": opts.ssl_endpoint_identification_algorithm or "none"}
    if opts.ssl_truststore_location is not None:
        conf.update(_trusted_authorities(opts.ssl_truststore_location, opts))
    if opts.ssl_keystore_location is not None:
        path = _store_path("keystore", opts.ssl_keystore_location, opts.ssl_keystore_type)
        if (opts.ssl_keystore_type or "").upper() == "PEM" or path.endswith((".pem", ".crt")):
            conf["ssl.certificate.location"] = path
            conf["ssl.key.location"] = path
        else:
            conf["ssl.keystore.location"] = path
            if opts.ssl_keystore_password is not None:
                conf["ssl.keystore.password"] = opts.ssl_keystore_password.reveal()
    if opts.ssl_key_password is not None:
        conf["ssl.key.password"] = opts.ssl_key_password.reveal()
    return conf


def _sasl_config(opts: KafkaCommonOptions) -> dict[str, Any]:
    conf: dict[str, Any] = {"sasl.mechanism": opts.sasl_mechanism.upper()}
    if opts.sasl_jaas_config is not None:
        jaas = opts.sasl_jaas_config.reveal()
    elif opts.jaas_path is not None:
        jaas = jaas_file_entry(opts.jaas_path)
    else:
        jaas = ""
    settings = jaas_settings(jaas)
    if not opts.sasl_oauthbearer_token_endpoint_url:  # librdkafka takes OIDC client settings only with its URL
        settings = {key: value for key, value in settings.items() if key not in _OIDC_SETTINGS}
    conf.update({_JAAS_PROPERTIES[key]: value for key, value in settings.items() if key in _JAAS_PROPERTIES})
    if opts.sasl_kerberos_service_name:
        conf["sasl.kerberos.service.name"] = opts.sasl_kerberos_service_name
    if opts.sasl_oauthbearer_token_endpoint_url:
        conf["sasl.oauthbearer.method"] = "oidc"
        conf["sasl.oauthbearer.token.endpoint.url"] = opts.sasl_oauthbearer_token_endpoint_url
    return conf
