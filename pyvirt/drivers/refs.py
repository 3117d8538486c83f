"""The domain identity record, on its own so one-shot clients need not import the Driver ABC.

:mod:`pyvirt.drivers.base` re-exports :class:`DomainRef`; import it from there as usual.
This module exists only because ``pyvirsh list`` through pyvirtd decodes domain references
and nothing else of the driver interface: importing ``base`` (sixteen dataclasses, the
~100-method ABC, ``dataclasses`` itself) was a third of that command's start-up.

It is therefore a hand-written slotted class with a dataclass's behaviour (frozen, equal and
hashable by value, the same repr) rather than a ``@dataclass``, and imports nothing.
"""

from __future__ import annotations

_set = object.__setattr__  # bound once: a list of 1000 domains makes 3000 of these calls


class DomainRef:
    """Identity of a domain as seen by clients: name, raw 16-byte UUID, id (-1 if inactive).

    The remote protocol's ``remote_nonnull_domain``. Immutable: drivers hand out new refs
    rather than editing one (a domain's id changes when it starts or stops).
    """

    __slots__ = ("id", "name", "uuid")
    __match_args__ = ("name", "uuid", "id")

    name: str
    uuid: bytes
    id: int

    def __init__(self, name: str, uuid: bytes, id: int = -1) -> None:
        # object.__setattr__: our own __setattr__ refuses, as a frozen dataclass does
        _set(self, "name", name)
        _set(self, "uuid", uuid)
        _set(self, "id", id)

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {attr!r}")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"cannot delete field {attr!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, DomainRef)
        return (self.name, self.uuid, self.id) == (other.name, other.uuid, other.id)

    def __hash__(self) -> int:
        return hash((self.name, self.uuid, self.id))

    def __repr__(self) -> str:
        return f"DomainRef(name={self.name!r}, uuid={self.uuid!r}, id={self.id!r})"

    def __reduce__(self) -> tuple[type[DomainRef], tuple[str, bytes, int]]:
        # pickling/copying: slots and the refusing __setattr__ rule out the default protocol
        return (DomainRef, (self.name, self.uuid, self.id))
