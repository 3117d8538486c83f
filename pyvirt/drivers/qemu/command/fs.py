"""Shared host directories over virtio-9p: ``-fsdev`` backend + ``virtio-9p-pci`` frontend.

``<filesystem>`` is kept as a raw element by the conf model; this reads it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.drivers.qemu.command.util import JsonProps, pci_props, qescape, qjson, virtio_opts
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

_FSDRIVERS = {None: "local", "path": "local", "handle": "handle"}


def fs_args(defn: DomainDef) -> list[str]:
    argv: list[str] = []
    for dev in defn.devices.others:
        el = dev.element
        if dev.tag != "filesystem" or el is None:
            continue
        if el.get("type", "mount") != "mount":
            raise ConfigUnsupported(f"unsupported configuration: filesystem type '{el.get('type')}' is not supported")
        drv = el.find("driver")
        dtype = drv.get("type") if drv is not None else None
        backend = _FSDRIVERS.get(dtype)
        if backend is None:
            raise ConfigUnsupported(f"unsupported configuration: filesystem driver '{dtype}' is not supported")
        src, tgt = el.find("source"), el.find("target")
        path = src.get("dir") if src is not None else None
        tag = tgt.get("dir") if tgt is not None else None
        if not path or not tag:
            raise ConfigUnsupported("unsupported configuration: filesystem needs a source and a target dir")
        fsid = f"fsdev-{dev.alias}"
        opts = [backend]
        if backend == "local":
            opts.append(f"security_model={el.get('accessmode') or 'passthrough'}")
        if drv is not None and drv.get("wrpolicy"):
            opts.append(f"writeout={drv.get('wrpolicy')}")
        if el.get("multidevs"):
            opts.append(f"multidevs={el.get('multidevs')}")
        for mode in ("fmode", "dmode"):
            if el.get(mode):  # octal permission bits, written with a leading zero
                opts.append(f"{mode}={int(str(el.get(mode)), 8):04o}")
        opts += [f"id={fsid}", f"path={qescape(path)}"]
        if el.find("readonly") is not None:
            opts.append("readonly=on")
        props: JsonProps = {"driver": "virtio-9p-pci", **virtio_opts(dev), "id": dev.alias, "fsdev": fsid, "mount_tag": tag}
        props.update(pci_props(dev.address, defn))
        argv += ["-fsdev", ",".join(opts), "-device", qjson(props)]
    return argv
