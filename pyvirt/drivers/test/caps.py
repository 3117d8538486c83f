"""Host capabilities XML of a test node, generated from its topology.

The layout follows what libvirt 9.0's test driver reports for test:///default: one NUMA
cell per node, CPUs numbered across cells, the second cell with twice the memory and 8 KiB
base pages, and two i686 guests (hvm and xen) on the pretend emulator /usr/bin/test-hv.
"""

from __future__ import annotations

from pyvirt.drivers.base import NodeInfo


def capabilities_xml(info: NodeInfo) -> str:
    out = [("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n"
           "      <features>\n        <pae/>\n        <nonpae/>\n      </features>\n")]
    for size in (4, 8, 2048, 1048576):
        out.append(f"      <pages unit='KiB' size='{size}'/>\n")
    out.append("    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n"
               "    <topology>\n")
    cells = max(info.nodes, 1)
    per_cell = max(info.cpus // cells, 1) if info.cpus >= cells else 1
    out.append(f"      <cells num='{cells}'>\n")
    cpu_id = 0
    for cell in range(cells):
        base_page = 4 if cell % 2 == 0 else 8
        mem = 2097152 * (cell + 1)
        out.append(f"        <cell id='{cell}'>\n"
                   f"          <memory unit='KiB'>{mem}</memory>\n"
                   f"          <pages unit='KiB' size='{base_page}'>{mem // base_page}</pages>\n"
                   "          <pages unit='KiB' size='2048'>0</pages>\n"
                   "          <pages unit='KiB' size='1048576'>0</pages>\n"
                   f"          <cpus num='{per_cell}'>\n")
        for core in range(per_cell):
            out.append(f"            <cpu id='{cpu_id}' socket_id='{cell}' die_id='0' "
                       f"core_id='{core}' siblings='{cpu_id}'/>\n")
            cpu_id += 1
        out.append("          </cpus>\n        </cell>\n")
    out.append("      </cells>\n    </topology>\n    <secmodel>\n"
               "      <model>testSecurity</model>\n      <doi></doi>\n    </secmodel>\n"
               "  </host>\n\n")
    for os_type in ("hvm", "xen"):
        out.append(f"  <guest>\n    <os_type>{os_type}</os_type>\n    <arch name='i686'>\n"
                   "      <wordsize>32</wordsize>\n      <emulator>/usr/bin/test-hv</emulator>\n"
                   "      <domain type='test'/>\n    </arch>\n    <features>\n      <pae/>\n"
                   "      <nonpae/>\n    </features>\n  </guest>\n\n")
    out.append("</capabilities>\n")
    return "".join(out)
