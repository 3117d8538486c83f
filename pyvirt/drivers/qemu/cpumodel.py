"""x86 CPU model facts for domain capabilities: vendors of QEMU's models and host-model.

host-model is "the named model closest to what QEMU would give the guest, plus/minus
features". Which features a named model has is not in QEMU's introspection answers that
libvirt records, so the model table comes from a CPU map directory in libvirt's data format
(``index.xml`` + ``x86_*.xml``; the installed one is ``/usr/share/libvirt/cpu_map``). When
no map is available host-model is reported unsupported rather than guessed.

Selection rule (libvirt's documented behaviour, checked against its golden files and the
installed libvirtd): consider every map model QEMU also offers whose vendor matches (or
that has no vendor), newest first; see :func:`decode`. Features are listed in the map's
feature order, the required ones first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyvirt.drivers.qemu.caps import AccelCaps

DEFAULT_CPU_MAP = Path("/usr/share/libvirt/cpu_map")

# Vendors of QEMU's built-in x86 models (target/i386 model definitions); models not listed
# here and not generic are Intel's.
_AMD = frozenset({"phenom", "athlon", "Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4",
                  "Opteron_G5", "EPYC", "EPYC-IBPB", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa"})
_HYGON = frozenset({"Dhyana"})
_GENERIC = frozenset({"qemu64", "qemu32", "kvm64", "kvm32", "pentium", "pentium2", "pentium3",
                      "pentiumpro", "486", "cpu64-rhel5", "cpu64-rhel6"})

_VENDOR_STRINGS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}

# QEMU property names whose libvirt feature name differs by more than '-' vs '_'.
_RENAMES = {"pclmulqdq": "pclmuldq", "sse4-1": "sse4.1", "sse4-2": "sse4.2"}


def cpu_vendor(model: str) -> str:
    """Vendor attribute of <mode name='custom'><model>: Intel, AMD, Hygon or unknown."""
    if model in _GENERIC:
        return "unknown"
    if model in _AMD:
        return "AMD"
    if model in _HYGON:
        return "Hygon"
    return "Intel"


@dataclass(frozen=True, slots=True)
class MapModel:
    name: str
    vendor: str | None
    features: frozenset[str]
    signatures: tuple[tuple[int, int], ...]  # (family, model)
    decode_host: bool


@dataclass(frozen=True, slots=True)
class CpuMapData:
    features: tuple[str, ...]  # in map order
    models: tuple[MapModel, ...]  # in index order

    @classmethod
    def load(cls, directory: Path) -> CpuMapData | None:
        """Read the x86 part of a CPU map directory; None when absent or unreadable."""
        try:
            index = ET.parse(directory / "index.xml").getroot()
        except (OSError, ET.ParseError):
            return None
        arch = index.find("arch[@name='x86']")
        if arch is None:
            return None
        features: list[str] = []
        models: list[MapModel] = []
        for inc in arch.findall("include"):
            try:
                root = ET.parse(directory / inc.get("filename", "")).getroot()
            except (OSError, ET.ParseError):
                return None
            features += [f.get("name", "") for f in root.findall("feature")]
            for m in root.findall("model"):
                models.append(_map_model(m))
        return cls(tuple(features), tuple(models))


def _map_model(m: ET.Element) -> MapModel:
    v = m.find("vendor")
    dec = m.find("decode")
    sigs = tuple(
        (int(s.get("family", "0")), int(s.get("model", "0"))) for s in m.findall("signature")
    )
    # Features flagged removed='yes' left QEMU's definition of the model; they are not
    # part of what the model gives a guest today.
    feats = frozenset(
        f.get("name", "") for f in m.findall("feature") if f.get("removed") != "yes"
    )
    return MapModel(
        name=m.get("name", ""),
        vendor=v.get("name") if v is not None else None,
        features=feats,
        signatures=sigs,
        decode_host=dec is None or dec.get("host") != "off",
    )


@dataclass(frozen=True, slots=True)
class HostModel:
    model: str
    vendor: str | None
    require: tuple[str, ...]
    disable: tuple[str, ...]


def _libvirt_feature(name: str, known: set[str]) -> str | None:
    for cand in (_RENAMES.get(name, name), name.replace("-", "_")):
        if cand in known:
            return cand
    return None


def _score(req: set[str], dis: set[str], guest: bool) -> tuple[int, int]:
    """(total, disabled) cost of a description listing ``req`` then ``dis``; lower is better.

    For guest CPUs each disabled feature costs more than the previous one (2, 3, 4, ...).
    libvirt 9.0 counts them in a walk whose end moves down by one for every disabled
    feature it meets, so trailing disabled features can go uncounted; we reproduce that
    count exactly because it decides which model libvirt reports.
    """
    if not guest:
        return len(req) + len(dis), 0
    n_req = len(req)
    end = n_req + len(dis)
    disabled = 0
    penalty = 2
    i = n_req  # the walk only finds disabled features once past the required ones
    while i < end:
        end -= 1
        disabled += penalty
        penalty += 1
        i += 1
    return end + disabled, disabled


def decode(
    data: CpuMapData,
    host: set[str],
    vendor: str | None,
    sig: tuple[int, int] | None,
    offered: Mapping[str, set[str]] | None = None,
    guest: bool = True,
) -> tuple[MapModel, set[str], set[str]] | None:
    """Pick the map model that describes ``host`` best: (model, to require, to disable).

    ``offered`` limits candidates to the models the emulator knows, each with the features
    it cannot provide (its blockers, disabled too). ``guest=False`` is the host CPU rule: a
    host CPU description never disables anything, so the model must be a subset of the
    host's features. Newest models are tried first and a later candidate must be strictly
    better; a model whose signature matches the CPU's beats any that does not.
    """
    best: tuple[MapModel, set[str], set[str]] | None = None
    for m in reversed(data.models):
        if not m.decode_host or (offered is not None and m.name not in offered):
            continue
        if m.vendor is not None and vendor is not None and m.vendor != vendor:
            continue
        req = host - m.features
        dis = set(m.features - host)
        if offered is not None:
            dis |= {b for b in offered[m.name] if b not in host}
        if dis and not guest:
            continue
        if best is None:
            best = (m, req, dis)
            continue
        if sig is not None:
            b_sig, m_sig = sig in best[0].signatures, sig in m.signatures
            if b_sig and not m_sig:
                continue
            if m_sig and not b_sig:
                best = (m, req, dis)
                continue
        cand, cur = _score(req, dis, guest), _score(best[1], best[2], guest)
        if cand[0] < cur[0] or (cand[0] == cur[0] and cand[1] < cur[1]):
            best = (m, req, dis)
    return best


def host_model(ac: AccelCaps, cpu_map: Path = DEFAULT_CPU_MAP) -> HostModel | None:
    """host-model for these per-accelerator caps, or None when it cannot be computed."""
    if not ac.host_cpu_props:
        return None
    data = CpuMapData.load(cpu_map)
    if data is None:
        return None
    known = set(data.features)

    def translate(names: Iterable[str]) -> set[str]:
        return {lf for n in names if (lf := _libvirt_feature(n, known)) is not None}

    on = [k for k, v in ac.host_cpu_props.items() if v is True]
    host = translate([*on, *ac.host_cpu_nonmigratable])
    vendor_str = ac.host_cpu_props.get("vendor")
    vendor = _VENDOR_STRINGS.get(vendor_str) if isinstance(vendor_str, str) else None
    fam, mod = ac.host_cpu_props.get("family"), ac.host_cpu_props.get("model")
    sig = (fam, mod) if isinstance(fam, int) and isinstance(mod, int) else None
    offered = {m.name: translate(m.blockers) for m in ac.cpu_models}
    best = decode(data, host, vendor, sig, offered=offered)
    if best is None:
        return None
    order = {f: i for i, f in enumerate(data.features)}
    m, req, dis = best
    return HostModel(
        model=m.name,
        vendor=vendor,
        require=tuple(sorted(req, key=order.__getitem__)),
        disable=tuple(sorted(dis, key=order.__getitem__)),
    )


def vendor_name(cpuid_vendor: str) -> str | None:
    """libvirt's vendor name for a CPUID vendor string (GenuineIntel -> Intel)."""
    return _VENDOR_STRINGS.get(cpuid_vendor)
