import io
import json
import logging

from pipeline import logs


def test_secrets_are_masked_in_plain_and_json_logs():
    for fmt in ("plain", "json"):
        stream = io.StringIO()
        logs.configure("info", fmt, stream)
        logging.getLogger("t").info("connecting with password => hunter2 to http://elastic:s3cret@es:9200 token=abc")
        out = stream.getvalue()
        assert "hunter2" not in out and "s3cret" not in out and "abc" not in out
        if fmt == "json":
            entry = json.loads(out)
            assert entry["log.level"] == "INFO" and "******" in entry["message"]


def test_rate_limited_logger_holds_back_repeats_and_counts_them():
    stream = io.StringIO()
    logs.configure("info", "plain", stream)
    limited = logs.RateLimitedLogger(logging.getLogger("t"), interval=60)
    for _ in range(5):
        limited.warning("k", "event failed")
    assert stream.getvalue().count("event failed") == 1
    limited.interval = 0
    limited.warning("k", "event failed")
    assert "4 similar messages suppressed" in stream.getvalue()


def test_an_authorization_header_loses_its_credentials_not_only_its_scheme():
    from pipeline.logs import mask_secrets

    for line in ('headers {"authorization"=>"Basic dXNlcjpwYXNz"}', "Authorization: Bearer abc.def.ghi",
                 "{'proxy-authorization': 'ApiKey QUJDOkRFRg=='}"):
        masked = mask_secrets(line)
        assert not any(secret in masked for secret in ("dXNlcjpwYXNz", "abc.def.ghi", "QUJDOkRFRg")), masked
        assert "******" in masked
