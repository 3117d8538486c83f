"""XDR (RFC 4506) codec, the encoding of libvirt's remote protocol.

A codec is an object with ``pack(out, value)`` appending to a ``bytearray`` and
``unpack(buf, off) -> (value, new_off)``. Composite codecs (structs, arrays, optionals,
unions) are built once at import time from declarations; at run time they only call
precompiled ``struct.Struct`` methods, so no per-field reflection happens on the hot path.

Decoding never trusts lengths: a length that runs past the buffer, above the declared
maximum, or non-zero padding raises :class:`XdrError` (VIR_ERR_RPC), which the server turns
into libvirt's "Unable to decode message payload" reply.
"""

from __future__ import annotations

# struct.py only re-exports the C module _struct: importing that saves a module load on
# every client start-up (a one-shot pyvirsh through pyvirtd counts each).
import _struct as struct

# typing (with re, ~4 ms), enum and pyvirt.errors stay off this module's import: every
# client loads it, including one-shot ones (pyvirsh list through pyvirtd) where those were
# a third of the run. Generics are for the type checker only; XdrError loads when raised.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from enum import IntEnum
    from struct import error as _StructError  # typeshed's _struct leaves it out
    from typing import Any, Generic, Protocol, TypeVar

    from pyvirt.rpc.wireerrors import XdrError as XdrError  # noqa: PLC0414 (re-export)

    T = TypeVar("T")
    E = TypeVar("E", bound=IntEnum)

    Packer = Callable[[bytearray, T], None]
else:

    class Generic:
        """Run-time stand-in for typing.Generic/Protocol: ``Codec[int]`` is ``Codec``."""

        __slots__ = ()

        def __class_getitem__(cls, params):
            return cls

    Protocol = Generic
    T = E = None
    _StructError = struct.error

    def __getattr__(name):
        # xdr.XdrError, as before the class moved out (see pyvirt.rpc.wireerrors)
        if name == "XdrError":
            from pyvirt.rpc.wireerrors import XdrError

            return XdrError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Buffer = bytes | bytearray | memoryview


def _error(message: str) -> XdrError:
    from pyvirt.rpc.wireerrors import XdrError

    return XdrError(message)


class Codec(Protocol[T]):
    def pack(self, out: bytearray, v: T) -> None: ...

    def unpack(self, buf: Buffer, off: int) -> tuple[T, int]: ...


_I = struct.Struct(">i")
_U = struct.Struct(">I")
_H = struct.Struct(">q")
_UH = struct.Struct(">Q")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")


def _short(off: int, need: int, have: int) -> XdrError:
    return _error(f"XDR data truncated: need {need} bytes at offset {off}, have {have - off}")


class _Scalar(Generic[T]):
    """A 4- or 8-byte number, with range checking done by struct on pack."""

    __slots__ = ("_n", "_s", "name")

    def __init__(self, s: struct.Struct, name: str) -> None:
        self._s = s
        self._n = s.size
        self.name = name

    def pack(self, out: bytearray, v: T) -> None:
        try:
            out += self._s.pack(v)
        except _StructError as e:
            raise _error(f"cannot encode {v!r} as XDR {self.name}: {e}") from None

    def unpack(self, buf: Buffer, off: int) -> tuple[T, int]:
        end = off + self._n
        if end > len(buf):
            raise _short(off, self._n, len(buf))
        return self._s.unpack_from(buf, off)[0], end


Int: _Scalar[int] = _Scalar(_I, "int")
UInt: _Scalar[int] = _Scalar(_U, "unsigned int")
Hyper: _Scalar[int] = _Scalar(_H, "hyper")
UHyper: _Scalar[int] = _Scalar(_UH, "unsigned hyper")
# XDR widens char/short to 4 bytes; libvirt's "unsigned char state" etc. are ints on the wire.
Char = Int
UChar = UInt
Short = Int
UShort = UInt


class _Bool:
    __slots__ = ()

    def pack(self, out: bytearray, v: bool) -> None:
        out += b"\0\0\0\1" if v else b"\0\0\0\0"

    def unpack(self, buf: Buffer, off: int) -> tuple[bool, int]:
        v, off = Int.unpack(buf, off)
        if v not in (0, 1):
            raise _error(f"invalid XDR bool {v}")
        return v == 1, off


Bool = _Bool()


class EnumCodec(Generic[E]):
    """An XDR enum; unknown values are rejected, as XDR requires."""

    __slots__ = ("_cls",)

    def __init__(self, cls: type[E]) -> None:
        self._cls = cls

    def pack(self, out: bytearray, v: E) -> None:
        out += _I.pack(int(v))

    def unpack(self, buf: Buffer, off: int) -> tuple[E, int]:
        v, off = Int.unpack(buf, off)
        try:
            return self._cls(v), off
        except ValueError:
            raise _error(f"invalid value {v} for XDR enum {self._cls.__name__}") from None


class FixedOpaque:
    __slots__ = ("_padded", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self._padded = n + (-n % 4)

    def pack(self, out: bytearray, v: bytes) -> None:
        if len(v) != self.n:
            raise _error(f"fixed opaque needs {self.n} bytes, got {len(v)}")
        out += v
        out += _PAD[self.n % 4]

    def unpack(self, buf: Buffer, off: int) -> tuple[bytes, int]:
        end = off + self._padded
        if end > len(buf):
            raise _short(off, self._padded, len(buf))
        return bytes(buf[off : off + self.n]), end


class Opaque:
    """Variable-length opaque<max>."""

    __slots__ = ("max",)

    def __init__(self, max: int = 0xFFFFFFFF) -> None:
        self.max = max

    def pack(self, out: bytearray, v: bytes) -> None:
        n = len(v)
        if n > self.max:
            raise _error(f"opaque of {n} bytes exceeds maximum {self.max}")
        out += _U.pack(n)
        out += v
        out += _PAD[n % 4]

    def unpack(self, buf: Buffer, off: int) -> tuple[bytes, int]:
        if off + 4 > len(buf):
            raise _short(off, 4, len(buf))
        (n,) = _U.unpack_from(buf, off)
        if n > self.max:
            raise _error(f"opaque length {n} exceeds maximum {self.max}")
        start = off + 4
        end = start + n + (-n % 4)
        if end > len(buf):
            raise _short(start, n, len(buf))
        return bytes(buf[start : start + n]), end


class String:
    """string<max>, UTF-8. libvirt strings are C strings, so embedded NULs are refused."""

    __slots__ = ("max",)

    def __init__(self, max: int = 0xFFFFFFFF) -> None:
        self.max = max

    def pack(self, out: bytearray, v: str) -> None:
        b = v.encode()
        n = len(b)
        if n > self.max:
            raise _error(f"string of {n} bytes exceeds maximum {self.max}")
        out += _U.pack(n)
        out += b
        out += _PAD[n % 4]

    def unpack(self, buf: Buffer, off: int) -> tuple[str, int]:
        if off + 4 > len(buf):
            raise _short(off, 4, len(buf))
        (n,) = _U.unpack_from(buf, off)
        if n > self.max:
            raise _error(f"string length {n} exceeds maximum {self.max}")
        start = off + 4
        end = start + n + (-n % 4)
        if end > len(buf):
            raise _short(start, n, len(buf))
        try:
            return bytes(buf[start : start + n]).decode(), end
        except UnicodeDecodeError:
            raise _error("string is not valid UTF-8") from None


class Array(Generic[T]):
    """Variable-length array T<max>."""

    __slots__ = ("item", "max")

    def __init__(self, item: Codec[T], max: int = 0xFFFFFFFF) -> None:
        self.item = item
        self.max = max

    def pack(self, out: bytearray, v: Sequence[T]) -> None:
        n = len(v)
        if n > self.max:
            raise _error(f"array of {n} items exceeds maximum {self.max}")
        out += _U.pack(n)
        p = self.item.pack
        for x in v:
            p(out, x)

    def unpack(self, buf: Buffer, off: int) -> tuple[list[T], int]:
        if off + 4 > len(buf):
            raise _short(off, 4, len(buf))
        (n,) = _U.unpack_from(buf, off)
        if n > self.max:
            raise _error(f"array length {n} exceeds maximum {self.max}")
        # Every XDR item takes at least 4 bytes: reject absurd counts before looping.
        if off + 4 + 4 * n > len(buf):
            raise _short(off + 4, 4 * n, len(buf))
        off += 4
        u = self.item.unpack
        out: list[T] = []
        for _ in range(n):
            x, off = u(buf, off)
            out.append(x)
        return out, off


class FixedArray(Generic[T]):
    """T[n]."""

    __slots__ = ("item", "n")

    def __init__(self, item: Codec[T], n: int) -> None:
        self.item = item
        self.n = n

    def pack(self, out: bytearray, v: Sequence[T]) -> None:
        if len(v) != self.n:
            raise _error(f"fixed array needs {self.n} items, got {len(v)}")
        for x in v:
            self.item.pack(out, x)

    def unpack(self, buf: Buffer, off: int) -> tuple[list[T], int]:
        out: list[T] = []
        for _ in range(self.n):
            x, off = self.item.unpack(buf, off)
            out.append(x)
        return out, off


class CharArray:
    """libvirt's ``char name[N]`` / ``char name<N>``: one 4-byte XDR int per character.

    Presented as ``str``. libvirt sends C strings: a fixed array is NUL-padded, and a
    variable one carries the terminating NUL (``"testSecurity"`` is 13 chars on the wire),
    so pack adds it and unpack stops at the first NUL.
    """

    __slots__ = ("fixed", "n")

    def __init__(self, n: int, fixed: bool) -> None:
        self.n = n
        self.fixed = fixed

    def pack(self, out: bytearray, v: str) -> None:
        b = v.encode()
        if self.fixed:
            b = b[: self.n].ljust(self.n, b"\0")
        else:
            b += b"\0"
            if len(b) > self.n:
                raise _error(f"char array of {len(b)} exceeds maximum {self.n}")
            out += _U.pack(len(b))
        out += struct.pack(f">{len(b)}i", *[c - 256 if c > 127 else c for c in b])

    def unpack(self, buf: Buffer, off: int) -> tuple[str, int]:
        if self.fixed:
            n = self.n
        else:
            n, off = UInt.unpack(buf, off)
            if n > self.n:
                raise _error(f"char array length {n} exceeds maximum {self.n}")
        end = off + 4 * n
        if end > len(buf):
            raise _short(off, 4 * n, len(buf))
        raw = bytes(c & 0xFF for c in struct.unpack_from(f">{n}i", buf, off))
        return raw.split(b"\0", 1)[0].decode(errors="replace"), end


class Optional(Generic[T]):
    """XDR optional-data ``T *x``: a bool then, if true, the value."""

    __slots__ = ("item",)

    def __init__(self, item: Codec[T]) -> None:
        self.item = item

    def pack(self, out: bytearray, v: T | None) -> None:
        if v is None:
            out += b"\0\0\0\0"
        else:
            out += b"\0\0\0\1"
            self.item.pack(out, v)

    def unpack(self, buf: Buffer, off: int) -> tuple[T | None, int]:
        present, off = Bool.unpack(buf, off)
        if not present:
            return None, off
        return self.item.unpack(buf, off)


class Void:
    """The empty payload (``void`` args or returns)."""

    __slots__ = ()

    def pack(self, out: bytearray, v: None) -> None:
        return None

    def unpack(self, buf: Buffer, off: int) -> tuple[None, int]:
        return None, off


VOID = Void()


class StructCodec(Generic[T]):
    """A struct mapped onto a record class (NamedTuple or dataclass) whose fields are
    declared in wire order; ``codecs`` gives one codec per field, in the same order."""

    __slots__ = ("_codecs", "_names", "_packers", "_unpackers", "cls")

    def __init__(self, cls: type[T], codecs: Sequence[Codec[Any]]) -> None:
        # NamedTuple records (cheap to declare: protocol modules define dozens) or dataclasses
        fields = getattr(cls, "_fields", None)
        if fields is None and not hasattr(cls, "__dataclass_fields__"):
            fields = getattr(cls, "__match_args__", None)  # hand-written records (drivers.refs)
        if fields is None:
            from dataclasses import fields as dc_fields  # only here: one-shot clients skip it

            fields = [f.name for f in dc_fields(cls)]  # type: ignore[arg-type]
        names = list(fields)
        if len(names) != len(codecs):
            raise TypeError(f"{cls.__name__}: {len(names)} fields but {len(codecs)} codecs")
        self.cls = cls
        self._names = tuple(names)
        self._codecs = tuple(codecs)
        self._packers = tuple(c.pack for c in codecs)
        self._unpackers = tuple(c.unpack for c in codecs)

    @property
    def field_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def codecs(self) -> tuple[Codec[Any], ...]:
        return self._codecs

    def pack(self, out: bytearray, v: T) -> None:
        for name, p in zip(self._names, self._packers):
            p(out, getattr(v, name))

    def unpack(self, buf: Buffer, off: int) -> tuple[T, int]:
        vals = []
        for u in self._unpackers:
            x, off = u(buf, off)
            vals.append(x)
        return self.cls(*vals), off


class Union(Generic[T]):
    """A discriminated union: int discriminant -> arm codec (``None`` arm = void)."""

    __slots__ = ("arms", "default")

    def __init__(self, arms: dict[int, Codec[Any] | None], default: Codec[Any] | None = None) -> None:
        self.arms = arms
        self.default = default

    def _arm(self, d: int) -> Codec[Any] | None:
        if d in self.arms:
            return self.arms[d]
        if self.default is not None:
            return self.default
        raise _error(f"invalid union discriminant {d}")

    def pack(self, out: bytearray, v: tuple[int, Any]) -> None:
        d, val = v
        arm = self._arm(d)
        out += _I.pack(d)
        if arm is not None:
            arm.pack(out, val)

    def unpack(self, buf: Buffer, off: int) -> tuple[tuple[int, Any], int]:
        d, off = Int.unpack(buf, off)
        arm = self._arm(d)
        if arm is None:
            return (d, None), off
        val, off = arm.unpack(buf, off)
        return (d, val), off


def encode(codec: Codec[T], v: T) -> bytes:
    out = bytearray()
    codec.pack(out, v)
    return bytes(out)


def decode(codec: Codec[T], buf: Buffer, *, exact: bool = True) -> T:
    """Decode one value; with ``exact`` trailing bytes are ignored like libvirt does not.

    libvirt's server accepts trailing bytes in a call (xdr_free-style decoding stops at the
    struct's end), so the dispatcher passes ``exact=False``; tests use the strict default.
    """
    v, off = codec.unpack(buf, 0)
    if exact and off != len(buf):
        raise _error(f"{len(buf) - off} trailing bytes after XDR value")
    return v


def struct_codec(cls: type[T], *codecs: Codec[Any]) -> StructCodec[T]:
    return StructCodec(cls, codecs)

