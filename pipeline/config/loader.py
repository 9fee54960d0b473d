"""Loading pipeline configs: Logstash-syntax text, the YAML form, files, directories and globs.

``load_paths`` follows Logstash's ``-f``: a file, a directory (every file in it, sorted
alphabetically, sub-directories ignored) or a glob; several files are concatenated in that
order. Files ending in ``.yml``/``.yaml`` are read as the YAML form, unless they hold
Logstash syntax (a line starting ``input {``, ``filter {`` or ``output {``). Every error of every
file is collected and raised together as ConfigErrors; its ``partial`` attribute holds
the config made of everything that did parse (broken plugins left out), so a checker
can validate those plugins too and report all problems in one run.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipeline.config import parser
from pipeline.config.ast import PipelineConfig
from pipeline.errors import ConfigError, ConfigErrors, Location

YAML_SUFFIXES = (".yml", ".yaml")


def parse_text(text: str, source: str = "<config>", *, env: Mapping[str, str] | None = None,
               support_escapes: bool = False) -> PipelineConfig:
    """Parse a config written in the Logstash language.

    ``env`` replaces ``os.environ`` for ``${VAR}`` substitution; ``support_escapes`` is
    Logstash's ``config.support_escapes`` (off by default: strings are kept verbatim).
    """
    return parser.parse_config(text, source, env=env, support_escapes=support_escapes)


def parse_yaml(text: str, source: str = "<config>", *, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Parse a config written in the YAML form (see docs/config-language.md)."""
    from pipeline.config import yaml_form  # PyYAML only for YAML configs (~10 ms of every start-up)

    return yaml_form.parse_yaml(text, source, env=env)


_SECTION_START = re.compile(r"^\s*(?:input|filter|output)\s*\{", re.M)


def looks_like_logstash_syntax(text: str) -> bool:
    """A ``.yml`` file holding ``input { ... }``: Logstash reads any -f / path.config file as its
    own language, and pipelines.yml often points at such files; a YAML pipeline never has a line
    starting ``input {``."""
    return _SECTION_START.search(text) is not None


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The config files named by ``paths`` (files, directories, globs), in load order."""
    files: list[Path] = []
    errors: list[ConfigError] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted((p for p in path.iterdir() if p.is_file()), key=lambda p: p.name)
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
        if not found:
            errors.append(ConfigError(f"no config file found at {raw} (a file, a directory or a glob)",
                                      Location(str(raw), 0, 0)))
        files.extend(p for p in found if p not in files)
    if errors:
        raise ConfigErrors(errors)
    return files


def load_paths(paths: Iterable[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None,
               support_escapes: bool = False) -> PipelineConfig:
    """Load and concatenate every config file named by ``paths``; every error at once."""
    config = PipelineConfig()
    errors: list[ConfigError] = []
    for path in expand_paths(paths):
        source = str(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(ConfigError(f"config file is not valid UTF-8 (byte {exc.start})",
                                      Location(source, 0, 0)))
            continue
        except OSError as exc:
            errors.append(ConfigError(f"cannot read config file: {exc.strerror}", Location(source, 0, 0)))
            continue
        if text.startswith("\ufeff"):  # a BOM left by Windows editors
            text = text[1:]
        try:
            if path.suffix.lower() in YAML_SUFFIXES and not looks_like_logstash_syntax(text):
                part = parse_yaml(text, source, env=env)
            else:
                part = parse_text(text, source, env=env, support_escapes=support_escapes)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            partial = getattr(exc, "partial", None)
            if isinstance(partial, PipelineConfig):
                config.extend(partial)
            continue
        except ConfigError as exc:
            errors.append(exc)
            continue
        config.extend(part)
    if errors:
        failure = ConfigErrors(errors)
        failure.partial = config  # type: ignore[attr-defined]  # the parts that did parse
        raise failure
    return config
