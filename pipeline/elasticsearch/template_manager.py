"""What Logstash's elasticsearch output sets up before sending: template, ILM rollover alias, data streams.

Follows logstash-output-elasticsearch (``template_manager.rb``, ``ilm.rb``,
``data_stream_support.rb``), with two deliberate differences in the defaults, because our default
index is daily ``logs-%{+YYYY.MM.dd}`` (whose template and ILM policy ``pipeline setup`` installs):

* ``data_stream`` unset means ``false`` (Logstash 8: ``auto``, true when ECS is on and nothing
  contradicts it); ``data_stream => auto`` resolves as Logstash does;
* ``ilm_enabled => auto`` (the default) uses a rollover alias only when ``ilm_rollover_alias`` is
  set (Logstash also does for its default index); ``ilm_enabled => true`` as Logstash;
* ``manage_template`` unset installs a template only when ``template`` is given or ILM is in use;
  ``true`` also installs the default one (our mappings) as Logstash does.

:func:`resolve` turns the options into a :class:`Plan` (config errors raise ValueError, reported at
load); :func:`install` applies it to a cluster at start (idempotent); :meth:`Plan.target` names the
index and action of one event.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, NotFoundError

from pipeline.elasticsearch.template import build_index_template

DEFAULT_POLICY = "logstash-policy"
# Logstash's default-ilm-policy.json: roll over at 50 GB or 30 days, keep everything.
DEFAULT_POLICY_BODY: dict[str, Any] = {"phases": {"hot": {"actions": {"rollover": {"max_size": "50gb",
                                                                                   "max_age": "30d"}}}}}
DEFAULT_ILM_PATTERN = "{now/d}-000001"
DATA_STREAM_TYPES = ("logs", "metrics", "synthetics", "traces")
_JSON = {"accept": "application/json", "content-type": "application/json"}
# Options a data stream cannot be combined with (logstash-output-elasticsearch: invalid_data_stream_params)
DATA_STREAM_INCOMPATIBLE = ("index", "document_id", "document_type", "ilm_enabled", "ilm_rollover_alias",
                            "ilm_pattern", "ilm_policy", "template", "template_name", "template_overwrite",
                            "template_api", "doc_as_upsert", "upsert", "script", "scripted_upsert",
                            "retry_on_conflict", "parameters")
_DATASET = re.compile(r"[^\\/*?\"<>| ,#:-]{1,100}")  # Logstash's dataset/namespace identifier rules
_NAMESPACE = re.compile(r"[^\\/*?\"<>| ,#:]{1,100}")


@dataclass(frozen=True)
class Plan:
    """Where events go and what is installed first."""

    data_stream: bool = False
    ds_type: str = "logs"
    ds_dataset: str = "generic"
    ds_namespace: str = "default"
    ds_auto_routing: bool = True
    ds_sync_fields: bool = True
    ilm: bool = False
    rollover_alias: str = "logstash"
    ilm_pattern: str = DEFAULT_ILM_PATTERN
    ilm_policy: str = DEFAULT_POLICY
    manage_template: bool = False
    template_path: str | None = None
    template_name: str = "logstash"
    template_overwrite: bool = False
    template_api: str = "auto"
    default_pattern: str = "logstash-*"

    def data_stream_name(self, event_data: dict[str, Any]) -> str:
        """``<type>-<dataset>-<namespace>``; with auto routing the event's ``[data_stream]`` fields win."""
        fields = event_data.get("data_stream")
        if not self.ds_auto_routing or not isinstance(fields, dict):
            return f"{self.ds_type}-{self.ds_dataset}-{self.ds_namespace}"
        return (f"{fields.get('type') or self.ds_type}-{fields.get('dataset') or self.ds_dataset}-"
                f"{fields.get('namespace') or self.ds_namespace}")

    def synced(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """A copy of the document with ``[data_stream]`` fields matching the stream written to."""
        data = dict(event_data)
        fields = data.get("data_stream")
        fields = dict(fields) if isinstance(fields, dict) else {}
        if not self.ds_auto_routing:  # the configured stream wins over the event's fields
            for name in ("type", "dataset", "namespace"):
                if fields.get(name) not in (None, getattr(self, f"ds_{name}")):
                    fields[name] = None
        for name in ("type", "dataset", "namespace"):
            fields[name] = fields.get(name) or getattr(self, f"ds_{name}")
        data["data_stream"] = fields
        return data


def declared_defaults(options_class: type) -> dict[str, Any]:
    """Each option's declared default (to tell which options a config set, as Logstash's original_params)."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(options_class):
        if item.default is not dataclasses.MISSING:
            out[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            out[item.name] = item.default_factory()
    return out


def _explicit(options: Any, defaults: dict[str, Any]) -> set[str]:
    return {name for name, default in defaults.items() if not _same(getattr(options, name), default)}


def _same(value: Any, default: Any) -> bool:
    if isinstance(default, str) and hasattr(value, "text"):  # a Template option left at its default
        return bool(value.text == default)
    return bool(value == default)


def resolve(options: Any, defaults: dict[str, Any], ecs_compatibility: str,
            logger: logging.Logger | None = None) -> Plan:
    """The plan for these options (``defaults``: each option's declared default, to know what was set)."""
    explicit = _explicit(options, defaults)
    legacy = ecs_compatibility == "disabled"
    default_name = "logstash" if legacy else "ecs-logstash"
    data_stream = _data_stream_enabled(options, explicit, legacy)
    if not data_stream and any(name.startswith("data_stream_") for name in explicit):
        raise ValueError("data_stream_* options need data_stream => true (Logstash: ambiguous configuration; "
                         f"set: {sorted(n for n in explicit if n.startswith('data_stream_'))})")
    if data_stream:
        if not _DATASET.fullmatch(options.data_stream_dataset):
            raise ValueError(f"data_stream_dataset {options.data_stream_dataset!r}: at most 100 characters, none "
                             "of \\ / * ? \" < > | , # : - or space")
        if not _NAMESPACE.fullmatch(options.data_stream_namespace):
            raise ValueError(f"data_stream_namespace {options.data_stream_namespace!r}: at most 100 characters, "
                             "none of \\ / * ? \" < > | , # : or space")
        return Plan(data_stream=True, ds_type=options.data_stream_type, ds_dataset=options.data_stream_dataset,
                    ds_namespace=options.data_stream_namespace, ds_auto_routing=options.data_stream_auto_routing,
                    ds_sync_fields=options.data_stream_sync_fields, manage_template=False)
    alias_set = options.ilm_rollover_alias is not None
    if options.ilm_enabled is True:
        ilm = alias_set or "index" not in explicit
    else:
        ilm = options.ilm_enabled == "auto" and alias_set
    rollover_alias = options.ilm_rollover_alias or default_name
    if ilm and "index" in explicit and logger is not None:
        logger.warning("elasticsearch output: ILM is in use: writing to the rollover alias %r instead of index %r "
                       "(as Logstash)", rollover_alias, options.index)
    manage = options.manage_template
    if manage is None:
        manage = options.template is not None or ilm
    template_name = options.template_name or (rollover_alias if ilm else default_name)
    return Plan(ilm=ilm, rollover_alias=rollover_alias, ilm_pattern=options.ilm_pattern,
                ilm_policy=options.ilm_policy, manage_template=manage, template_path=options.template,
                template_name=template_name, template_overwrite=options.template_overwrite,
                template_api=options.template_api, default_pattern=f"{default_name}-*")


def _data_stream_enabled(options: Any, explicit: set[str], legacy: bool) -> bool:
    value = options.data_stream
    conflicts = sorted(n for n in DATA_STREAM_INCOMPATIBLE if n in explicit)
    if "action" in explicit and not (options.action.is_constant and options.action.text == "create"):
        conflicts.append("action")
    if options.manage_template is True:
        conflicts.append("manage_template")
    if value is True:
        if conflicts:
            raise ValueError(f"data_stream => true cannot be combined with {', '.join(conflicts)} (events go to "
                             "<type>-<dataset>-<namespace> with action create)")
        if legacy:
            raise ValueError("data_stream => true needs ECS field names: ecs_compatibility must not be disabled")
        return True
    if value == "auto":
        return not legacy and not conflicts
    return False


# -- applying the plan to a cluster -------------------------------------------------------------
def install(client: Any, plan: Plan, logger: logging.Logger) -> None:
    """Template, ILM policy and rollover alias, as Logstash installs them at start (idempotent)."""
    if plan.data_stream:
        return  # Elasticsearch's built-in logs-*-* (etc.) templates create the streams
    if plan.manage_template:
        _install_template(client, plan, logger)
    if plan.ilm:
        _install_policy(client, plan, logger)
        _bootstrap_alias(client, plan, logger)


def major_version(client: Any) -> int:
    number = str(client.info().body["version"]["number"])
    return int(number.split(".")[0])


def is_opensearch(client: Any) -> bool:
    return bool(client.info().body["version"].get("distribution") == "opensearch")


def load_template(path: str) -> dict[str, Any]:
    """A template file (JSON object); ValueError naming the file and the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"template {path}: cannot read it: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"template {path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"template {path}: expected a JSON object")
    return data


def template_body(plan: Plan, composable: bool) -> dict[str, Any]:
    """The template to install: the file, or our mappings for the default pattern; ILM settings added."""
    if plan.template_path:
        template = load_template(plan.template_path)
    else:
        built = build_index_template([plan.default_pattern], ilm_policy=None)
        if composable:
            template = {k: v for k, v in built.items() if k in ("index_patterns", "template", "priority", "_meta")}
        else:
            inner = built["template"]
            template = {"index_patterns": built["index_patterns"], "settings": inner.get("settings", {}),
                        "mappings": inner.get("mappings", {})}
    if plan.ilm:
        template["index_patterns"] = [f"{plan.rollover_alias}-*"]
        if "template" in template or (composable and "settings" not in template):
            settings = template.setdefault("template", {}).setdefault("settings", {})
        else:
            settings = template.setdefault("settings", {})
        settings.update({"index.lifecycle.name": plan.ilm_policy,
                         "index.lifecycle.rollover_alias": plan.rollover_alias})
    return template


def _install_template(client: Any, plan: Plan, logger: logging.Logger) -> None:
    major = major_version(client)
    if plan.template_api == "auto":
        # OpenSearch has composable templates since 1.0 (its version numbers restart at 1).
        composable = major >= 8 or is_opensearch(client)
        if not composable:
            logger.warning("elasticsearch output: template_api => auto resolved to legacy (Elasticsearch %d); "
                           "set template_api => legacy or composable explicitly", major)
    else:
        composable = plan.template_api == "composable"
    endpoint = "_index_template" if composable else "_template"
    path = f"/{endpoint}/{plan.template_name}"
    if not plan.template_overwrite and client.perform_request("HEAD", path, headers=_JSON).meta.status == 200:
        logger.info("elasticsearch output: template %s exists, left as is (template_overwrite => false)",
                    plan.template_name)
        return
    client.perform_request("PUT", path, headers=_JSON, body=template_body(plan, composable))
    logger.info("elasticsearch output: installed %s template %s", "composable" if composable else "legacy",
                plan.template_name)


def _install_policy(client: Any, plan: Plan, logger: logging.Logger) -> None:
    try:
        client.ilm.get_lifecycle(name=plan.ilm_policy)
        return
    except NotFoundError:
        pass
    if plan.ilm_policy != DEFAULT_POLICY:
        raise ValueError(f"the ILM policy {plan.ilm_policy!r} does not exist on Elasticsearch (create it first, "
                         f"or leave ilm_policy unset for Logstash's default {DEFAULT_POLICY!r})")
    client.ilm.put_lifecycle(name=plan.ilm_policy, policy=DEFAULT_POLICY_BODY)
    logger.info("elasticsearch output: installed ILM policy %s", plan.ilm_policy)


def _bootstrap_alias(client: Any, plan: Plan, logger: logging.Logger) -> None:
    if client.indices.exists(index=plan.rollover_alias).meta.status == 200:
        return
    first = f"<{plan.rollover_alias}-{plan.ilm_pattern}>"
    try:
        client.indices.create(index=first, aliases={plan.rollover_alias: {"is_write_index": True}})
        logger.info("elasticsearch output: created rollover alias %s on %s", plan.rollover_alias, first)
    except ApiError as exc:
        if exc.meta.status != 400:  # 400: created meanwhile by another pipeline, as Logstash ignores
            raise
