"""Logstash's kafka options shared by input and output reach librdkafka's configuration, and librdkafka takes it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.testing import build_plugin

SASL_PLAIN = 'security_protocol => "SASL_PLAINTEXT" sasl_mechanism => "PLAIN"'
PLAIN_JAAS = "sasl_jaas_config => \"org.apache.kafka.common.security.plain.PlainLoginModule required username='u' password='p';\""


def _producer_config(options: str) -> dict[str, object]:
    plugin = build_plugin("output", f'kafka {{ topic_id => "t" {options} }}', register=False)
    return plugin.producer_config()


def test_connection_options_and_logstash_defaults_reach_librdkafka() -> None:
    conf = _producer_config("reconnect_backoff_max_ms => 4000 reconnect_backoff_ms => 200")
    assert conf["reconnect.backoff.max.ms"] == 4000 and conf["reconnect.backoff.ms"] == 200
    # Logstash's defaults (the Java client's), not librdkafka's 0 / 900000 / 60000.
    assert conf["connections.max.idle.ms"] == 540000
    assert conf["metadata.max.age.ms"] == 300000
    assert conf["socket.timeout.ms"] == 40000
    assert _producer_config("")["reconnect.backoff.max.ms"] == 1000


def test_librdkafka_accepts_every_setting_the_options_give() -> None:
    from confluent_kafka import Consumer, Producer

    input_plugin = build_plugin("input", f'''kafka {{ {SASL_PLAIN} {PLAIN_JAAS} reconnect_backoff_max_ms => 2000
        group_protocol => "consumer" fetch_max_bytes => 1048576 isolation_level => "read_committed"
        client_rack => "rack-1" max_partition_fetch_bytes => 65536 }}''')
    Consumer(input_plugin.consumer_config(0)).close()  # raises KafkaException on an unknown or invalid setting
    Producer(_producer_config(f'{SASL_PLAIN} {PLAIN_JAAS} compression_type => "lz4" linger_ms => 50 acks => "all" '
                              'message_headers => { "origin" => "%{host}" }'))


def test_jaas_file_credentials_are_used(tmp_path: Path) -> None:
    jaas = tmp_path / "kafka_client_jaas.conf"
    jaas.write_text('KafkaServer {\n  ignored required username="server";\n};\n'
                    "KafkaClient {\n  org.apache.kafka.common.security.scram.ScramLoginModule required\n"
                    '  username="shipper"\n  password="s3cret";\n};\n')
    conf = _producer_config(f'security_protocol => "SASL_SSL" sasl_mechanism => "SCRAM-SHA-512" jaas_path => "{jaas}"')
    assert (conf["sasl.username"], conf["sasl.password"]) == ("shipper", "s3cret")
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"


def test_inline_jaas_config_wins_over_the_jaas_file(tmp_path: Path) -> None:
    jaas = tmp_path / "jaas.conf"
    jaas.write_text('KafkaClient { x required username="from-file" password="f"; };')
    conf = _producer_config(f'''{SASL_PLAIN} jaas_path => "{jaas}"
        sasl_jaas_config => "org.apache.kafka.common.security.plain.PlainLoginModule required username='inline' password='i';"''')
    assert conf["sasl.username"] == "inline"


def test_a_jaas_file_without_a_kafka_client_section_is_an_error(tmp_path: Path) -> None:
    jaas = tmp_path / "jaas.conf"
    jaas.write_text('Client { x required username="zookeeper"; };')
    with pytest.raises(ConfigError, match="no KafkaClient"):
        _producer_config(f'{SASL_PLAIN} jaas_path => "{jaas}"')


def test_kerberos_keytab_and_principal_come_from_the_jaas_entry() -> None:
    conf = _producer_config('''security_protocol => "SASL_PLAINTEXT" sasl_kerberos_service_name => "kafka"
        sasl_jaas_config => 'com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true
            keyTab="/etc/security/logstash.keytab" principal="logstash@EXAMPLE.COM";' ''')
    assert conf["sasl.mechanism"] == "GSSAPI"
    assert conf["sasl.kerberos.keytab"] == "/etc/security/logstash.keytab"
    assert conf["sasl.kerberos.principal"] == "logstash@EXAMPLE.COM"
    assert conf["sasl.kerberos.service.name"] == "kafka"


def test_oauth_client_credentials_go_with_the_token_endpoint_only() -> None:
    jaas = ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
            "clientId='shipper' clientSecret='xyz' scope='kafka';")
    conf = _producer_config(f'''security_protocol => "SASL_SSL" sasl_mechanism => "OAUTHBEARER"
        sasl_oauthbearer_token_endpoint_url => "https://idp.example.com/token" sasl_jaas_config => "{jaas}"''')
    assert conf["sasl.oauthbearer.method"] == "oidc"
    assert (conf["sasl.oauthbearer.client.id"], conf["sasl.oauthbearer.client.secret"],
            conf["sasl.oauthbearer.scope"]) == ("shipper", "xyz", "kafka")
    without_url = _producer_config(f'security_protocol => "SASL_SSL" sasl_mechanism => "OAUTHBEARER" '
                                   f'sasl_jaas_config => "{jaas}"')
    assert "sasl.oauthbearer.client.id" not in without_url


def test_a_sasl_mechanism_librdkafka_lacks_is_refused_at_load() -> None:
    with pytest.raises(ConfigErrors, match="AWS_MSK_IAM.*not a SASL mechanism librdkafka implements"):
        build_plugin("output", 'kafka { topic_id => "t" sasl_mechanism => "AWS_MSK_IAM" }', register=False)


def test_java_only_login_options_load_with_one_warning_each(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        conf = _producer_config(f'''{SASL_PLAIN} sasl_iam_jar_paths => ["/opt/msk-iam.jar"]
            sasl_login_callback_handler_class => "com.example.Handler" kerberos_config => "/etc/krb5-kafka.conf"''')
    warnings = [r.getMessage() for r in caplog.records]
    for name in ("sasl_iam_jar_paths", "sasl_login_callback_handler_class", "kerberos_config"):
        assert sum(f'option "{name}" has no effect here' in w for w in warnings) == 1, warnings
    assert not any("iam" in str(value).lower() for value in conf.values())


def test_a_pkcs12_truststore_becomes_pem_authorities_librdkafka_takes(tmp_path: Path) -> None:
    from confluent_kafka import Producer
    from support.pki import Pki

    pki = Pki(tmp_path)
    store = pki.truststore("trust.p12", password="changeit")
    conf = _producer_config(f'''security_protocol => "SSL" ssl_truststore_location => "{store}"
        ssl_truststore_type => "PKCS12" ssl_truststore_password => "changeit"''')
    assert conf["ssl.ca.pem"] == pki.ca_pem.read_text() and "ssl.ca.location" not in conf
    Producer(conf)  # librdkafka parses the PEM text
    pem = _producer_config(f'security_protocol => "SSL" ssl_truststore_location => "{pki.ca_pem}"')
    assert pem["ssl.ca.location"] == str(pki.ca_pem)


def test_a_java_keystore_under_another_name_is_still_explained(tmp_path: Path) -> None:
    from support.pki import Pki

    store = Pki(tmp_path).jks("trust.store")
    with pytest.raises(ConfigError, match="Java keystores \\(JKS\\).*keytool"):
        _producer_config(f'security_protocol => "SSL" ssl_truststore_location => "{store}"')
