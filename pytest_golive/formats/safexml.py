"""XML parsing that refuses DTDs, entity expansion and external entities."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException

from .errors import UnusableInput
from .inputs import open_input

CHUNK = 1024 * 1024
MAX_PROLOG = 16 * CHUNK  # the XML declaration and comments before the root element
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32


def parse(path: Path) -> Any:
    """The root element of ``path``, read in chunks, or UnusableInput saying why not.

    Entity attacks need a DTD, and a DTD can only come before the root element: in UTF-8
    and the other ASCII-based encodings, that prolog is checked by hand and the document
    goes to the C parser at full speed. UTF-16/32 files go through defusedxml, which
    refuses DTDs inside the parser. Input that is not XML fails at its first chunk.
    """
    with _one_line_errors(path), open_input(path) as handle:
        head = handle.read(CHUNK)
        if not head:
            raise UnusableInput(f"{path}: empty file")
        if head.startswith(_WIDE_BOMS) or b"\x00" in head[:4096]:
            handle.seek(0)
            return safe_etree.parse(handle, forbid_dtd=True).getroot()
        while root_start(head, path) is None and len(head) <= MAX_PROLOG:
            more = handle.read(CHUNK)
            if not more:
                break  # no root element: the parser says where it ends
            head += more
        if len(head) > MAX_PROLOG and root_start(head, path) is None:
            raise UnusableInput(f"{path}: no root element in the first {MAX_PROLOG // CHUNK} MiB")
        parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder())
        data = head
        while data:
            parser.feed(data)
            data = handle.read(CHUNK)
        return parser.close()


@contextlib.contextmanager
def _one_line_errors(path: Path) -> Iterator[None]:
    """Whatever reading ``path`` raises becomes one UnusableInput line naming it."""
    try:
        yield
    except ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise UnusableInput(f"{path}:{line}:{col + 1}: not well-formed XML: {reason}") from None
    except DefusedXmlException as exc:
        raise UnusableInput(f"{path}: refused: {type(exc).__name__} (DTDs and entities are not read)") from None
    except (LookupError, UnicodeError) as exc:
        raise UnusableInput(f"{path}: cannot decode: {exc}") from None
    except ValueError as exc:  # expat: "multi-byte encodings are not supported"
        raise UnusableInput(f"{path}: cannot decode: {exc}") from None
    except OSError as exc:
        raise UnusableInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise UnusableInput(f"{path}: too large to hold in memory") from None
    except RecursionError:
        raise UnusableInput(f"{path}: nested too deeply") from None


def root_start(data: bytes, path: Path) -> int | None:
    """Where the root element starts; None if ``data`` ends before; UnusableInput for a DTD."""
    at = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while at < len(data) and data[at] in b" \t\r\n":
            at += 1
        if len(data) - at < 4:
            return None
        if data.startswith(b"<?", at):
            end, skip = data.find(b"?>", at + 2), 2
        elif data.startswith(b"<!--", at):
            end, skip = data.find(b"-->", at + 4), 3
        elif data.startswith(b"<!", at):
            raise UnusableInput(f"{path}: refused: DTDForbidden (DTDs and entities are not read)")
        else:
            return at
        if end < 0:
            return None
        at = end + skip


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``: dialects are read by local name, in any namespace."""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag
