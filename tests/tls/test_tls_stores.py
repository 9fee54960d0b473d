"""pipeline.tls.stores: PKCS#12 keystores and truststores (ours and keytool's), JKS refused with the keytool
command, wrong passwords, files without the entry asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.pki import Pki

from pipeline.tls.stores import StoreRef, TlsConfigError, load_key_material, load_trusted_certificates


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def test_a_pkcs12_keystore_gives_the_key_its_certificate_and_chain(pki: Pki) -> None:
    material = load_key_material(StoreRef(pki.keystore("client.p12"), "changeit"))
    assert material.certificate == pki.client_cert and material.chain == (pki.ca,)
    assert material.key.public_key() == pki.client_key_obj.public_key()


def test_a_keystore_without_password_and_one_declared_jks_that_is_pkcs12(pki: Pki) -> None:
    open_store = pki.keystore("open.p12", password=None)
    assert load_key_material(StoreRef(open_store)).certificate == pki.client_cert
    declared_jks = StoreRef(pki.keystore("named.jks"), "changeit", "jks")  # Java reads these too
    assert load_key_material(declared_jks).certificate == pki.client_cert


def test_truststores_ours_and_keytools_hold_the_ca(pki: Pki) -> None:
    assert load_trusted_certificates(StoreRef(pki.truststore("trust.p12"), "changeit", option="ssl_truststore_path")) \
        == [pki.ca]
    made_by_keytool = pki.keytool_truststore("trust-java.p12")
    if made_by_keytool is None:
        pytest.skip("keytool (Java) is not installed; scripts/test.sh installs it")
    assert load_trusted_certificates(StoreRef(made_by_keytool, "changeit", "pkcs12", "ssl_truststore_path")) == [pki.ca]


def test_a_jks_file_is_refused_with_the_keytool_command_that_converts_it(pki: Pki) -> None:
    jks = pki.jks("trust.jks")
    with pytest.raises(TlsConfigError) as info:
        load_trusted_certificates(StoreRef(jks, "changeit", None, "ssl_truststore_path"))
    message = info.value.message
    assert message.startswith(f"ssl_truststore_path: {jks} is a Java JKS keystore, which is not read here")
    assert (f"keytool -importkeystore -srckeystore {jks} -srcstoretype JKS -destkeystore {jks.with_suffix('.p12')} "
            "-deststoretype PKCS12") in message
    assert 'ssl_truststore_type => "pkcs12"' in message


def test_wrong_password_missing_file_and_missing_key_entry_name_the_option(pki: Pki) -> None:
    keystore = pki.keystore("locked.p12")
    with pytest.raises(TlsConfigError, match="ssl_keystore_path: .* is not a PKCS#12 file, or ssl_keystore_password "
                                             "is wrong"):
        load_key_material(StoreRef(keystore, "wrong"))
    with pytest.raises(TlsConfigError, match="ssl_keystore_path: cannot read /nonexistent.p12"):
        load_key_material(StoreRef(Path("/nonexistent.p12")))
    with pytest.raises(TlsConfigError, match="holds no private key with its certificate"):
        load_key_material(StoreRef(pki.truststore("only-ca.p12"), "changeit"))
    with pytest.raises(TlsConfigError, match="is not a PKCS#12 file"):
        load_trusted_certificates(StoreRef(pki.ca_pem, None, None, "ssl_truststore_path"))
