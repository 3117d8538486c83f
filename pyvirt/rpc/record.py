"""Wire records: immutable tuples with named fields, typed as ``typing.NamedTuple``.

The remote protocol's structs (``remote_*_args``/``_ret``, the packet header, the error
record) are declared as NamedTuple-style classes. ``typing.NamedTuple`` itself costs an
import of ``typing`` (which imports ``re``, ~4 ms) and ~0.1 ms per class, which a one-shot
client such as ``pyvirsh list`` through pyvirtd pays on every run for records it barely
uses. :class:`Record` builds the same thing cheaply: the field names come from the class
annotations (never evaluated), each field is a read-only property over the tuple slot.

Declare records as::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple as Record  # what type checkers see
    else:
        from pyvirt.rpc.record import Record  # what runs

    class OpenArgs(Record):
        name: str | None
        flags: int

so that mypy checks every construction and access exactly as for a NamedTuple, and the
runtime behaves as one (positional/keyword construction, defaults, equality with tuples,
unpacking, ``_fields``, ``_replace``, ``_asdict``, ``_make``, pickling, ``match``);
``tests/unit/rpc/test_record.py`` holds it to ``typing.NamedTuple``.
"""

from __future__ import annotations

# _operator is the C module behind operator (which adds a pure-Python layer at import);
# itemgetter is what collections.namedtuple's accessors do too.
from _operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Self


class _RecordMeta(type):
    """Turns the annotations of a direct :class:`Record` subclass into tuple fields."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _RecordMeta:
        base = globals().get("Record")  # None while Record itself is being created
        if base is None or bases != (base,):
            # Record itself, or a subclass of a record (methods only, as with NamedTuple)
            ns.setdefault("__slots__", ())
            return super().__new__(mcs, name, bases, ns)
        fields = tuple(ns.get("__annotations__", ()))
        defaults: dict[str, Any] = {}
        for i, f in enumerate(fields):
            if f.startswith("_"):
                raise ValueError(f"{name}: field names cannot start with an underscore: {f!r}")
            if f in ns:
                defaults[f] = ns[f]
            elif defaults:
                raise TypeError(f"{name}: non-default field {f!r} follows default fields")
            ns[f] = property(itemgetter(i), doc=f"Alias for field number {i}")
        ns["__slots__"] = ()
        ns["_fields"] = fields
        ns["_field_defaults"] = defaults
        ns["__match_args__"] = fields
        return super().__new__(mcs, name, bases, ns)


class Record(tuple["Any", ...], metaclass=_RecordMeta):
    """Base of the wire records; see the module docstring."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _field_defaults: dict[str, Any] = {}  # noqa: RUF012 - per-class, set by the metaclass

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        if kwargs or len(args) != len(cls._fields):
            args = cls._bind(args, kwargs)
        return tuple.__new__(cls, args)

    @classmethod
    def _bind(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Positional + keyword arguments -> the field values, with Python's call errors."""
        name, fields = cls.__name__, cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} positional arguments "
                            f"but {len(args)} were given")
        vals = list(args)
        for f in fields[len(args):]:
            if f in kwargs:
                vals.append(kwargs.pop(f))
            elif f in cls._field_defaults:
                vals.append(cls._field_defaults[f])
            else:
                raise TypeError(f"{name}() missing required argument: {f!r}")
        for k in kwargs:
            if k in fields:
                raise TypeError(f"{name}() got multiple values for argument {k!r}")
            raise TypeError(f"{name}() got an unexpected keyword argument {k!r}")
        return tuple(vals)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Self:
        vals = tuple(iterable)
        if len(vals) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(vals)}")
        return tuple.__new__(cls, vals)

    def _replace(self, **kwargs: Any) -> Self:
        vals = [kwargs.pop(f, v) for f, v in zip(self._fields, self)]
        if kwargs:
            raise ValueError(f"Got unexpected field names: {list(kwargs)!r}")
        return tuple.__new__(type(self), vals)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        # pickle/copy rebuild through __new__ with the plain values, as NamedTuple does
        return tuple(self)
