"""pyvirt.libvirt has every libvirt-python name the Foundation issue lists, callable with
libvirt-python's arity, and (when the real module is installed) the same signatures'
required arguments."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess

import pytest

from pyvirt import libvirt

MODULE = [
    "open", "openReadOnly", "openAuth", "registerErrorHandler", "virGetLastError",
    "virGetLastErrorCode", "virGetLastErrorDomain", "virGetLastErrorMessage",
    "virResetLastError", "virEventRegisterDefaultImpl", "virEventRunDefaultImpl",
    "virEventAddTimeout", "virEventUpdateTimeout", "virEventRemoveTimeout",
    "virEventAddHandle", "virEventUpdateHandle", "virEventRemoveHandle", "virEventRegisterImpl",
    "getVersion",
    "virInitialize", "libvirtError", "virConnect", "virDomain",
]
CONNECT = [
    "getURI", "getVersion", "getLibVersion", "getHostname", "getType", "getCapabilities",
    "getDomainCapabilities", "defineXML", "defineXMLFlags", "createXML", "lookupByName",
    "lookupByID", "lookupByUUID", "lookupByUUIDString", "listAllDomains", "listDomainsID",
    "listDefinedDomains", "numOfDomains", "numOfDefinedDomains", "getInfo", "isAlive", "close",
    "registerCloseCallback", "unregisterCloseCallback", "domainEventRegisterAny",
    "domainEventDeregisterAny", "domainEventRegister", "domainEventDeregister",
    "__enter__", "__exit__",
]
DOMAIN = [
    "name", "ID", "UUID", "UUIDString", "OSType", "XMLDesc", "info", "state", "isActive",
    "isPersistent", "create", "createWithFlags", "destroy", "destroyFlags", "shutdown",
    "shutdownFlags", "reboot", "reset", "suspend", "resume", "undefine", "undefineFlags",
    "autostart", "setAutostart", "hasManagedSaveImage", "connect",
]
ERROR = [
    "get_error_code", "get_error_domain", "get_error_message", "get_error_level", "get_str1",
    "get_str2", "get_str3", "get_int1", "get_int2",
]
CONSTANTS = [
    "VIR_DOMAIN_EVENT_ID_LIFECYCLE", "VIR_DOMAIN_EVENT_ID_REBOOT", "VIR_DOMAIN_EVENT_ID_BLOCK_JOB",
    "VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2", "VIR_DOMAIN_EVENT_ID_TRAY_CHANGE",
    "VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED", "VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE",
    "VIR_DOMAIN_RUNNING", "VIR_DOMAIN_SHUTOFF", "VIR_DOMAIN_PAUSED", "VIR_DOMAIN_START_PAUSED",
    "VIR_CONNECT_LIST_DOMAINS_ACTIVE", "VIR_CONNECT_LIST_DOMAINS_INACTIVE",
    "VIR_DOMAIN_XML_INACTIVE", "VIR_ERR_NO_DOMAIN", "VIR_FROM_QEMU", "VIR_CONNECT_RO",
    "VIR_CONNECT_CLOSE_REASON_CLIENT", "VIR_EVENT_HANDLE_READABLE",
]


def _missing(obj: object, names: list[str]) -> list[str]:
    return [n for n in names if not callable(getattr(obj, n, None))]


def test_module_functions_and_classes() -> None:
    assert _missing(libvirt, MODULE) == []


def test_virconnect_methods() -> None:
    assert _missing(libvirt.virConnect, CONNECT) == []


def test_virdomain_methods() -> None:
    assert _missing(libvirt.virDomain, DOMAIN) == []


def test_libvirterror() -> None:
    assert issubclass(libvirt.libvirtError, Exception)
    assert _missing(libvirt.libvirtError, ERROR) == []


def test_constants() -> None:
    assert [n for n in CONSTANTS if not isinstance(getattr(libvirt, n, None), int)] == []


def test_checker_can_fail() -> None:
    assert _missing(libvirt.virDomain, ["name", "noSuchMethod"]) == ["noSuchMethod"]


def _required(sig: inspect.Signature) -> int:
    return sum(1 for p in sig.parameters.values()
               if p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self")


@pytest.mark.oracle
def test_arity_matches_real_libvirt_python() -> None:
    """Positional parameters (required and total) equal libvirt-python's for every name."""
    if not shutil.which("/usr/bin/python3"):
        pytest.skip("no /usr/bin/python3")
    probe = (
        "import inspect, json, libvirt\n"
        "def sig(f):\n"
        "    ps = [p for p in inspect.signature(f).parameters.values() if p.name != 'self']\n"
        "    return [sum(p.default is inspect.Parameter.empty for p in ps), len(ps)]\n"
        f"out = {{'module': {{n: sig(getattr(libvirt, n)) for n in {MODULE[:-3]!r}}},\n"
        f"       'virConnect': {{n: sig(getattr(libvirt.virConnect, n)) for n in {CONNECT[:-2]!r}}},\n"
        f"       'virDomain': {{n: sig(getattr(libvirt.virDomain, n)) for n in {DOMAIN!r}}}}}\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(["/usr/bin/python3", "-c", probe], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        pytest.skip(f"python3-libvirt not importable: {proc.stderr.strip()[-200:]}")
    real = json.loads(proc.stdout)
    owners = {"module": libvirt, "virConnect": libvirt.virConnect, "virDomain": libvirt.virDomain}
    diffs = {}
    for owner, names in real.items():
        for name, (req, total) in names.items():
            sig = inspect.signature(getattr(owners[owner], name))
            params = [p for p in sig.parameters.values() if p.name != "self"]
            mine = [_required(sig), len(params)]
            if mine != [req, total]:
                diffs[f"{owner}.{name}"] = {"real": [req, total], "ours": mine}
    assert diffs == {}
