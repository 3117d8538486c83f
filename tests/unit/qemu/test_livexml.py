"""Pure parts of the live XML: facts from QMP replies written into the runtime model."""

from __future__ import annotations

import socket
from pathlib import Path

from pyvirt.conf.domain import format_domain, parse_domain
from pyvirt.drivers.qemu.livexml import (
    LiveFacts,
    assign_vnc_ports,
    live_xml,
    with_channel_state,
    with_channel_states,
)

LIVE = """<domain type='qemu' id='3'>
  <name>lx</name>
  <uuid>5d7e3a52-8f0c-4d5e-9b1a-2c3d4e5f6a79</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>98304</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
      <alias name='channel0'/>
      <address type='virtio-serial' controller='0' bus='0' port='1'/>
    </channel>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address'/>
    </graphics>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
    </memballoon>
  </devices>
</domain>
"""

CHARDEVS = [{"label": "charserial0", "filename": "pty:/dev/pts/7", "frontend-open": True},
            {"label": "charchannel0", "filename": "unix:/x", "frontend-open": False}]


def test_live_xml_fills_ptys_channel_balloon_and_seclabel(tmp_path: Path) -> None:
    m = parse_domain(LIVE)
    out = live_xml(m, LiveFacts(chardevs=CHARDEVS, balloon_bytes=128 << 20), tmp_path, None)
    assert "<console type='pty' tty='/dev/pts/7'>" in out and "<source path='/dev/pts/7'/>" in out
    assert f"<source mode='bind' path='{tmp_path}/org.qemu.guest_agent.0'/>" in out
    assert "name='org.qemu.guest_agent.0' state='disconnected'/>" in out
    assert "<currentMemory unit='KiB'>131072</currentMemory>" in out  # the balloon's real size
    assert "<seclabel type='dynamic' model='dac' relabel='yes'>" in out


def test_channel_state_follows_the_guest() -> None:
    changed = with_channel_state(LIVE, "channel0", True)
    assert changed is not None
    xml, target = changed
    assert target == "org.qemu.guest_agent.0" and "state='connected'" in xml
    assert with_channel_state(LIVE, "channel9", True) is None
    # reattach: refresh from query-chardev; no rewrite when nothing changed
    assert with_channel_states(xml, CHARDEVS) is not None
    assert with_channel_states(xml, [{"label": "charchannel0", "frontend-open": True}]) is None


def test_vnc_autoport_takes_the_first_free_port_and_the_default_listen() -> None:
    m = parse_domain(LIVE)
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = 5900
        while True:  # hold the first free port: the allocator must skip it
            try:
                busy.bind(("127.0.0.1", port))
                break
            except OSError:
                port += 1
        busy.listen()
        assign_vnc_ports(m)
        g = m.devices.graphics[0]
        assert g.port is not None and g.port > port and g.autoport
        assert g.listens[0].address == "127.0.0.1"
    assert f"port='{g.port}' autoport='yes' listen='127.0.0.1'" in format_domain(m)
