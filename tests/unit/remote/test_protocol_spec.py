"""Our hand-written procedure table against libvirt's remote_protocol.x.

Every declared procedure number, and every argument/return/message struct's field names
and wire types, must agree with the specification.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt.drivers.base import DomainRef
from pyvirt.remote import protocol as P
from pyvirt.rpc import xdr

from . import xspec

ALL = list(P.PROCEDURES.values()) + list(P.EVENTS.values())


@pytest.fixture(scope="module")
def spec() -> xspec.XSpec:
    if not xspec.REMOTE_X.is_file():
        pytest.skip(f"libvirt test data not found: {xspec.REMOTE_X}")
    return xspec.parse()


SCALARS: dict[str, Any] = {
    "int": xdr.Int,
    "unsigned int": xdr.UInt,
    "hyper": xdr.Hyper,
    "unsigned hyper": xdr.UHyper,
    "unsigned char": xdr.UChar,
    "unsigned short": xdr.UShort,
    "remote_auth_type": xdr.Int,
}


def check_field(spec: xspec.XSpec, f: xspec.XField, codec: Any, where: str) -> None:
    if f.type == "char" and not f.shape:  # a scalar char (remote_storage_vol_get_info_ret.type)
        assert codec is xdr.Char, where
        return
    if f.type == "char":
        assert isinstance(codec, xdr.CharArray), where
        assert codec.fixed == (f.shape == "fixed"), where
        return
    if f.type == "opaque" and f.shape == "var":  # opaque x<MAX> (cpumaps): bytes, not an array
        assert isinstance(codec, xdr.Opaque), where
        return
    if f.shape == "var":
        assert isinstance(codec, xdr.Array), where
        check_field(spec, xspec.XField(f.type, f.name, ""), codec.item, where + "[]")
        return
    if f.type in SCALARS:
        assert codec is SCALARS[f.type], f"{where}: {f.type}"
    elif f.type == "remote_nonnull_string":
        assert isinstance(codec, xdr.String), where
    elif f.type == "remote_string":
        assert isinstance(codec, xdr.Optional) and isinstance(codec.item, xdr.String), where
    elif f.type == "remote_uuid":
        assert isinstance(codec, xdr.FixedOpaque) and codec.n == 16, where
    elif f.type == "remote_nonnull_domain":
        assert codec is P.NonnullDomain, where
    elif f.type == "remote_domain":
        assert isinstance(codec, xdr.Optional) and codec.item is P.NonnullDomain, where
    elif f.type == "remote_typed_param_value":  # a union; its arms are tested in unit/rpc
        from pyvirt.rpc.typedparams import TYPED_PARAM_VALUE

        assert codec is TYPED_PARAM_VALUE, where
    elif f.type in spec.structs:
        check_struct(spec, f.type, codec, where)
    else:
        pytest.fail(f"{where}: spec type {f.type} not understood by this test")


def check_struct(spec: xspec.XSpec, name: str, codec: Any, where: str) -> None:
    assert name in spec.structs, f"{where}: no struct {name} in the spec"
    assert isinstance(codec, xdr.StructCodec), where
    fields = spec.structs[name]
    # a field named after a Python keyword (restore's "from") carries a trailing underscore
    assert [n.rstrip("_") for n in codec.field_names] == [f.name for f in fields], f"{where}: fields of {name}"
    for f, c in zip(fields, codec.codecs):
        check_field(spec, f, c, f"{where}.{f.name}")


@pytest.mark.parametrize("proc", ALL, ids=lambda p: p.name)
def test_procedure_matches_spec(spec: xspec.XSpec, proc: P.Procedure[Any, Any]) -> None:
    assert spec.procs.get("REMOTE_PROC_" + proc.name) == proc.number
    for struct, codec in ((proc.args_struct, proc.args), (proc.ret_struct, proc.ret)):
        if struct is None:
            assert isinstance(codec, xdr.Void)
            continue
        check_struct(spec, struct, codec, proc.name)


@pytest.mark.parametrize("proc", [p for p in P.PROCEDURES.values()], ids=lambda p: p.name)
def test_void_sides_are_void_in_spec(spec: xspec.XSpec, proc: P.Procedure[Any, Any]) -> None:
    low = "remote_" + proc.name.lower()
    if proc.args_struct is None:
        assert low + "_args" not in spec.structs, f"{proc.name} takes arguments in the spec"
    if proc.ret_struct is None:
        assert low + "_ret" not in spec.structs, f"{proc.name} returns a value in the spec"


def test_nonnull_domain_is_domainref(spec: xspec.XSpec) -> None:
    assert [f.name for f in spec.structs["remote_nonnull_domain"]] == ["name", "uuid", "id"]
    assert P.NonnullDomain.cls is DomainRef


def test_api_names() -> None:
    assert P.DOMAIN_DEFINE_XML.api == "virDomainDefineXML"
    assert P.DOMAIN_LOOKUP_BY_ID.api == "virDomainLookupByID"
    assert P.DOMAIN_DESTROY_FLAGS.api == "virDomainDestroyFlags"


def test_procedure_names_by_number(spec: xspec.XSpec) -> None:
    from pyvirt.remote.procnames import NAMES

    assert {"REMOTE_PROC_" + n: i for i, n in enumerate(NAMES) if n} == spec.procs
    for p in ALL:
        assert NAMES[p.number] == p.name
