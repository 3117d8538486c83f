"""Resource control in ``<cputune>``: ``<cachetune>`` and ``<memorytune>``.

libvirt keeps one allocation per vcpu set; a memorytune whose vcpus equal a cachetune's joins
that allocation. Vcpu sets are clipped to the vcpus the domain has (a set left empty is
dropped), caches are formatted by level, type and cache id, sizes in the largest exact unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvirt.conf._xml import (
    Writer,
    attrs,
    check_attr,
    parse_bitmap,
    parse_uint,
    scale_to_bytes,
)
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError, XMLError

if TYPE_CHECKING:
    from lxml import etree

CACHE_TYPES = ("both", "code", "data")


@dataclass(slots=True, kw_only=True)
class CacheAllocDef:
    id: int
    level: int
    type: str
    size_bytes: int


@dataclass(slots=True, kw_only=True)
class ResctrlMonitorDef:
    vcpus: set[int]
    level: int | None = None  # set: cache monitor (cachetune); None: memory bandwidth


@dataclass(slots=True, kw_only=True)
class ResctrlDef:
    vcpus: set[int]
    id: str | None = None
    caches: list[CacheAllocDef] = field(default_factory=list)
    bandwidth: dict[int, int] = field(default_factory=dict)  # NUMA node -> percent
    monitors: list[ResctrlMonitorDef] = field(default_factory=list)
    cachetune: bool = False
    memorytune: bool = False


def format_bitmap(ids: set[int]) -> str:
    """{0, 1, 3} -> "0-1,3" (virBitmapFormat)."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(ids):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [n]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


_PRETTY = (("EiB", 1 << 60), ("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30),
           ("MiB", 1 << 20), ("KiB", 1 << 10))


def _pretty(size: int) -> tuple[int, str]:
    for unit, mult in _PRETTY:
        if size and size % mult == 0:
            return size // mult, unit
    return size, "B"


def _resctrl_error(msg: str) -> XMLError:
    return XMLError(msg, domain=ErrorDomain.RESCTRL)


def parse_tune(el: etree._Element) -> ResctrlDef:
    """One ``<cachetune>`` or ``<memorytune>`` as written (clipping/merging in resolve)."""
    raw = el.get("vcpus")
    if raw is None:
        raise XMLError(f"XML error: Missing attribute 'vcpus' in element '{el.tag}'")
    r = ResctrlDef(vcpus=parse_bitmap(raw), id=el.get("id"))
    cache = el.tag == "cachetune"
    r.cachetune, r.memorytune = cache, not cache
    for c in el:
        if c.tag == "cache" and cache:
            _parse_cache(c, r)
        elif c.tag == "node" and not cache:
            node = parse_uint(c.get("id"), "id")
            bw = parse_uint(c.get("bandwidth"), "bandwidth")
            if node is None or bw is None:
                raise XMLError("XML error: Missing memory bandwidth node id or bandwidth")
            if node in r.bandwidth:
                raise _resctrl_error(f"XML error: Memory Bandwidth already defined for node {node}")
            r.bandwidth[node] = bw
        elif c.tag == "monitor":
            vc = c.get("vcpus")
            if vc is None:
                raise XMLError("XML error: Missing attribute 'vcpus' in element 'monitor'")
            r.monitors.append(ResctrlMonitorDef(vcpus=parse_bitmap(vc),
                                                level=parse_uint(c.get("level"), "level")
                                                if cache else None))
    return r


def _parse_cache(c: etree._Element, r: ResctrlDef) -> None:
    cid = parse_uint(c.get("id"), "id")
    level = parse_uint(c.get("level"), "level")
    ctype = c.get("type")
    check_attr(ctype, CACHE_TYPES, "type", "cache")
    size = c.get("size")
    if cid is None or level is None or ctype is None or size is None:
        raise XMLError("XML error: Missing attribute in cachetune <cache>")
    nbytes = scale_to_bytes(size, c.get("unit"), "size")
    for prev in r.caches:
        if prev.id == cid and prev.level == level and (
                prev.type == ctype or "both" in (prev.type, ctype)):
            raise _resctrl_error(f"XML error: Colliding cache allocations for cache level "
                                 f"'{level}' id '{cid}', type '{ctype}'")
    r.caches.append(CacheAllocDef(id=cid, level=level, type=ctype, size_bytes=nbytes))


def resolve(tunes: list[ResctrlDef], vcpu_count: int) -> list[ResctrlDef]:
    """Clip to existing vcpus, merge memorytunes into matching cachetunes, check overlaps."""
    out: list[ResctrlDef] = []
    for t in tunes:
        t.vcpus = {v for v in t.vcpus if v < vcpu_count}
        if not t.vcpus:
            continue
        for m in t.monitors:
            if not m.vcpus <= t.vcpus:
                raise VirtError("invalid argument: Monitor vcpus conflicts with allocation",
                                ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN)
        same = next((o for o in out if o.vcpus == t.vcpus), None)
        if same is not None:
            if t.cachetune and same.cachetune:
                raise XMLError("XML error: Identical vcpus in cachetunes found")
            if t.memorytune and same.memorytune:
                raise XMLError("XML error: Identical vcpus in memorytunes found")
            same.caches += t.caches
            same.bandwidth.update(t.bandwidth)
            same.monitors += t.monitors
            same.cachetune |= t.cachetune
            same.memorytune |= t.memorytune
            continue
        if any(o.vcpus & t.vcpus for o in out):
            both = t.cachetune and all(o.cachetune and not o.memorytune
                                       for o in out if o.vcpus & t.vcpus)
            raise XMLError("XML error: Overlapping vcpus in cachetunes" if both
                           else "XML error: Overlapping vcpus in resctrls")
        out.append(t)
    return out


def format_resctrl(w: Writer, depth: int, tunes: list[ResctrlDef], inactive: bool) -> None:
    for r in tunes:
        mons = [m for m in r.monitors if m.level is not None]
        if not r.cachetune or (not r.caches and not mons):
            continue
        head = "<cachetune" + attrs(("vcpus", format_bitmap(r.vcpus)),
                                    ("id", None if inactive else r.id))
        w.line(depth, head + ">")
        order = sorted(r.caches, key=lambda c: (c.level, CACHE_TYPES.index(c.type), c.id))
        for c in order:
            size, unit = _pretty(c.size_bytes)
            w.empty(depth + 1, "cache", attrs(("id", c.id), ("level", c.level), ("type", c.type),
                                              ("size", size), ("unit", unit)))
        for m in mons:
            w.empty(depth + 1, "monitor", attrs(("level", m.level),
                                                ("vcpus", format_bitmap(m.vcpus))))
        w.line(depth, "</cachetune>")
    for r in tunes:
        mons = [m for m in r.monitors if m.level is None]
        if not r.bandwidth and not mons:
            continue
        w.line(depth, "<memorytune" + attrs(("vcpus", format_bitmap(r.vcpus))) + ">")
        for node in sorted(r.bandwidth):
            w.empty(depth + 1, "node", attrs(("id", node), ("bandwidth", r.bandwidth[node])))
        for m in mons:
            w.empty(depth + 1, "monitor", attrs(("vcpus", format_bitmap(m.vcpus))))
        w.line(depth, "</memorytune>")
