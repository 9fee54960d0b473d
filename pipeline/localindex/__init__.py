"""The embedded local index: daily SQLite files under ``<path.data>/index`` and their queries.

    from pipeline.localindex import LocalIndex
    idx = LocalIndex(path_data / "index")
    idx.write("logs-2026.11.21", events)
    idx.count("logs-*", "level:ERROR AND NOT tags:_grokparsefailure", start=..., end=...)
"""

from pipeline.localindex.query import QueryError
from pipeline.localindex.store import LANGUAGES, IndexInfo, LocalIndex, parse_query_text, to_query

__all__ = ["LANGUAGES", "IndexInfo", "LocalIndex", "QueryError", "parse_query_text", "to_query"]
