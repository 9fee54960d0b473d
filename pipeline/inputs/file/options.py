"""Options of the file input, with the checks that involve several of them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.inputs._common import ecs_option
from pipeline.inputs.base import InputOptions
from pipeline.plugin import ByteSize, Duration, no_effect, option


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, kw_only=True)
class FileOptions(InputOptions):
    check_archive_validity: Any = no_effect("compressed files are not decompressed here, so there is no archive to validate")
    path: list[str] = option(doc="Absolute file paths or globs (*, ?, **, {a,b}) of the files to read.")
    exclude: list[str] = option([], "Globs of files to skip, matched on the file name (or the whole path "
                                    "when the glob contains a slash), e.g. *.gz.")
    mode: Literal["tail", "read"] = option(
        "tail", "tail: follow files as they grow (rotation-aware); read: read whole files once, then apply "
                "file_completed_action.")
    start_position: Literal["beginning", "end"] = option(
        "end", "Tail mode, first run (empty registry): read the files present at startup from the beginning, "
               "or only their new lines. Files appearing later, or while the pipeline was stopped, are always "
               "read from the beginning.")
    sincedb_path: Path | None = option(
        None, "Registry file (offsets per device+inode). Default: <path.data>/plugins/inputs/file/"
              ".sincedb_<hash of path>. /dev/null keeps nothing between runs.")
    sincedb_write_interval: Duration = option(Duration(1), "How often the registry is saved (Logstash: 15s; "
                                              "shorter here so a crash replays few lines).", check=_positive)
    stable_ids: bool = option(True, "Give each event a stable id in [@metadata][_id] (a per-file nonce kept "
                                    "in the registry + the line's offset); local_index and elasticsearch use "
                                    "it as the document id, so lines read again after a crash are not "
                                    "stored twice.")
    sincedb_clean_after: Duration = option(Duration(14 * 86400), "Forget registry entries of files not "
                                           "seen for this long (inodes get reused).", check=_positive)
    stat_interval: Duration = option(Duration(1), "Pause between checks of the files for new data, when "
                                     "nothing was read.", check=_positive)
    discover_interval: int = option(15, "Look for new files every this many stat_interval rounds.",
                                    check=_positive)
    close_older: Duration | None = option(
        Duration(3600), "Tail mode: close a file's handle when it did not change for this long; it is "
                        "reopened when it grows.")
    ignore_older: Duration | None = option(
        None, "Skip files last modified longer ago than this (tail mode: new lines are still read if the "
              "file changes later).")
    max_open_files: int = option(4095, "Most files open at once; more wait for a free slot.", check=_positive)
    delimiter: str = option("\n", "End of line marker. A CR before a \\n delimiter is removed (CRLF files).")
    file_chunk_size: ByteSize = option(ByteSize(32 * 1024), "Bytes read at a time.", check=_positive)
    file_chunk_count: int = option(32, "Chunks read from one file before moving to the next active file, so "
                                       "one busy file cannot starve the others.", check=_positive)
    max_line_bytes: ByteSize = option(ByteSize(1024 * 1024), "Longest line kept; longer lines are cut to "
                                      "this size and tagged _line_truncated.", check=_positive)
    partial_line_timeout: Duration = option(
        Duration(5), "Tail mode: a last line without delimiter is emitted when the file did not grow for this "
                     "long (read mode emits it at end of file).", check=_positive)
    file_completed_action: Literal["delete", "log", "log_and_delete"] = option(
        "delete", "Read mode: what to do with a file once fully read.")
    file_completed_log_path: Path | None = option(
        None, "Read mode: file to which the paths of completed files are appended (log actions).")
    exit_after_read: bool = option(False, "Read mode: stop the input (and the pipeline) once every file "
                                          "found is completed.")
    file_sort_by: Literal["last_modified", "path"] = option("last_modified", "Order in which files are read.")
    file_sort_direction: Literal["asc", "desc"] = option("asc", "Ascending or descending file order.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()

    def __post_init__(self) -> None:
        relative = [p for p in self.path if not os.path.isabs(p)]
        if relative:
            raise ValueError(f"path must be absolute (got {', '.join(relative)}); "
                             "write the full path, e.g. /var/log/app/*.log")
        if not self.delimiter:
            raise ValueError("delimiter must not be empty")
        if self.mode == "read" and self.file_completed_action in ("log", "log_and_delete") \
                and self.file_completed_log_path is None:
            raise ValueError(f'file_completed_action "{self.file_completed_action}" needs '
                             "file_completed_log_path")
        if self.exit_after_read and self.mode != "read":
            raise ValueError('exit_after_read works only with mode => "read"')
