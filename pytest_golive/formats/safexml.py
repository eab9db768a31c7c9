"""XML parsing that refuses DTDs, entity expansion and external entities."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException

from .errors import UnusableInput

_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32: a byte search would not see "<!DOCTYPE"


def parse(path: Path) -> Any:
    """An ElementTree of ``path``, or UnusableInput saying why not.

    Entity attacks (billion laughs, external entities) need a DTD. For UTF-8 files a
    byte search for ``<!DOCTYPE`` finds any, so those are parsed by the C parser at
    full speed; anything else (UTF-16, NUL bytes) goes through defusedxml.
    """
    try:
        data = path.read_bytes()
        if not data:
            raise UnusableInput(f"{path}: empty file")
        if data.startswith(_WIDE_BOMS) or b"\x00" in data[:4096]:
            return safe_etree.parse(str(path), forbid_dtd=True)
        if b"<!DOCTYPE" in data:
            raise UnusableInput(f"{path}: refused: DTDForbidden (DTDs and entities are not read)")
        return ElementTree.ElementTree(ElementTree.fromstring(data))
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnusableInput(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise UnusableInput(f"{path}: cannot read: {exc.strerror}") from None
    except DefusedXmlException as exc:
        raise UnusableInput(f"{path}: refused: {type(exc).__name__} (DTDs and entities are not read)") from None
    except ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise UnusableInput(f"{path}:{line}:{col + 1}: not well-formed XML: {reason}") from None


def expand(patterns: Iterable[str]) -> Iterator[Path]:
    """Paths and globs; a glob that matches nothing is an error, never silently nothing."""
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
            if not matches:
                raise UnusableInput(f"no file matches {pattern!r}")
            yield from (Path(match) for match in matches)
        else:
            yield Path(pattern)
