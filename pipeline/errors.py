"""The exception tree of the pipeline.

    PipelineError                  base of everything we raise on purpose
    ├── ConfigError                one problem in a config, with its location
    │   └── ConfigErrors           several ConfigError collected at once (exit code 78)
    ├── FieldReferenceError        a malformed field reference such as ``[a]b`` (a ConfigError)
    ├── TemplateError              a malformed sprintf template (a ConfigError)
    ├── PluginError                a plugin failed at run time (register, I/O ...)
    ├── UsageError                 command-line options that do not go together (exit code 2)
    └── QueueClosedError           push to a queue that is stopping
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CONFIG_ERROR_EXIT_CODE = 78  # EX_CONFIG from sysexits.h, as Vector and Logstash-like tools use


@dataclass(frozen=True)
class Location:
    """Where a config element comes from; ``line``/``col`` are 1-based."""

    file: str = "<config>"
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(PipelineError):
    """One config problem: ``file:line:col: <kind> <plugin> (id=...): message``."""

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        kind: str = "",
        plugin: str = "",
        plugin_id: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.kind = kind
        self.plugin = plugin
        self.plugin_id = plugin_id
        super().__init__(self.render())

    def render(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        who = " ".join(part for part in (self.kind, self.plugin) if part)
        if who and self.plugin_id:
            who += f" (id={self.plugin_id})"
        return f"{prefix}{who + ': ' if who else ''}{self.message}"

    def at(self, location: Location | None, kind: str = "", plugin: str = "",
           plugin_id: str | None = None) -> ConfigError:
        """A copy of this error placed at ``location`` (keeps what is already known)."""
        return ConfigError(
            self.message,
            self.location or location,
            self.kind or kind,
            self.plugin or plugin,
            self.plugin_id or plugin_id,
        )


class ConfigErrors(ConfigError):
    """Several config errors reported together."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        PipelineError.__init__(self, "\n".join(e.render() for e in self.errors))
        self.message = str(self)
        self.location = None
        self.kind = self.plugin = ""
        self.plugin_id = None

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)


class FieldReferenceError(ConfigError):
    """A malformed field reference such as ``[a]b`` or ``[]``."""


class TemplateError(ConfigError):
    """A malformed sprintf template."""


class PluginError(PipelineError):
    """A plugin failed at run time (registration, I/O)."""


class UsageError(PipelineError):
    """Command-line options that do not go together; ``pipeline`` exits with code 2, as argparse does."""


class QueueClosedError(PipelineError):
    """The queue is closed; the pipeline is stopping."""
