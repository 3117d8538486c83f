"""libvirt's post-parse defaults for the richer test-driver domains (node files).

Only what libvirt's test driver shows for the example node files (testnode.xml and its
domains): the full generic defaults belong to the domain model, pyvirt.conf.domain. These
steps run for the test driver only; real drivers apply their own (QEMU's default video
model, for one, is not cirrus).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

# virDomainFeature order, which is the order libvirt formats <features> children in.
_FEATURE_ORDER = ("acpi", "apic", "pae", "hap", "viridian", "privnet", "hyperv", "kvm",
                  "pvspinlock", "capabilities", "pmu", "vmport", "gic", "smm", "ioapic", "htm",
                  "nested-hv", "msrs", "ccf-assist", "xen", "cfpc", "sbbo", "ibs", "tcg",
                  "async-teardown")
_OS_ORDER = ("type", "firmware", "loader", "nvram", "kernel", "initrd", "cmdline", "dtb",
             "root", "acpi", "boot", "bootmenu", "smbios", "bios")
_BLKIO_DEVICE_ORDER = ("path", "weight", "read_iops_sec", "write_iops_sec", "read_bytes_sec",
                       "write_bytes_sec")


def _order(el: ET.Element, order: tuple[str, ...]) -> None:
    index = {n: i for i, n in enumerate(order)}
    el[:] = sorted(el, key=lambda c: index.get(c.tag, len(order)))


def apply_test_defaults(root: ET.Element) -> None:
    os_el = root.find("os")
    if os_el is not None:
        _order(os_el, _OS_ORDER)
        loader = os_el.find("loader")
        if loader is not None and "type" not in loader.attrib:
            loader.set("type", "rom")
    features = root.find("features")
    if features is not None:
        _order(features, _FEATURE_ORDER)
    for dev in root.findall("blkiotune/device"):
        _order(dev, _BLKIO_DEVICE_ORDER)
    cpu = root.find("cpu")
    if cpu is not None and cpu.find("model") is not None and cpu.get("mode", "custom") == "custom":
        cpu.attrib = {"mode": "custom", "match": cpu.get("match", "exact"),
                      **{k: v for k, v in cpu.attrib.items() if k not in ("mode", "match")}}
        model = cpu.find("model")
        assert model is not None
        if "fallback" not in model.attrib:
            model.set("fallback", "allow")
    devices = root.find("devices")
    if devices is not None:
        _devices(devices)


def _devices(devices: ET.Element) -> None:
    graphics = devices.findall("graphics")
    for g in graphics:
        if g.get("type") == "vnc" and "port" in g.attrib and "autoport" not in g.attrib:
            g.set("autoport", "yes" if g.get("port") == "-1" else "no")
        if g.get("type") in ("vnc", "spice") and g.find("listen") is None:
            listen = {"type": "address"}
            if g.get("listen"):
                listen["address"] = g.get("listen", "")
            ET.SubElement(g, "listen", listen)
    if graphics and devices.find("video") is None:
        # A guest with a display gets a video card; the test driver's default is cirrus.
        video = ET.SubElement(devices, "video")
        ET.SubElement(video, "model", {"type": "cirrus", "vram": "16384", "heads": "1",
                                       "primary": "yes"})
    for console in devices.findall("console"):
        if "type" not in console.attrib:
            console.attrib = {"type": "pty"}
        if console.find("target") is None:
            ET.SubElement(console, "target", {"type": "serial", "port": "0"})
