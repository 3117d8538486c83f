"""The guest CPU as it really started: libvirt's live ``<cpu check='full'>`` update.

After QEMU has created the vCPUs (still paused under ``-S``), libvirt reads which CPUID
feature bits the first vCPU really has (``qom-get feature-words``) and which the accelerator
filtered out (``filtered-features``), and rewrites a ``mode='custom'`` CPU so the live XML
states it completely: features the vCPU has beyond the named model become
``policy='require'``, features of the model (or required ones) it lacks become
``policy='disable'``, and ``check`` becomes ``full``. The CPUID bit of each feature and the
features of each model come from the CPU map (``/usr/share/libvirt/cpu_map``, see
:mod:`.cpumodel`); without a map the CPU is left as defined.

Pure apart from reading the map: the QMP replies are handed in.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, CpuMapData

if TYPE_CHECKING:
    from pyvirt.conf.domain import CPUDef

# (leaf eax, sub-leaf ecx or None, register) -> 32 feature bits
CpuidKey = tuple[int, int | None, str]


@dataclass(frozen=True, slots=True)
class CpuidFeature:
    name: str
    bits: tuple[tuple[CpuidKey, int], ...]  # every (word, mask) the feature needs


@dataclass(frozen=True, slots=True)
class CpuidMap:
    """The x86 CPU map reduced to what the live update needs."""

    features: tuple[CpuidFeature, ...]  # map order (the order libvirt adds them in)
    models: Mapping[str, frozenset[str]]

    @classmethod
    def load(cls, directory: Path = DEFAULT_CPU_MAP, model: str | None = None) -> CpuidMap | None:
        """The map's features and its models (only ``model`` when given and its file,
        ``x86_<model>.xml``, exists: a start then reads two files, not the whole map)."""
        models = _one_model(directory, model) if model is not None else None
        if models is None:
            data = CpuMapData.load(directory)
            if data is None:
                return None
            models = {m.name: m.features for m in data.models}
        try:
            root = ET.parse(directory / "x86_features.xml").getroot()
        except (OSError, ET.ParseError):
            return None
        feats: list[CpuidFeature] = []
        for f in root.findall("feature"):
            bits: list[tuple[CpuidKey, int]] = []
            for c in f.findall("cpuid"):
                ecx_in = c.get("ecx_in")
                for reg in ("eax", "ebx", "ecx", "edx"):
                    mask = c.get(reg)
                    if mask is not None and int(mask, 16):
                        key = (int(c.get("eax_in", "0"), 16), None if ecx_in is None else int(ecx_in, 16), reg)
                        bits.append((key, int(mask, 16)))
            if bits:  # MSR-only features have no CPUID word to read them from
                feats.append(CpuidFeature(f.get("name", ""), tuple(bits)))
        return cls(tuple(feats), models)


def _one_model(directory: Path, model: str) -> dict[str, frozenset[str]] | None:
    from pyvirt.drivers.qemu.cpumodel import _map_model

    try:
        root = ET.parse(directory / f"x86_{model}.xml").getroot()
    except (OSError, ET.ParseError):
        return None
    found = [_map_model(m) for m in root.findall("model") if m.get("name") == model]
    return {found[0].name: found[0].features} if found else None


def decode_words(words: Sequence[Mapping[str, Any]]) -> dict[CpuidKey, int]:
    """QEMU's ``feature-words`` / ``filtered-features`` list -> bits per CPUID word."""
    out: dict[CpuidKey, int] = {}
    for w in words:
        ecx = w.get("cpuid-input-ecx")
        key = (int(w["cpuid-input-eax"]), None if ecx is None else int(ecx), str(w["cpuid-register"]).lower())
        out[key] = out.get(key, 0) | int(w.get("features", 0))
    return out


def _has(words: Mapping[CpuidKey, int], feat: CpuidFeature) -> bool:
    return all(_word(words, key) & mask == mask for key, mask in feat.bits)


def _word(words: Mapping[CpuidKey, int], key: CpuidKey) -> int:
    if key in words:
        return words[key]
    # QEMU omits the sub-leaf for leaves that have none; the map may give ecx_in='0x00'.
    return words.get((key[0], None, key[2]), 0) if key[1] == 0 else 0


def update_live_cpu(cpu: CPUDef, cmap: CpuidMap, enabled: Sequence[Mapping[str, Any]],
                    filtered: Sequence[Mapping[str, Any]]) -> bool:
    """Rewrite ``cpu`` (mode custom) to what the vCPU really has; True if it was updated.

    Features are appended in CPU map order; an explicit feature keeps its place and only
    changes policy, as libvirt does.
    """
    from pyvirt.conf.domain import CPUFeatureDef

    if (cpu.mode or "custom") != "custom" or cpu.model is None or cpu.model not in cmap.models:
        return False
    en, dis = decode_words(enabled), decode_words(filtered)
    explicit = {f.name: f for f in cpu.features}
    wanted = set(cmap.models[cpu.model])
    for f in cpu.features:
        if f.policy in ("require", "force", None):
            wanted.add(f.name)
        elif f.policy in ("disable", "forbid"):
            wanted.discard(f.name)

    def set_policy(name: str, policy: str) -> None:
        if name in explicit:
            explicit[name].policy = policy
        else:
            explicit[name] = CPUFeatureDef(name=name, policy=policy)
            cpu.features.append(explicit[name])

    for feat in cmap.features:
        has = _has(en, feat)
        if has and feat.name not in wanted:
            set_policy(feat.name, "require")
        elif (not has and feat.name in wanted) or any(_word(dis, k) & m for k, m in feat.bits):
            set_policy(feat.name, "disable")
    cpu.check = "full"
    return True
