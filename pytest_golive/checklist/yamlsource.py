"""Safe YAML loading that remembers where every key and value stands.

Values are built straight from libyaml's events rather than from PyYAML's node tree:
it is faster (tags are resolved for plain scalars only), and it bounds a document while
it is read. Aliases are expanded where they are used, so their cost is counted: a
document may hold at most MAX_VALUES values and MAX_DEPTH levels, an alias that
contains itself is named, and merge keys (``<<``) follow YAML's rule that the keys
written in a mapping override the merged ones. Every failure is a located Problem.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from .errors import ChecklistError, Location, Problem, short_repr

DocPath = tuple[str | int, ...]

#: A checklist file is read whole; beyond this it is refused before parsing.
MAX_BYTES = 8 * 1024 * 1024
#: Values (scalars, lists, mappings) one file may hold, counting every use of an alias.
MAX_VALUES = 250_000
#: How deeply lists and mappings may nest.
MAX_DEPTH = 64

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = _TAG_PREFIX + "str"
_MERGE_TAG = _TAG_PREFIX + "merge"
#: Plain ``<<`` outside a key, and plain ``=``, are just text.
_TEXT_TAGS = frozenset({_STR_TAG, _MERGE_TAG, _TAG_PREFIX + "value"})
_COLLECTION_TAGS: dict[type, frozenset[str | None]] = {
    MappingStartEvent: frozenset({None, "!", _TAG_PREFIX + "map"}),
    SequenceStartEvent: frozenset({None, "!", _TAG_PREFIX + "seq"}),
}


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


def real_path(path: Path) -> Path:
    """``path`` with its symbolic links resolved as far as they go. Unlike ``Path.resolve``
    this never raises: a symlink loop or an unusable name is reported when the file is read."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


def read_source(path: Path) -> bytes:
    """The bytes of the checklist at ``path``.

    Only a regular file is read, and only up to MAX_BYTES: a FIFO would block, a device
    such as /dev/zero never ends. The file is opened without blocking and checked by its
    open descriptor, so what is checked is what is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        _fail(path, "file not found")
    except OSError as exc:
        _fail(path, f"cannot read file: {exc.strerror or exc}")
    except ValueError:  # a NUL byte in the name
        _fail(path, "file not found")
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        _fail(path, f"cannot read file: {_file_type(mode)}, not a regular file")
    try:
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:  # an I/O error while reading
        _fail(path, f"cannot read file: {exc.strerror or exc}")
    if len(data) > MAX_BYTES:
        _fail(path, f"file too large: a checklist may be at most {MAX_BYTES // (1024 * 1024)} MiB")
    return data


def parse_yaml(path: Path, data: bytes) -> tuple[Any, SourceMap]:
    """Parse the checklist ``data`` read from ``path``; raise ChecklistError with a position on any problem."""
    source = SourceMap(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise ChecklistError([Problem(Location(path, line, col), (), "cannot read file: not UTF-8 text")]) from None
    loader = _Loader(text)
    try:
        return _Builder(loader, source).document(), source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise ChecklistError([Problem(Location(path, line, col), (), f"invalid YAML: {reason}")]) from None
    except yaml.reader.ReaderError as exc:  # libyaml counts the UTF-8 bytes of the text
        line, col = _position(text.encode("utf-8"), exc.position)
        found = f" (found U+{exc.character:04X})" if isinstance(exc.character, int) else ""
        raise ChecklistError([Problem(Location(path, line, col), (), f"invalid YAML: {exc.reason}{found}")]) from None
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ChecklistError([Problem(Location(path, 1, 1), (), f"invalid YAML: {reason}")]) from None
    finally:
        loader.dispose()


def _fail(path: Path, message: str) -> NoReturn:
    raise ChecklistError([Problem(Location(path, 1, 1), (), message)])


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset."""
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


Entry = tuple[DocPath, bool, int, int]  # (path, is a key, line, column)


@dataclass
class _Anchor:
    """A value defined with ``&name``, and its positions relative to it, for each alias to it."""

    value: Any
    entries: list[Entry]
    values: int
    depth: int


class _Frame:
    """A list or mapping being built."""

    __slots__ = ("anchor", "capture", "container", "detached", "explicit", "key", "merged", "path", "sources")

    def __init__(self, container: list[Any] | dict[str, Any], path: DocPath) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # mappings: the key whose value comes next
        self.explicit: dict[str, int] = {}  # keys written in this mapping, with their lines
        self.merged: set[str] = set()  # keys that came from a merge key
        self.anchor: str | None = None
        self.capture = -1  # where this value's positions start in the capture log, when they are kept
        self.detached = False  # part of a merge key's value: placed by the merge, not where it is written
        self.sources: list[tuple[Any, list[Entry]]] | None = None  # a merge key's list of mappings


_MERGE = "<<"
_UNSEEN = object()
_TOO_MANY_VALUES = f"more than {MAX_VALUES:,} values (an alias counts each time it is used): split the checklist"
_MERGE_VALUE = "a merge key '<<' takes a mapping or a list of mappings, such as <<: *defaults"


class _Builder:
    def __init__(self, loader: Any, source: SourceMap) -> None:
        self.loader = loader  # PyYAML's parser, whose events its type stubs do not describe
        self.source = source
        self.anchors: dict[str, _Anchor] = {}
        self.values = 0
        #: Positions recorded while an anchored value or a merge key's value is read, so that
        #: an alias or a merge can place them again under its own path.
        self.log: list[Entry] = []
        self.capturing = 0
        self.detached = 0
        self.plain: dict[str, Any] = {}  # plain scalars' values (immutable: text, numbers, dates) by text

    def document(self) -> Any:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            return None
        loader.get_event()  # document start
        value = self._root()
        loader.get_event()  # document end
        if not loader.check_event(StreamEndEvent):
            self._fail(loader.get_event(), "expected one YAML document, found a second one (remove the '---')")
        return value

    def _root(self) -> Any:
        get_event: Callable[[], Any] = self.loader.get_event
        stack: list[_Frame] = []
        while True:
            event = get_event()
            kind = type(event)
            entries: list[Entry] = []
            sources = None
            if kind is MappingEndEvent or kind is SequenceEndEvent:
                done = stack.pop()
                value, entries, sources = done.container, self._close(done), done.sources
                if not stack:
                    return value
                self._add(stack[-1], value, entries, sources, event)
                continue
            parent = stack[-1] if stack else None
            if parent is not None and parent.key is None and isinstance(parent.container, dict):
                self._key(parent, event)
                continue
            path = _child_path(parent) if parent is not None else ()
            merging = parent is not None and (parent.key == _MERGE or parent.sources is not None)
            if kind is ScalarEvent:
                if merging:
                    self._fail(event, _MERGE_VALUE)
                value = self._scalar(event)
                self._mark(path, False, *_line_col(event), event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = _Anchor(value, [], 1, 0)
            elif kind is AliasEvent:
                anchor = self._anchored(event, path, stack)
                value, entries = anchor.value, anchor.entries
                if not merging:  # a merge places the anchor's keys itself
                    self._expand(path, anchor, event)
            else:
                stack.append(self._open(event, path, parent, merging))
                continue
            if parent is None:
                return value
            self._add(parent, value, entries, sources, event)

    def _open(self, event: Any, path: DocPath, parent: _Frame | None, merging: bool) -> _Frame:
        kind = type(event)
        if event.tag not in _COLLECTION_TAGS[kind]:
            self._fail(event, f"unsupported tag {_short_tag(event.tag)}: a checklist is plain YAML")
        if len(path) >= MAX_DEPTH:
            self._fail(event, f"nested deeper than {MAX_DEPTH} levels")
        frame = _Frame({} if kind is MappingStartEvent else [], path)
        if merging:
            if kind is SequenceStartEvent:
                if parent is None or parent.sources is not None:
                    self._fail(event, _MERGE_VALUE)
                frame.sources = []
            frame.detached = True
            self.detached += 1
        self._mark(path, False, *_line_col(event), event)
        if event.anchor is not None:
            self.anchors.pop(event.anchor, None)  # until it is complete, an alias to it is recursive
            frame.anchor = event.anchor
        if frame.anchor is not None or (merging and frame.sources is None):
            frame.capture = len(self.log)
            self.capturing += 1
        return frame

    def _close(self, frame: _Frame) -> list[Entry]:
        """The positions of the finished value relative to it, when they were kept."""
        entries: list[Entry] = []
        if frame.capture >= 0:
            cut = len(frame.path)
            entries = [(path[cut:], is_key, line, col) for path, is_key, line, col in self.log[frame.capture :]]
            self.capturing -= 1
            if not self.capturing:
                self.log.clear()
        if frame.detached:
            self.detached -= 1
        if frame.anchor is not None:
            depth = max((len(rel) for rel, _, _, _ in entries), default=0)
            values = 1 + sum(1 for _, is_key, _, _ in entries if not is_key)
            self.anchors[frame.anchor] = _Anchor(frame.container, entries, values, depth)
        return entries

    def _key(self, frame: _Frame, event: Any) -> None:
        if type(event) is ScalarEvent:
            plain_merge = event.tag is None and event.implicit[0] and event.value == _MERGE
            key = _MERGE if plain_merge else _key_text(self._scalar(event))
        else:
            anchor = self.anchors.get(str(event.anchor)) if type(event) is AliasEvent else None
            if anchor is None or isinstance(anchor.value, (dict, list)):
                self._fail(event, "expected a plain key, got a nested structure")
            key = _key_text(anchor.value)
        line, col = _line_col(event)
        if key in frame.explicit:
            self._fail(event, f"duplicate key {key!r} (first defined on line {frame.explicit[key]})")
        frame.explicit[key] = line
        frame.key = key
        if key != _MERGE:
            self._mark((*frame.path, key), True, line, col)

    def _add(
        self,
        frame: _Frame,
        value: Any,
        entries: list[Entry],
        sources: list[tuple[Any, list[Entry]]] | None,
        event: Any,
    ) -> None:
        container = frame.container
        if isinstance(container, list):
            if frame.sources is not None:  # one mapping of a merge key's list
                if not isinstance(value, dict):
                    self._fail(event, _MERGE_VALUE)
                frame.sources.append((value, entries))
            container.append(value)
            return
        key = frame.key
        assert key is not None
        frame.key = None
        if key != _MERGE:
            frame.merged.discard(key)  # a key written in the mapping overrides a merged one
            container[key] = value
            return
        if sources is None:  # an alias: to one mapping, or to a list of them
            sources = [(value, entries)] if isinstance(value, dict) else _split(value, entries)
        if not sources or not all(isinstance(mapping, dict) for mapping, _ in sources):
            self._fail(event, _MERGE_VALUE)
        self._merge(frame, sources, event)

    def _merge(self, frame: _Frame, sources: list[tuple[Any, list[Entry]]], event: Any) -> None:
        """YAML's merge: keys the mapping does not write itself, the first mapping that has one winning."""
        container = frame.container
        assert isinstance(container, dict)
        for mapping, entries in sources:
            by_key: dict[Any, list[Entry]] = {}
            for entry in entries:
                if entry[0]:
                    by_key.setdefault(entry[0][0], []).append(entry)
            for key, item in mapping.items():
                if key in frame.explicit or key in frame.merged:
                    continue
                container[key] = item
                frame.merged.add(key)
                for rel, is_key, line, col in by_key.get(key, ()):
                    self._mark((*frame.path, *rel), is_key, line, col, event)

    def _anchored(self, event: Any, path: DocPath, stack: list[_Frame]) -> _Anchor:
        name = event.anchor
        anchor = self.anchors.get(name)
        if anchor is None:
            if any(frame.anchor == name for frame in stack):
                self._fail(event, f"recursive alias *{name}: it refers to a value that contains it")
            self._fail(event, f"undefined alias *{name}: no value is anchored as &{name} before it")
        if len(path) + anchor.depth > MAX_DEPTH:
            self._fail(event, f"nested deeper than {MAX_DEPTH} levels (through the alias *{name})")
        if self.values + anchor.values > MAX_VALUES:
            self._fail(event, _TOO_MANY_VALUES)
        return anchor

    def _expand(self, path: DocPath, anchor: _Anchor, event: Any) -> None:
        """An alias places the anchored value's positions under its own path."""
        self._mark(path, False, *_line_col(event), event)
        for rel, is_key, line, col in anchor.entries:
            self._mark((*path, *rel), is_key, line, col, event)

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value  # quoted: always text
            known = self.plain.get(event.value, _UNSEEN)
            if known is _UNSEEN:  # a plain scalar's value depends on its text alone: build each text once
                known = self.plain[event.value] = self._typed(
                    event, self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                )
            return known
        return self._typed(event, tag)

    def _typed(self, event: Any, tag: str) -> Any:
        if tag in _TEXT_TAGS:
            return event.value
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None:
            self._fail(event, f"unsupported tag {_short_tag(tag)}: a checklist is plain YAML")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return constructor(self.loader, node)
        except Exception:  # PyYAML's constructors fail in many ways (!!timestamp x: AttributeError)
            self._fail(event, f"invalid {_short_tag(tag)} value {short_repr(event.value, 40)}")

    def _mark(self, path: DocPath, is_key: bool, line: int, col: int, event: Any = None) -> None:
        if not is_key:
            self.values += 1
            if self.values > MAX_VALUES:
                self._fail(event, _TOO_MANY_VALUES)
        if not self.detached:
            (self.source.keys if is_key else self.source.values)[path] = (line, col)
        if self.capturing:
            self.log.append((path, is_key, line, col))

    def _fail(self, event: Any, message: str) -> NoReturn:
        line, col = _line_col(event) if event is not None else (1, 1)
        raise ChecklistError([Problem(Location(self.source.path, line, col), (), message)])


def _split(value: Any, entries: list[Entry]) -> list[tuple[Any, list[Entry]]]:
    """An anchored list of mappings as merge sources, each with its own positions."""
    if not isinstance(value, list):
        return []
    return [
        (item, [(rel[1:], is_key, line, col) for rel, is_key, line, col in entries if rel[:1] == (index,)])
        for index, item in enumerate(value)
    ]


def _child_path(frame: _Frame) -> DocPath:
    container = frame.container
    if isinstance(container, list):
        return (*frame.path, len(container))
    assert frame.key is not None
    return (*frame.path, frame.key)


def _line_col(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return mark.line + 1, mark.column + 1


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    return str(key).lower() if isinstance(key, bool) else str(key)


def _short_tag(tag: str) -> str:
    return tag.replace(_TAG_PREFIX, "!!")
