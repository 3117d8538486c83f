"""hostinfo on fabricated /sys + /proc trees, and against `virsh nodeinfo` when the oracle runs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.hostinfo import (
    HostInfo,
    cache_banks,
    cpu_identity,
    cpu_map,
    format_cpu_list,
    hostname,
    node_info,
    parse_cpu_list,
)

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
stepping\t: 7
microcode\t: 0x5003604
cpu MHz\t\t: 2999.998
address sizes\t: 46 bits physical, 48 bits virtual
flags\t\t: fpu vme sse4_1 sse4_2 pclmulqdq xsave constant_tsc nonstop_tsc

processor\t: 1
cpu MHz\t\t: 1200.000
"""


def _w(p: Path, text: str) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def make_host(root: Path, *, nodes: dict[int, list[int]], threads: int, online: str,
              present: str, node_mem: dict[int, int]) -> HostInfo:
    """CPUs numbered per node; each core has ``threads`` siblings; one socket per node."""
    cpu, node, proc = root / "cpu", root / "node", root / "proc"
    _w(cpu / "present", present + "\n")
    _w(cpu / "online", online + "\n")
    if nodes:
        _w(node / "online", format_cpu_list(set(nodes)) + "\n")
    for n, cpus in nodes.items():
        _w(node / f"node{n}" / "cpulist", format_cpu_list(set(cpus)) + "\n")
        _w(node / f"node{n}" / "meminfo", f"Node {n} MemTotal:  {node_mem[n]} kB\n")
        _w(node / f"node{n}" / "distance", " ".join("10" if m == n else "20" for m in nodes))
        for i, c in enumerate(cpus):
            core = i // threads
            first = cpus[core * threads]
            t = root / "cpu" / f"cpu{c}" / "topology"
            _w(t / "physical_package_id", f"{n}\n")
            _w(t / "die_id", "0\n")
            _w(t / "core_id", f"{core}\n")
            _w(t / "thread_siblings_list", f"{first}-{first + threads - 1}\n")
    _w(proc / "cpuinfo", CPUINFO)
    _w(proc / "meminfo", "MemTotal:       999 kB\n")
    return HostInfo(sys_cpu=cpu, sys_node=node, proc=proc)


def test_cpu_lists() -> None:
    assert parse_cpu_list("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}
    assert format_cpu_list({0, 1, 2, 3, 8, 10, 11}) == "0-3,8,10-11"
    assert parse_cpu_list("") == frozenset()


def test_two_nodes_smt(tmp_path: Path) -> None:
    h = make_host(tmp_path, nodes={0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}, threads=2,
                  online="0-7", present="0-7", node_mem={0: 1000, 1: 2000})
    ni = h.node_info()
    assert (ni.cpus, ni.nodes, ni.sockets, ni.cores, ni.threads) == (8, 2, 1, 2, 2)
    assert ni.memory == 3000  # sum of the nodes, not /proc/meminfo
    assert ni.mhz == 2999  # truncated, first CPU
    cells = h.numa_cells()
    assert [c.id for c in cells] == [0, 1]
    assert cells[1].distances == ((0, 20), (1, 10))
    assert cells[0].cpus[1].siblings == {0, 1}


def test_offline_cpu_falls_back_to_flat_topology(tmp_path: Path) -> None:
    # With CPU 3 offline the per-node product (1 socket x 2 cores x 2 threads) != 3 online
    # CPUs, so libvirt's fallback of 1/1/cpus/1 applies.
    h = make_host(tmp_path, nodes={0: [0, 1, 2, 3]}, threads=2, online="0-2", present="0-3",
                  node_mem={0: 512})
    ni = h.node_info()
    assert (ni.cpus, ni.nodes, ni.sockets, ni.cores, ni.threads) == (3, 1, 1, 3, 1)
    m = h.cpu_map()
    assert m.total == 4 and m.present == {0, 1, 2, 3} and m.online == {0, 1, 2}
    assert [c.id for c in h.numa_cells()[0].cpus] == [0, 1, 2]


def test_no_numa_uses_meminfo(tmp_path: Path) -> None:
    h = make_host(tmp_path, nodes={}, threads=1, online="0", present="0", node_mem={})
    assert h.node_info().memory == 999
    assert h.node_info().nodes == 1


def test_cpu_identity(tmp_path: Path) -> None:
    _w(tmp_path / "cpuinfo", CPUINFO)
    ident = cpu_identity(tmp_path)
    assert ident.vendor_string == "GenuineIntel"
    assert (ident.family, ident.model, ident.stepping) == (6, 85, 7)
    assert ident.microcode == 0x5003604 and ident.phys_bits == 46
    feats = ident.libvirt_features()
    assert {"sse4.1", "sse4.2", "pclmuldq", "osxsave", "invtsc"} <= feats


def test_cache_banks(tmp_path: Path) -> None:
    for cpu in (0, 1):
        for idx, (level, typ, size) in enumerate([(1, "Data", "32K"), (3, "Unified", "16384K")]):
            d = tmp_path / f"cpu{cpu}" / "cache" / f"index{idx}"
            for name, val in (("level", level), ("type", typ), ("size", size), ("id", 0),
                              ("shared_cpu_list", "0-1" if level == 3 else str(cpu))):
                _w(d / name, f"{val}\n")
    banks = cache_banks(tmp_path)
    assert len(banks) == 1
    assert (banks[0].level, banks[0].type, banks[0].size_kib, banks[0].cpus) == (
        3, "both", 16384, frozenset({0, 1}))


@pytest.mark.oracle
def test_node_info_matches_virsh_nodeinfo() -> None:
    if shutil.which("virsh") is None:
        pytest.skip("virsh (the libvirt oracle) is not installed")
    before = node_info()  # memory may be resized while we look: accept either side
    r = subprocess.run(["virsh", "-c", "qemu:///system", "nodeinfo"], check=False,
                       capture_output=True, text=True, timeout=30)
    after = node_info()
    if r.returncode != 0:
        pytest.skip(f"libvirtd oracle not reachable: {r.stderr.strip()}")
    vals = dict(re.findall(r"^([^:]+):\s+(.*)$", r.stdout, re.MULTILINE))
    ni = before
    assert vals["CPU model"] == ni.model
    assert int(vals["CPU(s)"]) == ni.cpus
    assert vals["CPU frequency"] == f"{ni.mhz} MHz"
    assert int(vals["CPU socket(s)"]) == ni.sockets
    assert int(vals["Core(s) per socket"]) == ni.cores
    assert int(vals["Thread(s) per core"]) == ni.threads
    assert int(vals["NUMA cell(s)"]) == ni.nodes
    assert vals["Memory size"] in (f"{before.memory} KiB", f"{after.memory} KiB")


@pytest.mark.oracle
def test_cpu_map_and_hostname_match_libvirt() -> None:
    """virNodeGetCPUMap and virConnectGetHostname through python3-libvirt (system Python)."""
    probe = ("import json, libvirt; c = libvirt.open('qemu:///system'); "
             "print(json.dumps([c.getCPUMap(), c.getHostname()]))")
    try:
        r = subprocess.run(["/usr/bin/python3", "-c", probe], check=False, capture_output=True,
                           text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("/usr/bin/python3 not installed")
    if r.returncode != 0:
        pytest.skip(f"python3-libvirt / libvirtd oracle not usable: {r.stderr.strip()[-200:]}")
    (total, online_flags, n_online), name = json.loads(r.stdout)
    m = cpu_map()
    assert m.total == total
    assert {i for i, on in enumerate(online_flags) if on} == m.online
    assert len(m.online) == n_online
    assert hostname() == name
