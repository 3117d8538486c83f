"""Small XML helpers shared by the conf models: strict attribute readers that raise libvirt's
errors, and a line writer that produces libvirt's canonical layout (2-space indentation,
single-quoted attributes, ``<x/>`` for empty elements).

Formatting is done by hand rather than through lxml's serializer: it is several times faster
for the common case and lets us reproduce libvirt's quoting exactly (``'`` -> ``&apos;``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from pyvirt.conf import _esc
from pyvirt.errors import ConfigUnsupported, ErrorCode, ErrorDomain, VirtError, XMLError

if TYPE_CHECKING:
    from enum import StrEnum

    from lxml import etree

E = TypeVar("E", bound="StrEnum")

esc = _esc.esc  # lives in _esc (importable without this module's lxml / errors); the XML layer uses it from here



def attrs(*pairs: tuple[str, object | None]) -> str:
    """`` k='v'`` for every pair whose value is not None (bools become yes/no)."""
    out = []
    for key, val in pairs:
        if val is None:
            continue
        if val is True:
            val = "yes"
        elif val is False:
            val = "no"
        out.append(f" {key}='{esc(val)}'")
    return "".join(out)


def onoff(val: bool | None) -> str | None:
    if val is None:
        return None
    return "on" if val else "off"


class Writer:
    """Accumulates indented lines; ``depth`` is in units of two spaces."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def empty(self, depth: int, tag: str, attr: str = "") -> None:
        self.lines.append(f"{'  ' * depth}<{tag}{attr}/>")

    def text(self, depth: int, tag: str, value: object, attr: str = "") -> None:
        self.lines.append(f"{'  ' * depth}<{tag}{attr}>{esc(value)}</{tag}>")

    def raw(self, depth: int, el: etree._Element) -> None:
        write_raw(self, depth, el, None)

    def getvalue(self) -> str:
        return "\n".join(self.lines) + "\n"


def _qname(el: etree._Element) -> str:
    tag = str(el.tag)
    if tag.startswith("{"):
        local = tag[1:].split("}", 1)[1]
        prefix = el.prefix
        return f"{prefix}:{local}" if prefix else local
    return tag


_ESC_DQ_ATTR = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;",
                              "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_ESC_DQ_TEXT = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "\r": "&#13;"})


def write_raw(w: Writer, depth: int, el: etree._Element,
              parent_ns: dict[str | None, str] | None, *, dquote: bool = False) -> None:
    """Re-indent an element we keep verbatim (metadata, devices we do not model).

    Namespaces already declared by ``parent_ns`` (default: the element's original parent)
    are not repeated. ``dquote`` reproduces libxml2's own dump, which libvirt uses for
    ``<metadata>`` content: double-quoted attributes and libxml2's escaping. Elements with
    mixed content are written on one line, as libxml2 does."""
    if parent_ns is None:
        parent = el.getparent()
        parent_ns = dict(parent.nsmap) if parent is not None else {}
    head, ns = _head(el, parent_ns, dquote)
    kids = _element_kids(el)
    text = el.text or ""
    if not kids:
        if text.strip():
            w.line(depth, f"<{head}>{_text(text, dquote)}</{_qname(el)}>")
        else:
            w.line(depth, f"<{head}/>")
        return
    if text.strip() or any((c.tail or "").strip() for c in kids):
        w.line(depth, _inline(el, parent_ns, dquote))
        return
    w.line(depth, f"<{head}>")
    for c in kids:
        write_raw(w, depth + 1, c, ns, dquote=dquote)
    w.line(depth, f"</{_qname(el)}>")


def _element_kids(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _text(text: str, dquote: bool) -> str:
    return text.translate(_ESC_DQ_TEXT) if dquote else esc(text)


def _head(el: etree._Element, inherited: dict[str | None, str],
          dquote: bool) -> tuple[str, dict[str | None, str]]:
    """``qname attrs`` of the start tag, and the namespaces in scope inside it."""
    ns = dict(el.nsmap)
    q = '"' if dquote else "'"

    def aesc(v: str) -> str:
        return v.translate(_ESC_DQ_ATTR) if dquote else esc(v)

    decl = "".join(
        f" xmlns{':' + p if p else ''}={q}{aesc(u)}{q}"
        for p, u in ns.items()
        if inherited.get(p) != u
    )
    parts = []
    for k, v in el.attrib.items():
        key = str(k)
        if key.startswith("{"):
            uri, local = key[1:].split("}", 1)
            pfx = next((p for p, u in ns.items() if u == uri and p), None)
            key = f"{pfx}:{local}" if pfx else local
        parts.append(f" {key}={q}{aesc(str(v))}{q}")
    return _qname(el) + decl + "".join(parts), ns


def _inline(el: etree._Element, inherited: dict[str | None, str], dquote: bool) -> str:
    head, ns = _head(el, inherited, dquote)
    kids = _element_kids(el)
    if not kids and not el.text:
        return f"<{head}/>"
    body = _text(el.text or "", dquote)
    for c in kids:
        body += _inline(c, ns, dquote) + _text(c.tail or "", dquote)
    return f"<{head}>{body}</{_qname(el)}>"


# ---- readers -------------------------------------------------------------------------------


def req(el: etree._Element, attr: str, msg: str) -> str:
    val = el.get(attr)
    if val is None:
        raise XMLError(msg)
    return val


def parse_int(val: str | None, what: str, *, base: int = 10) -> int | None:
    if val is None:
        return None
    try:
        if base == 16 or val.lower().startswith("0x"):
            return int(val, 16)
        return int(val, base)
    except ValueError:
        raise XMLError(f"XML error: Invalid value for attribute '{what}': '{val}'") from None


def parse_uint(val: str | None, what: str, *, base: int = 10) -> int | None:
    n = parse_int(val, what, base=base)
    if n is not None and n < 0:
        raise XMLError(f"XML error: Invalid value for attribute '{what}': '{val}'")
    return n


def parse_yesno(val: str | None, what: str, elem: str) -> bool | None:
    if val is None:
        return None
    if val == "yes":
        return True
    if val == "no":
        return False
    raise XMLError(f"XML error: Invalid value for attribute '{what}' in element '{elem}': '{val}'. Expected 'yes' or 'no'")


def parse_onoff(val: str | None, what: str, elem: str) -> bool | None:
    if val is None:
        return None
    if val == "on":
        return True
    if val == "off":
        return False
    raise XMLError(f"XML error: Invalid value for attribute '{what}' in element '{elem}': '{val}'. Expected 'on' or 'off'")


def bad_attr(attr: str, elem: str, val: str) -> XMLError:
    """libvirt's wording for an enum attribute with an unknown value (from the XML layer)."""
    return XMLError(f"XML error: Invalid value for attribute '{attr}' in element '{elem}': "
                    f"'{val}'.", domain=ErrorDomain.XML)


def enum_attr(cls: type[E], el: etree._Element, attr: str, default: str | None = None) -> E | None:
    val = el.get(attr, default)
    if val is None:
        return None
    try:
        return cls(val)
    except ValueError:
        raise bad_attr(attr, str(el.tag), val) from None


def parse_enum(cls: type[E], val: str | None, msg: str, *, unsupported: bool = False) -> E | None:
    """Map ``val`` to ``cls``; unknown values raise XML_ERROR or CONFIG_UNSUPPORTED with ``msg``
    (``{}`` in ``msg`` receives the value)."""
    if val is None:
        return None
    try:
        return cls(val)
    except ValueError:
        err = ConfigUnsupported if unsupported else XMLError
        raise err(msg.format(val)) from None


_UNITS: dict[str, int] = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
    "p": 1024**5, "pib": 1024**5, "pb": 1000**5,
    "e": 1024**6, "eib": 1024**6, "eb": 1000**6,
}

# libvirt stores memory sizes as unsigned long long KiB but caps them so that bytes fit.
_MAX_KIB = (1 << 63) // 1024 - 1


def scale_to_bytes(value: str, unit: str | None, what: str) -> int:
    """A size with an optional unit (default bytes) in bytes."""
    return scale_to_kib(value, unit or "B", what) * 1024 if (unit or "B").lower() not in (
        "b", "bytes") else _plain_uint(value, what)


def _plain_uint(value: str, what: str) -> int:
    try:
        num = int(value.strip(), 10)
    except ValueError:
        num = -1
    if num < 0:
        raise XMLError(f"XML error: Invalid value '{value}' for element or attribute '{what}'",
                       domain=ErrorDomain.XML)
    return num


def scale_to_kib(value: str, unit: str | None, what: str, *, default_unit: str = "KiB") -> int:
    """Scale a size with an optional unit to KiB, rounding up like libvirt's
    virDomainParseMemory."""
    text = value.strip()
    try:
        num = int(text, 10)
    except ValueError:
        raise XMLError(f"XML error: Invalid value '{value}' for element or attribute '{what}'",
                       domain=ErrorDomain.XML) from None
    if num < 0:
        raise XMLError(f"XML error: Invalid value '{value}' for element or attribute '{what}'",
                       domain=ErrorDomain.XML)
    mult = _UNITS.get((unit or default_unit).lower())
    if mult is None:
        raise VirtError(f"invalid argument: unknown suffix '{unit}'", ErrorCode.INVALID_ARG,
                        ErrorDomain.NONE)
    nbytes = num * mult
    kib = (nbytes + 1023) // 1024
    if kib > _MAX_KIB:
        raise VirtError(f"numerical overflow: value too large: {value}", ErrorCode.OVERFLOW,
                        XMLError.domain)
    return kib


def children(el: etree._Element, tag: str) -> Iterable[etree._Element]:
    return el.iterchildren(tag)


def parse_bitmap(text: str) -> set[int]:
    """A libvirt CPU list ("0-3,^2,8") -> set of ids; bad syntax raises as virBitmapParse."""
    inc: set[int] = set()
    exc: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                raise ValueError
            neg = part.startswith("^")
            if neg:
                part = part[1:]
            if "-" in part:
                lo, hi = (int(x, 10) for x in part.split("-", 1))
                if lo > hi or lo < 0:
                    raise ValueError
                ids = set(range(lo, hi + 1))
            else:
                n = int(part, 10)
                if n < 0:
                    raise ValueError
                ids = {n}
            (exc if neg else inc).update(ids)
    except ValueError:
        raise VirtError(f"invalid argument: Failed to parse bitmap '{text}'",
                        ErrorCode.INVALID_ARG, ErrorDomain.NONE) from None
    return inc - exc


def check_enum(val: str | None, allowed: Iterable[str], msg: str) -> None:
    """CONFIG_UNSUPPORTED with ``msg`` (``{}`` gets the value) unless val is allowed/None."""
    if val is not None and val not in allowed:
        raise ConfigUnsupported("unsupported configuration: " + msg.format(val))


def check_attr(val: str | None, allowed: Iterable[str], attr: str, elem: str) -> None:
    """XML_ERROR worded like libvirt's enum attribute parser unless val is allowed/None."""
    if val is not None and val not in allowed:
        raise bad_attr(attr, elem, val)
