#!/usr/bin/env python3
"""Regenerate pipeline/compat/logstash_options/*.txt from clones of Logstash's plugin repositories.

Usage: scripts/extract_logstash_options.py CLONES_DIR [KIND-NAME ...]

CLONES_DIR holds one git clone per plugin, named ``logstash-<kind>-<name>`` (or
``logstash-plugins+logstash-<kind>-<name>/repo`` as the mirror tool lays them out). For each
plugin we implement, the options documented in ``docs/index.asciidoc`` (its options table)
are written with their Logstash type, plus the options the plugin's source declares
``:obsolete`` (Logstash refuses those with a message, so do we). Common options come from
logstash-core's base classes and are listed in COMMON below. Only option names, types and
Logstash's one-line obsolete messages are kept: facts about the interface, not code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "pipeline" / "compat" / "logstash_options"
TABLE_ROW = re.compile(r"^\|\s*<<plugins-\{type\}s-\{plugin\}-([\w@]+)\s*(?:,[^>]*)?>>\s*\|\s*(?:<<([\w-]+)(?:,[^>]*)?>>[^|]*?|([^|]*?))\s*(?:,[^|]*)?\|\s*(\S[^|]*)?$")
OBSOLETE = re.compile(r"""config\s+:"?([\w@]+)"?\s*,.*?:obsolete\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(true))""")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


# Plugins shipped in an integration repository (its docs are docs/<kind>-<name>.asciidoc).
INTEGRATIONS = {("input", "jdbc"): "jdbc", ("input", "rabbitmq"): "rabbitmq", ("output", "rabbitmq"): "rabbitmq",
                ("input", "s3"): "aws"}  # the s3 output is still generated from logstash-output-s3
INTEGRATIONS.update({("input", "kafka"): "kafka", ("output", "kafka"): "kafka"})


def repo_name(kind: str, name: str) -> str:
    integration = INTEGRATIONS.get((kind, name))
    return f"logstash-integration-{integration}" if integration else f"logstash-{kind}-{name}"


def find_clone(root: Path, kind: str, name: str) -> Path:
    repo = repo_name(kind, name)
    for candidate in (root / repo, root / f"logstash-plugins+{repo}" / "repo"):
        if candidate.is_dir():
            return candidate
    raise SystemExit(f"no clone of {repo} under {root}")


def doc_path(kind: str, name: str) -> str:
    return f"docs/{kind}-{name}.asciidoc" if (kind, name) in INTEGRATIONS else "docs/index.asciidoc"


def extract(repo: Path, kind: str, name: str) -> tuple[str, list[tuple[str, str, str, str]]]:
    commit = git(repo, "rev-parse", "HEAD").strip()
    doc = git(repo, "show", f"HEAD:{doc_path(kind, name)}")
    rows: dict[str, tuple[str, str, str, str]] = {}
    in_obsolete = False
    for line in doc.splitlines():
        if re.match(r"^=+ .*Obsolete", line):
            in_obsolete = True
        elif re.match(r"^=+ ", line):
            in_obsolete = False
        match = TABLE_ROW.match(line.strip())
        if match and not in_obsolete:
            option, typ, raw_type, required = match.groups()
            status = "deprecated" if required and "Deprecated" in required else "documented"
            rows.setdefault(option, (option, typ or (raw_type or "").strip() or "-", status, ""))
        elif in_obsolete:
            ob = re.match(r"^\|\s*(\w+)\s*\|(.*)$", line.strip())
            if ob and ob.group(1) != "Setting":
                rows[ob.group(1)] = (ob.group(1), "-", "obsolete", f"Replaced by {ob.group(2).strip()}".replace("<<plugins-{type}s-{plugin}-", "").replace(">>", ""))
    sources = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
               if p.startswith("lib/logstash/") and p.endswith(".rb")]
    if (kind, name) in INTEGRATIONS:  # only this plugin's source and the shared mixins, not its siblings'
        sources = [p for p in sources if p.startswith((f"lib/logstash/{kind}s/{name}", "lib/logstash/plugin_mixins/"))]
    for path in sources:
        for match in OBSOLETE.finditer(git(repo, "show", f"HEAD:{path}")):
            option, message = match.group(1), match.group(2) or match.group(3) or ""
            message = message.replace('\\"', '"').replace("%PLUGIN%", name)
            rows[option] = (option, "-", "obsolete", message)
    return commit, sorted(rows.values())


# Options every plugin of a kind inherits (logstash-core lib/logstash/{plugin,inputs/base,filters/base,outputs/base}.rb).
COMMON: dict[str, list[tuple[str, str, str, str]]] = {
    "input": [("add_field", "hash", "common", ""), ("codec", "codec", "common", ""), ("enable_metric", "boolean", "common", ""),
              ("id", "string", "common", ""), ("tags", "array", "common", ""), ("type", "string", "common", ""),
              ("debug", "-", "obsolete", "This setting no longer has any effect. In past releases, it existed, but almost no plugin made use of it."),
              ("format", "-", "obsolete", "You should use the newer 'codec' setting instead."),
              ("charset", "-", "obsolete", "Use the codec setting instead. For example: input { %PLUGIN% { codec => plain { charset => \"UTF-8\" } }"),
              ("message_format", "-", "obsolete", "Setting is no longer valid.")],
    "filter": [("add_field", "hash", "common", ""), ("add_tag", "array", "common", ""), ("enable_metric", "boolean", "common", ""),
               ("id", "string", "common", ""), ("periodic_flush", "boolean", "common", ""), ("remove_field", "array", "common", ""),
               ("remove_tag", "array", "common", ""),
               ("type", "-", "obsolete", "You can achieve this same behavior with the new conditionals, like: `if [type] == \"sometype\" { %PLUGIN% { ... } }`."),
               ("tags", "-", "obsolete", "You can achieve similar behavior with the new conditionals, like: `if \"sometag\" in [tags] { %PLUGIN% { ... } }`"),
               ("exclude_tags", "-", "obsolete", "You can achieve similar behavior with the new conditionals, like: `if (\"sometag\" not in [tags]) { %PLUGIN% { ... } }`")],
    "output": [("codec", "codec", "common", ""), ("enable_metric", "boolean", "common", ""), ("id", "string", "common", ""),
               ("workers", "number", "deprecated", "This parameter will be ignored."),
               ("type", "-", "obsolete", "You can achieve this same behavior with the new conditionals, like: `if [type] == \"sometype\" { %PLUGIN% { ... } }`."),
               ("tags", "-", "obsolete", "You can achieve similar behavior with the new conditionals, like: `if \"sometag\" in [tags] { %PLUGIN% { ... } }`"),
               ("exclude_tags", "-", "obsolete", "You can achieve similar behavior with the new conditionals, like: `if (\"sometag\" not in [tags]) { %PLUGIN% { ... } }`")],
    "codec": [("enable_metric", "boolean", "common", ""), ("id", "string", "common", "")],
}

PLUGINS = {
    "input": ["azure_event_hubs", "beats", "dead_letter_queue", "elasticsearch", "file", "gelf", "generator", "heartbeat", "http", "http_poller",
              "jdbc", "rabbitmq", "s3", "stdin", "syslog", "tcp", "twitter", "udp"],
    "filter": ["aggregate", "bytes", "cidr", "clone", "csv", "date", "de_dot", "dissect", "dns", "drop", "elapsed",
               "fingerprint", "geoip", "grok", "http", "json", "json_encode", "kv", "memcached", "mutate", "prune",
               "ruby", "split", "syslog_pri", "throttle", "tld", "translate", "truncate", "urldecode", "useragent",
               "uuid", "xml", "elasticsearch"],
    "output": ["elasticsearch", "file", "gelf", "null", "stdout", "rabbitmq", "s3", "tcp"],
    "codec": ["cef", "dots", "edn", "edn_lines", "graphite", "json", "json_lines", "line", "multiline", "plain", "rubydebug"],
}
# The broker plugins (kafka integration, redis) and the built-in pipeline plugins, kept on their own lines.
PLUGINS["input"] += ["kafka", "redis", "pipeline"]
PLUGINS["output"] += ["kafka", "redis", "pipeline"]

# Plugins built into logstash-core: no repository of their own, no options table in their docs
# (docs/reference/pipeline-to-pipeline.md), so their ``config`` declarations are read from the source of a
# clone of elastic/logstash (``logstash`` or ``elastic+logstash/repo`` under CLONES_DIR).
BUILTINS = {("input", "pipeline"): "logstash-core/lib/logstash/plugins/builtin/pipeline/input.rb",
            ("output", "pipeline"): "logstash-core/lib/logstash/plugins/builtin/pipeline/output.rb"}
CONFIG = re.compile(r"^\s*config\s+:(\w+)\s*,\s*:validate\s*=>\s*:(\w+)(.*)$", re.MULTILINE)


def extract_builtin(root: Path, kind: str, name: str) -> tuple[str, list[tuple[str, str, str, str]], str]:
    """Commit, rows and source description of a plugin built into logstash-core."""
    repo = next((c for c in (root / "logstash", root / "elastic+logstash" / "repo") if c.is_dir()), None)
    if repo is None:
        raise SystemExit(f"no clone of elastic/logstash under {root}")
    path = BUILTINS[(kind, name)]
    source = git(repo, "show", f"HEAD:{path}")
    rows = sorted((option, "array" if ":list => true" in rest else typ, "documented", "")
                  for option, typ, rest in CONFIG.findall(source))
    return git(repo, "rev-parse", "HEAD").strip(), rows, f"elastic/logstash {path}"


def main(argv: list[str]) -> int:
    root = Path(argv[1])
    wanted = set(argv[2:])
    for kind, names in PLUGINS.items():
        for name in names:
            if wanted and f"{kind}-{name}" not in wanted:
                continue
            if (kind, name) in BUILTINS:
                commit, rows, where = extract_builtin(root, kind, name)
            else:
                commit, rows = extract(find_clone(root, kind, name), kind, name)
                where = f"logstash-plugins/{repo_name(kind, name)} {doc_path(kind, name)} and lib/"
            own = {r[0] for r in rows}
            common = [(o, t, s, m.replace("%PLUGIN%", name)) for o, t, s, m in COMMON[kind]
                      if o not in own]
            lines = [f"# Logstash options of the {kind} plugin {name}.",
                     f"# source: {where} @ {commit}",
                     "# common options: elastic/logstash logstash-core/lib/logstash/*/base.rb",
                     "# option<TAB>logstash type<TAB>documented|common|deprecated|obsolete<TAB>Logstash's message"]
            lines += ["\t".join(row).rstrip("\t") for row in rows + common]
            (OUT / f"{kind}-{name}.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
