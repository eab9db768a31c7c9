"""Safe YAML loading that remembers where every key and value stands.

PyYAML's composer keeps marks on nodes; we build plain Python values from the
node tree ourselves so that each value's position can be looked up by its path
in the document, and duplicate keys are reported instead of silently merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ChecklistError, Location, Problem

DocPath = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(_BaseLoader):  # type: ignore[valid-type, misc]
    """A private subclass: nothing global in PyYAML is changed."""


@dataclass
class SourceMap:
    """Positions of every node (value) and every mapping key, by document path."""

    path: Path
    values: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[DocPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, doc_path: DocPath, *, key: bool = False) -> Location:
        """The closest known position of ``doc_path`` (walking up to its parents)."""
        table = self.keys if key else self.values
        probe = doc_path
        while probe:
            if probe in table:
                return Location(self.path, *table[probe])
            if probe in self.values:
                return Location(self.path, *self.values[probe])
            probe = probe[:-1]
        return Location(self.path, *self.values.get((), (1, 1)))

    def problem(self, doc_path: DocPath, message: str, *, key: bool = False) -> Problem:
        return Problem(self.locate(doc_path, key=key), doc_path, message)

    def to_json(self) -> dict[str, list[list[Any]]]:
        return {
            "values": [[*position, *path] for path, position in self.values.items()],
            "keys": [[*position, *path] for path, position in self.keys.items()],
        }

    @classmethod
    def from_json(cls, path: Path, data: dict[str, list[list[Any]]]) -> SourceMap:
        return cls(
            path,
            values={tuple(row[2:]): (row[0], row[1]) for row in data["values"]},
            keys={tuple(row[2:]): (row[0], row[1]) for row in data["keys"]},
        )


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Parse ``path`` safely; raise ChecklistError with a position on any problem."""
    source = SourceMap(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChecklistError([Problem(Location(path, 1, 1), (), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ChecklistError([Problem(Location(path, 1, 1), (), f"cannot read file: {reason}")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, source
        builder = _Builder(loader, source)
        return builder.build(node, ()), source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise ChecklistError([Problem(Location(path, line, col), (), f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise ChecklistError([Problem(Location(path, 1, 1), (), f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source

    def build(self, node: yaml.Node, doc_path: DocPath) -> Any:
        mark = node.start_mark
        self.source.values[doc_path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, doc_path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*doc_path, i)) for i, child in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        """Strings, the bulk of any checklist, skip PyYAML's generic construction."""
        if node.tag == _STR_TAG:
            return node.value
        constructor = self.loader.yaml_constructors.get(node.tag)
        if constructor is None:  # an unknown !tag: let PyYAML raise its located error
            return self.loader.construct_object(node, deep=True)
        return constructor(self.loader, node)

    def _mapping(self, node: yaml.MappingNode, doc_path: DocPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_mark = key_node.start_mark
            where = Location(self.source.path, key_mark.line + 1, key_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode):
                raise ChecklistError([Problem(where, doc_path, "expected a plain key, got a nested structure")])
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child_path = (*doc_path, key)
            if key in result:
                first = self.source.keys[child_path][0]
                raise ChecklistError(
                    [Problem(where, doc_path, f"duplicate key {key!r} (first defined on line {first})")]
                )
            self.source.keys[child_path] = (where.line, where.col)
            result[key] = self.build(value_node, child_path)
        return result
