"""Pieces shared by pool and volume XML: sizes with units, permissions, path sanitising."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from pyvirt.conf._xml import Writer, esc
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError, XMLError

# One reusable parser; definitions come from untrusted clients (no entities, no network).
PARSER = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False,
                         no_network=True, huge_tree=False)

_SCALE: dict[str, int] = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
    "p": 1024**5, "pib": 1024**5, "pb": 1000**5,
    "e": 1024**6, "eib": 1024**6, "eb": 1000**6,
}
ULLONG_MAX = (1 << 64) - 1


def storage_error(msg: str, code: ErrorCode = ErrorCode.XML_ERROR) -> VirtError:
    return VirtError(msg, code, ErrorDomain.STORAGE)


def parse_root(xml: str, tag: str, what: str) -> etree._Element:
    try:
        root = etree.fromstring(xml.encode(), PARSER)
    except etree.XMLSyntaxError as e:
        raise syntax_error(xml, what, e) from None
    if root.tag != tag:  # reported by libvirt's generic XML layer (VIR_FROM_XML)
        raise XMLError(f"XML error: expecting root element of '{tag}', not '{root.tag}'",
                       domain=ErrorDomain.XML)
    return root


def syntax_error(xml: str, what: str, e: etree.XMLSyntaxError) -> VirtError:
    """libvirt's report of malformed XML: libxml2's message, then the offending line and a
    pointer under the column ("(storage_pool_definition):1: msg\\n<line>\\n----^")."""
    line, col = e.position
    msg = re.sub(r", line \d+, column \d+$", "", e.msg or "")
    lines = xml.splitlines()
    if 0 < line <= len(lines):
        text = lines[line - 1]
        start = max(0, col - 1 - 80)  # libvirt shows at most 80 characters before the error
        context = f"{text[start:]}\n{'-' * (col - 1 - start)}^"
    else:  # past the end of the input libvirt prints its C null string
        context = "(null)\n^"
    return VirtError(f"({what}):{line}: {msg}\n{context}", ErrorCode.XML_DETAIL,
                     ErrorDomain.STORAGE)


def scale(value: str, unit: str | None, what: str) -> int:
    """A size element: integer with an optional unit (default bytes), as virScaleInteger."""
    text = value.strip()
    if not re.fullmatch(r"[0-9]+", text):
        raise storage_error(f"XML error: malformed {what} element")
    mult = _SCALE.get((unit or "bytes").lower())
    if mult is None:
        raise VirtError(f"invalid argument: unknown suffix '{unit}'", ErrorCode.INVALID_ARG,
                        ErrorDomain.NONE)
    n = int(text) * mult
    if n > ULLONG_MAX:
        raise VirtError(f"numerical overflow: value too large: {value}", ErrorCode.OVERFLOW,
                        ErrorDomain.NONE)
    return n


def sanitize_path(path: str) -> str:
    """Collapse repeated slashes and drop trailing ones (virFileSanitizePath)."""
    out = re.sub(r"/{2,}", "/", path)
    if len(out) > 1:
        out = out.rstrip("/") or "/"
    return out


@dataclass(slots=True)
class Perms:
    """<permissions>: None means "not given" (libvirt's -1), which is not formatted."""

    mode: int | None = None
    owner: int | None = None
    group: int | None = None
    label: str | None = None

    @classmethod
    def parse(cls, el: etree._Element | None) -> Perms | None:
        if el is None:
            return None
        p = cls()
        mode = el.findtext("mode")
        if mode is not None:
            try:
                p.mode = int(mode.strip(), 8)
            except ValueError:
                p.mode = -2
            if not 0 <= p.mode <= 0o777:
                raise storage_error("XML error: malformed octal mode")
        for attr in ("owner", "group"):
            txt = el.findtext(attr)
            if txt is None:
                continue
            try:
                val = int(txt.strip(), 10)
            except ValueError:
                raise storage_error(f"XML error: malformed {attr} element") from None
            if val < -1:
                raise storage_error(f"XML error: malformed {attr} element")
            # -1 and its uid_t wrap-around both mean "unset"
            setattr(p, attr, None if val in (-1, 0xFFFFFFFF) else val)
        label = el.findtext("label")
        p.label = label if label else None
        return p

    def empty(self) -> bool:
        return self.mode is None and self.owner is None and self.group is None and not self.label

    def format(self, w: Writer, depth: int) -> None:
        if self.empty():
            return
        w.line(depth, "<permissions>")
        if self.mode is not None:
            w.line(depth + 1, f"<mode>0{self.mode:o}</mode>")
        if self.owner is not None:
            w.line(depth + 1, f"<owner>{self.owner}</owner>")
        if self.group is not None:
            w.line(depth + 1, f"<group>{self.group}</group>")
        if self.label:
            w.line(depth + 1, f"<label>{esc(self.label)}</label>")
        w.line(depth, "</permissions>")
