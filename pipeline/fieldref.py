"""Field references: ``[a][b]``, bare ``a``, list index ``[a][0]``.

Parsed strictly once (and cached), like Logstash's FieldReference. A reference
is a tuple of path segments; a segment that is an integer literal indexes a
list when the value at that point is a list, and is a plain key otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pipeline.errors import FieldReferenceError

_MISSING = object()


class FieldRef:
    """A parsed field reference with fast get/set/delete on nested dicts."""

    __slots__ = ("path", "text", "_last", "_parents")

    def __init__(self, text: str, path: tuple[str, ...]) -> None:
        self.text = text
        self.path = path
        self._last = path[-1]
        self._parents = path[:-1]

    def __repr__(self) -> str:
        return f"FieldRef({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldRef) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def canonical(self) -> str:
        """The ``[a][b]`` form of this reference."""
        return "".join(f"[{p}]" for p in self.path)

    def get(self, data: dict[str, Any], default: Any = None) -> Any:
        node: Any = data
        for key in self.path:
            node = _step(node, key)
            if node is _MISSING:
                return default
        return node

    def includes(self, data: dict[str, Any]) -> bool:
        node: Any = data
        for key in self.path:
            node = _step(node, key)
            if node is _MISSING:
                return False
        return True

    def set(self, data: dict[str, Any], value: Any) -> None:
        node: Any = data
        for key in self._parents:
            nxt = _step(node, key)
            if nxt is _MISSING or not isinstance(nxt, (dict, list)):
                if isinstance(node, list):
                    raise TypeError(f"cannot set {self.text}: list index {key} out of range")
                nxt = {}
                node[key] = nxt
            node = nxt
        last = self._last
        if isinstance(node, list):
            index = _as_index(last)
            if index is None:
                raise TypeError(f"cannot set {self.text}: {last!r} is not a list index")
            if -len(node) <= index < len(node):
                node[index] = value
            elif index == len(node):
                node.append(value)
            else:
                raise TypeError(f"cannot set {self.text}: list index {index} out of range")
        else:
            node[last] = value

    def delete(self, data: dict[str, Any]) -> Any:
        """Remove the field and return its value (``None`` when absent)."""
        node: Any = data
        for key in self._parents:
            node = _step(node, key)
            if node is _MISSING:
                return None
        if isinstance(node, dict):
            return node.pop(self._last, None)
        if isinstance(node, list):
            index = _as_index(self._last)
            if index is not None and -len(node) <= index < len(node):
                return node.pop(index)
        return None


def _as_index(key: str) -> int | None:
    try:
        return int(key)
    except ValueError:
        return None


def _step(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key, _MISSING)
    if isinstance(node, list):
        index = _as_index(key)
        if index is not None and -len(node) <= index < len(node):
            return node[index]
    return _MISSING


def container(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The dict that holds ``path[-1]``, creating (or replacing non-dict) parents on the way."""
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    return node


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set a nested key given as a tuple of names (no list indexing)."""
    container(data, path)[path[-1]] = value


def _strict_tokens(text: str) -> list[str] | None:
    """Logstash's strict tokenizer: ``[a][b]`` -> [a, b]; an embedded reference that fills a whole
    segment flattens (``[[a][b]]`` and ``[x][[a][b]]`` are ``[a][b]`` and ``[x][a][b]``, as Logstash
    reads them); anything ambiguous (``a[b]``, ``[a]b``, ``[]``, unbalanced) is None."""
    path: list[str] = []
    depth = split = 0
    previous = ""
    for i, char in enumerate(text):
        if char == "[":
            if split != i:
                return None
            depth += 1
            split = i + 1
        elif char == "]":
            if depth <= 0 or (split == i and previous != "]"):
                return None
            if split < i:
                path.append(text[split:i])
            depth -= 1
            split = i + 1
        elif previous == "]":
            return None
        previous = char
    return path if depth == 0 and path else None


@lru_cache(maxsize=8192)
def parse(text: str) -> FieldRef:
    """Parse a field reference; raises FieldReferenceError when malformed."""
    if not isinstance(text, str) or text == "":
        raise FieldReferenceError(f"invalid field reference {text!r}: empty")
    if "[" not in text and "]" not in text:
        return FieldRef(text, (text,))
    path = _strict_tokens(text)
    if path is None:
        raise FieldReferenceError(
            f"invalid field reference {text!r}: expected a bare name like 'a' "
            "or bracketed segments like '[a][b]'"
        )
    return FieldRef(text, tuple(path))

