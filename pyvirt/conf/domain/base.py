"""What every device has: the info block (boot order, ACPI index, alias, address) and the
children we keep verbatim because the model does not cover them yet."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.conf._xml import Writer, attrs, parse_int, write_raw
from pyvirt.conf.domain.address import AddressDef, format_address, parse_address
from pyvirt.errors import ErrorDomain, XMLError

if TYPE_CHECKING:
    from lxml import etree


@dataclass(slots=True, kw_only=True)
class DeviceDef:
    alias: str | None = None
    address: AddressDef | None = None
    boot_order: int | None = None
    acpi_index: int | None = None
    # Child elements the model does not know, kept verbatim and re-emitted in libvirt's
    # canonical position (see emit_extras).
    extra: list[etree._Element] = field(default_factory=list)


def is_user_alias(alias: str | None) -> bool:
    return alias is not None and alias.startswith("ua-")


def parse_info(child: etree._Element, dev: DeviceDef) -> bool:
    """Consume ``child`` if it belongs to the device info block; True when consumed."""
    tag = child.tag
    if tag == "alias":
        dev.alias = child.get("name")
    elif tag == "address":
        dev.address = parse_address(child)
    elif tag == "boot":
        raw = child.get("order")
        order = parse_int(raw, "order")
        if order == 0:
            raise XMLError("XML error: Invalid value for attribute 'order' in element 'boot': "
                           "Zero is not permitted", domain=ErrorDomain.XML)
        if order is None or order < 0:
            raise XMLError(f"XML error: Invalid value for attribute 'order' in element 'boot': "
                           f"'{raw}'. Expected non-negative integer value",
                           domain=ErrorDomain.XML)
        dev.boot_order = order
    elif tag == "acpi":
        dev.acpi_index = parse_int(child.get("index"), "index")
    else:
        return False
    return True


def format_info(w: Writer, depth: int, dev: DeviceDef, inactive: bool) -> None:
    if dev.boot_order is not None:
        w.empty(depth, "boot", attrs(("order", dev.boot_order)))
    if dev.acpi_index is not None:
        w.empty(depth, "acpi", attrs(("index", dev.acpi_index)))
    if dev.alias is not None and (not inactive or is_user_alias(dev.alias)):
        w.empty(depth, "alias", attrs(("name", dev.alias)))
    if dev.address is not None:
        format_address(w, depth, dev.address)


def emit_extras(w: Writer, depth: int, extra: list[etree._Element],
                tags: Collection[str] | None = None) -> None:
    """Emit the kept children whose tag is in ``tags`` (all of them when None)."""
    for el in extra:
        if tags is None or el.tag in tags:
            write_raw(w, depth, el, None)
