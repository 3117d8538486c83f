"""The base of TestDriver's per-concern mixins (snapshots, vCPUs, block stats): what they
use of TestDriver, declared once, and the test driver's error constructor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.base import DomainRef
    from pyvirt.drivers.test.node import TestDomainObj, TestNode


def driver_error(code: ErrorCode, msg: str, domain: ErrorDomain = ErrorDomain.TEST) -> VirtError:
    """An error as libvirt's test driver raises it (VIR_FROM_TEST unless said otherwise)."""
    return VirtError(msg, code, domain)


class TestDriverMixin:
    """TestDriver provides these; a mixin is never used on its own (the stubs raise)."""

    __test__ = False  # not a pytest test class despite the name

    if TYPE_CHECKING:

        @property
        def node(self) -> TestNode: ...

    def _obj(self, dom: DomainRef) -> TestDomainObj:
        raise NotImplementedError

    def _rw(self, api: str) -> None:
        raise NotImplementedError
