"""Which search engine answers: Elasticsearch 7.x/8.x or OpenSearch 1.x/2.x, from ``GET /``.

OpenSearch says so in ``version.distribution``; Elasticsearch 7.14+ sends the header
``X-Elastic-Product: Elasticsearch`` and every Elasticsearch answers ``GET /`` with the tagline
"You Know, for Search" (which OpenSearch keeps too: the distribution decides first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ProductName = Literal["elasticsearch", "opensearch"]


class UnknownProductError(ValueError):
    """The server answering ``GET /`` is neither Elasticsearch nor OpenSearch."""


@dataclass(frozen=True)
class Product:
    name: ProductName
    version: str

    @property
    def major(self) -> int:
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else 0

    @property
    def is_opensearch(self) -> bool:
        return self.name == "opensearch"

    @property
    def speaks_compatible_with_8(self) -> bool:
        """Elasticsearch 8+ takes the client's ``compatible-with=8`` media types; 7.x and OpenSearch want plain JSON."""
        return self.name == "elasticsearch" and self.major >= 8

    def __str__(self) -> str:
        label = "OpenSearch" if self.is_opensearch else "Elasticsearch"
        return f"{label} {self.version}"


def detect_product(body: Any, headers: Mapping[str, str]) -> Product:
    """The product behind a ``GET /`` answer (its JSON body and response headers)."""
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, dict):
        raise UnknownProductError(f"GET / did not answer with a version object: {str(body)[:200]!r}")
    number = str(version.get("number", ""))
    if version.get("distribution") == "opensearch":
        return Product("opensearch", number)
    elastic_header = {k.lower(): v for k, v in headers.items()}.get("x-elastic-product")
    if elastic_header == "Elasticsearch" or body.get("tagline") == "You Know, for Search":
        return Product("elasticsearch", number)
    raise UnknownProductError(f"GET / answered neither as Elasticsearch nor as OpenSearch "
                              f"(distribution={version.get('distribution')!r}, tagline={body.get('tagline')!r})")
