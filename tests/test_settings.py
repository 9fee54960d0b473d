from pathlib import Path

import pytest

from pipeline.errors import ConfigErrors
from pipeline.settings import Settings, apply, load_pipelines, load_settings


def test_nested_and_dotted_keys_are_equivalent(tmp_path):
    (tmp_path / "logstash.yml").write_text(
        "pipeline:\n  workers: 3\n  batch:\n    size: 50\n    delay: 10\npath.data: /tmp/d\nlog.format: json\n")
    settings = load_settings(tmp_path)
    assert (settings.workers, settings.batch_size, settings.batch_delay_ms) == (3, 50, 10)
    assert settings.path_data == Path("/tmp/d") and settings.log_format == "json"


def test_env_substitution_and_unknown_keys(monkeypatch):
    monkeypatch.setenv("W", "7")
    assert apply(Settings(), {"pipeline.workers": "${W}"}).workers == 7
    assert apply(Settings(), {"pipeline.workers": "${NOPE:2}"}).workers == 2
    with pytest.raises(ConfigErrors) as info:
        apply(Settings(), {"pipeline.wrokers": 2, "pipeline.batch.size": "many", "path.data": "${UNSET_X}"})
    text = info.value.render()
    assert 'unknown setting "pipeline.wrokers"' in text
    assert 'setting "pipeline.batch.size": invalid value' in text
    assert "UNSET_X is not set" in text


def test_logstash_settings_we_do_not_use_are_accepted():
    assert apply(Settings(), {"config.reload.automatic": True, "api.http.port": 9600}).workers >= 1


def test_pipelines_yml_declares_several_pipelines(tmp_path):
    (tmp_path / "pipelines.yml").write_text(
        "- pipeline.id: web\n  path.config: /etc/web.conf\n  pipeline.workers: 2\n"
        "- pipeline.id: sys\n  config.string: 'input { stdin {} }'\n")
    web, sys_ = load_pipelines(tmp_path, Settings())
    assert web.pipeline_id == "web" and web.path_config == ("/etc/web.conf",) and web.workers == 2
    assert sys_.config_string == "input { stdin {} }"


def test_pipelines_yml_errors_are_collected(tmp_path):
    (tmp_path / "pipelines.yml").write_text("- pipeline.id: a\n- path.config: x\n- pipeline.id: a\n  config.string: x\n")
    with pytest.raises(ConfigErrors) as info:
        load_pipelines(tmp_path, Settings())
    text = info.value.render()
    assert "needs path.config or config.string" in text
    assert "needs a pipeline.id" in text
    assert 'duplicate pipeline.id "a"' in text


def test_dead_letter_queue_settings_reach_the_plugins(tmp_path):
    from pipeline.queue.dead_letter import DeadLetterSettings

    settings = apply(Settings(), {"dead_letter_queue": {"enable": False, "max_bytes": "10mb"},
                                  "path.dead_letter_queue": str(tmp_path)})
    dlq = DeadLetterSettings.from_settings(settings.plugin_settings)
    assert dlq.enable is False and dlq.max_bytes == 10 * 1024 * 1024 and dlq.path == tmp_path


def test_queue_settings_are_validated_at_load():
    settings = apply(Settings(), {"queue": {"type": "persisted", "max_bytes": "64mb", "checkpoint.writes": 10}})
    assert settings.queue_type == "persisted"
    assert settings.queue_settings == {"queue.max_bytes": "64mb", "queue.checkpoint.writes": 10}
    with pytest.raises(ConfigErrors) as info:
        apply(Settings(), {"queue.type": "disk", "queue.max_bytes": "lots"})
    text = info.value.render()
    assert 'setting "queue.type": invalid value' in text and "queue.max_bytes" in text


def test_pipeline_ecs_compatibility_reaches_the_plugins():
    settings = apply(Settings(), {"pipeline.ecs_compatibility": "disabled"})
    assert settings.plugin_settings["pipeline.ecs_compatibility"] == "disabled"


def test_default_workers_are_the_cores_this_process_may_use():
    import os

    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})  # as under `taskset -c 0`
        assert Settings().workers == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert Settings().workers == len(allowed)
