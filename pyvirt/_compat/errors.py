"""libvirtError and the call path that produces it (see pyvirt.libvirt)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from pyvirt._compat.runtime import ErrTuple, existing_runtime, runtime
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

T = TypeVar("T")


class libvirtError(Exception):
    """libvirt-python's exception: the message and ``err`` come from the last error."""

    __module__ = "pyvirt.libvirt"

    def __init__(self, defmsg: str) -> None:
        err = virGetLastError()
        msg = defmsg if err is None else err[2]
        super().__init__(msg)
        self.err: ErrTuple | None = err

    def get_error_code(self) -> int | None:
        return None if self.err is None else self.err[0]

    def get_error_domain(self) -> int | None:
        return None if self.err is None else self.err[1]

    def get_error_message(self) -> str | None:
        return None if self.err is None else self.err[2]

    def get_error_level(self) -> int | None:
        return None if self.err is None else self.err[3]

    def get_str1(self) -> str | None:
        return None if self.err is None else self.err[4]

    def get_str2(self) -> str | None:
        return None if self.err is None else self.err[5]

    def get_str3(self) -> str | None:
        return None if self.err is None else self.err[6]

    def get_int1(self) -> int | None:
        return None if self.err is None else self.err[7]

    def get_int2(self) -> int | None:
        return None if self.err is None else self.err[8]


def fail(e: VirtError, what: str) -> libvirtError:
    runtime().raise_error(e)
    return libvirtError(f"{what}() failed")


def call(what: str, coro: Coroutine[Any, Any, T], inline: bool = False) -> T:
    """Run one API call (on the loop, or here for inline drivers); a VirtError becomes
    libvirtError like libvirt's."""
    try:
        rt = runtime()
        return rt.run_inline(coro) if inline else rt.run(coro)
    except VirtError as e:
        raise fail(e, what) from None
    except OSError as e:
        raise fail(VirtError(str(e), ErrorCode.SYSTEM_ERROR, ErrorDomain.NONE), what) from None


def virGetLastError() -> ErrTuple | None:
    rt = existing_runtime()
    return None if rt is None else rt.last_error()
