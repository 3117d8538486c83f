"""A cheap stand-in for ``@dataclass(frozen=True, slots=True)`` on the driver records.

:mod:`pyvirt.drivers.base` declares ~20 small immutable records (``DomainInfo``,
``BlockStats``, the event messages...). ``dataclasses`` generates and ``exec``\\s six
functions per class and builds every class twice for ``slots=True``: ~0.5 ms a class,
~10 ms of every import of the driver interface (pyvirtd's start, every full-driver
pyvirsh command, the first ``open`` of the libvirt facade). Here the behaviour is written
once, in :class:`FrozenRecord`, and a decorated class only gets its field list and a
slotted rebuild (~20 us).

What a record keeps from the frozen slotted dataclass it replaces: positional/keyword
construction with defaults, ``__match_args__``, equality only with the same class, hashing
and repr over the fields in order (the same text), ``FrozenInstanceError``-like
``AttributeError`` on assignment/deletion, pickling and ``copy``, inherited fields first.
To :mod:`dataclasses` it is a dataclass too: ``__dataclass_fields__`` is built on first
access (importing dataclasses only then), so ``fields``, ``replace``, ``asdict``,
``astuple`` and ``is_dataclass`` work as before. ``rpc.xdr`` reads ``_fields`` without it.

mypy sees the real decorator: ``base`` imports ``dataclasses.dataclass`` under
``TYPE_CHECKING`` and this one at run time, as ``rpc/record.py`` does for NamedTuple.
Anything other than ``frozen=True, slots=True`` is handed to the real ``dataclass``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays off this module's import (mypy treats it as typing's)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar


class _LazyDataclassFields:
    """``__dataclass_fields__`` of a record class, made when :mod:`dataclasses` first asks."""

    def __get__(self, obj: object, cls: type[FrozenRecord]) -> dict[str, Any]:
        import dataclasses

        made = {}
        for name in cls._fields:
            f = dataclasses.field(default=cls._defaults.get(name, dataclasses.MISSING))
            f.name, f.type, f.kw_only = name, _annot(cls, name), False
            f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # as _process_class marks it
            made[name] = f
        type.__setattr__(cls, "__dataclass_fields__", made)  # this class's own, from now on
        return made


class FrozenRecord:
    """Behaviour shared by every record; ``_fields`` is set per class by :func:`dataclass`."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]] = _LazyDataclassFields()  # type: ignore[assignment]
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}  # never mutated: each class gets its own copy
    # the field values as a tuple (eq/hash/pickle), an attrgetter per class: C speed
    _key: ClassVar[Callable[[Any], tuple[Any, ...]]] = staticmethod(lambda self: ())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._fields
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}.__init__() takes {len(names) + 1} positional "
                            f"arguments but {len(args) + 1} were given")
        setter = object.__setattr__
        for name, value in zip(names, args):
            setter(self, name, value)
        defaults = self._defaults
        for name in names[len(args):]:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif name in defaults:
                setter(self, name, defaults[name])
            else:
                raise TypeError(f"{type(self).__name__}.__init__() missing required argument: {name!r}")
        if kwargs:
            bad = next(iter(kwargs))
            why = "got multiple values for argument" if bad in names else "got an unexpected keyword argument"
            raise TypeError(f"{type(self).__name__}.__init__() {why} {bad!r}")

    def _values(self) -> tuple[Any, ...]:
        return type(self)._key(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, FrozenRecord)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__qualname__}({inner})"

    def __setattr__(self, name: str, value: object) -> None:
        raise _frozen_error(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise _frozen_error(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[FrozenRecord], tuple[Any, ...]]:
        # pickle/copy: the refusing __setattr__ rules out the default slot-state protocol
        return (type(self), self._values())


def _frozen_error(msg: str) -> AttributeError:
    # dataclasses.FrozenInstanceError when dataclasses is loaded anyway, so callers catching
    # either that or AttributeError behave as with a dataclass; never imported just for this
    import sys

    dc = sys.modules.get("dataclasses")
    return dc.FrozenInstanceError(msg) if dc is not None else AttributeError(msg)


def dataclass(cls: type[Any] | None = None, /, **params: Any) -> Any:
    """``@dataclass(frozen=True, slots=True)`` as a :class:`FrozenRecord`; else the real one."""
    if params != {"frozen": True, "slots": True}:
        import dataclasses

        return dataclasses.dataclass(cls, **params) if cls is not None else dataclasses.dataclass(**params)
    if cls is not None:
        return _make(cls)
    return _make


def _make(cls: type[Any]) -> type[Any]:
    own: dict[str, str] = vars(cls).get("__annotations__", {})
    inherited: tuple[str, ...] = getattr(cls, "_fields", ())
    ns = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    defaults = dict(getattr(cls, "_defaults", {}))
    for name in own:
        if name in ns:  # a default: it moves off the class, where the slot must live
            defaults[name] = ns.pop(name)
        elif defaults and name not in defaults:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    fields = inherited + tuple(n for n in own if n not in inherited)
    ns["__qualname__"] = cls.__qualname__
    ns["__slots__"] = tuple(n for n in own if n not in inherited)
    ns["_fields"] = fields
    ns["_defaults"] = defaults
    ns["__match_args__"] = fields
    ns["_key"] = _key_of(fields)
    # each class its own lazy entry: a parent's cached dict must not answer for a subclass
    ns["__dataclass_fields__"] = FrozenRecord.__dict__["__dataclass_fields__"]
    if ns.get("__doc__") is None:  # dataclass documents a record by its signature
        sig = ", ".join(f"{n}: {_annot(cls, n)!r}" + (f" = {defaults[n]!r}" if n in defaults else "")
                        for n in fields)
        ns["__doc__"] = f"{cls.__name__}({sig})"
    bases = cls.__bases__ if FrozenRecord in cls.__mro__ else (*cls.__bases__, FrozenRecord)
    if bases[0] is object:
        bases = bases[1:]
    meta: Any = type(cls)
    new: type[Any] = meta(cls.__name__, bases, ns)
    return new


def _key_of(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    from operator import attrgetter  # loaded with collections anyway

    if len(fields) > 1:
        return attrgetter(*fields)
    if fields:
        one = attrgetter(fields[0])
        return staticmethod(lambda self: (one(self),))
    return staticmethod(lambda self: ())


def _annot(cls: type[Any], name: str) -> object:
    for k in cls.__mro__:
        ann = vars(k).get("__annotations__", {})
        if name in ann:
            return ann[name]
    return None

