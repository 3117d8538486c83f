"""The live <cpu> update from a vCPU's CPUID words (libvirt's check='full' rewrite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt.conf.domain import CPUDef, CPUFeatureDef
from pyvirt.drivers.qemu.livecpu import CpuidFeature, CpuidMap, decode_words, update_live_cpu

LEAF1, EXT1 = 1, 0x80000001


def word(eax: int, reg: str, bits: int, ecx: int | None = None) -> dict[str, object]:
    w: dict[str, object] = {"cpuid-input-eax": eax, "cpuid-register": reg.upper(), "features": bits}
    if ecx is not None:
        w["cpuid-input-ecx"] = ecx
    return w


# A toy map: model "m" has fpu and sse3; hypervisor and lahf_lm are extra features.
TOY = CpuidMap(
    features=(
        CpuidFeature("fpu", (((LEAF1, None, "edx"), 1 << 0),)),
        CpuidFeature("sse3", (((LEAF1, None, "ecx"), 1 << 0),)),
        CpuidFeature("hypervisor", (((LEAF1, None, "ecx"), 1 << 31),)),
        CpuidFeature("lahf_lm", (((EXT1, None, "ecx"), 1 << 0),)),
        CpuidFeature("avx2", (((7, 0, "ebx"), 1 << 5),)),
    ),
    models={"m": frozenset({"fpu", "sse3"})},
)


def cpu(*features: tuple[str, str]) -> CPUDef:
    return CPUDef(mode="custom", match="exact", check="none", model="m",
                  features=[CPUFeatureDef(name=n, policy=p) for n, p in features])


def test_extra_features_become_required_in_map_order() -> None:
    c = cpu()
    enabled = [word(LEAF1, "edx", 1), word(LEAF1, "ecx", 1 | 1 << 31), word(EXT1, "ecx", 1)]
    assert update_live_cpu(c, TOY, enabled, [])
    assert [(f.name, f.policy) for f in c.features] == [("hypervisor", "require"), ("lahf_lm", "require")]
    assert c.check == "full"


def test_missing_model_feature_is_disabled_and_explicit_feature_keeps_its_place() -> None:
    c = cpu(("avx2", "require"))
    enabled = [word(LEAF1, "edx", 1), word(LEAF1, "ecx", 0)]  # no sse3, no avx2
    filtered = [word(7, "ebx", 1 << 5, ecx=0)]  # the accelerator filtered avx2 out
    update_live_cpu(c, TOY, enabled, filtered)
    assert [(f.name, f.policy) for f in c.features] == [("avx2", "disable"), ("sse3", "disable")]


def test_subleaf_zero_matches_a_word_without_subleaf() -> None:
    """The map names leaf 7 sub-leaf 0; a reply may give the word without a sub-leaf."""
    no_subleaf = word(7, "ebx", 1 << 5)
    assert (7, None, "ebx") in decode_words([no_subleaf])
    c = cpu()
    update_live_cpu(c, TOY, [word(LEAF1, "edx", 1), word(LEAF1, "ecx", 1), no_subleaf], [])
    assert [(f.name, f.policy) for f in c.features] == [("avx2", "require")]


def test_other_modes_and_unknown_models_are_left_alone() -> None:
    for c in (CPUDef(mode="host-passthrough"), CPUDef(mode="custom", model="nope")):
        assert not update_live_cpu(c, TOY, [word(LEAF1, "ecx", 1 << 31)], [])
        assert c.features == [] and c.check is None


# feature-words of a q35 qemu64 vCPU under TCG, QEMU 7.2 (recorded on this project's machine):
# libvirtd 9.0 shows hypervisor and lahf_lm as required beyond qemu64.
QEMU64_TCG = [word(0x80000001, "ecx", 5), word(0x80000001, "edx", 563346429),
              word(1, "ecx", 2147491841), word(1, "edx", 126614525), word(7, "ebx", 0, ecx=0)]


def test_installed_cpu_map_gives_libvirts_answer_for_qemu64() -> None:
    cmap = CpuidMap.load()
    if cmap is None:
        pytest.skip("no libvirt CPU map installed (/usr/share/libvirt/cpu_map)")
    c = CPUDef(mode="custom", match="exact", check="none", model="qemu64", model_fallback="forbid")
    assert update_live_cpu(c, cmap, QEMU64_TCG, [])
    assert [(f.name, f.policy) for f in c.features] == [("hypervisor", "require"), ("lahf_lm", "require")]


def test_missing_map_loads_as_none(tmp_path: Path) -> None:
    assert CpuidMap.load(tmp_path) is None


def test_loading_one_model_reads_the_same_facts_as_the_whole_map() -> None:
    full = CpuidMap.load()
    if full is None:
        pytest.skip("no libvirt CPU map installed (/usr/share/libvirt/cpu_map)")
    for name in ("qemu64", "Nehalem", "EPYC"):
        one = CpuidMap.load(model=name)
        assert one is not None and dict(one.models) == {name: full.models[name]}
        assert one.features == full.features
    fallback = CpuidMap.load(model="no-such-model")  # no file of its own: the whole map
    assert fallback is not None and set(fallback.models) == set(full.models)
