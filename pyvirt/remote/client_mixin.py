"""The base of RemoteDriver's per-family mixins (network, snapshot, storage, vCPU, block
jobs, screenshot): what they use of RemoteDriver, declared once for the type checker.
Nothing of it exists at run time; RemoteDriver (remote/client.py) provides the methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pyvirt.drivers.base import ByteStream
    from pyvirt.remote import protocol as P

R = TypeVar("R")


class RemoteMixin:
    if TYPE_CHECKING:  # provided by RemoteDriver

        async def _call(self, proc: P.Procedure[Any, R], args: Any = None) -> R: ...

        async def _call_stream(self, proc: P.Procedure[Any, Any], args: Any) -> tuple[bytes, ByteStream]: ...
