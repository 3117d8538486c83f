"""Queries over QEMU's ``query-qmp-schema`` introspection.

Type names in the introspection are anonymised ("123"), so facts are reached by walking
from a command or event. A query is a '/'-separated path (the notation libvirt uses for its
own schema checks, implemented here from the QAPI introspection format):

* first element: a command or event name;
* ``arg-type`` / ``ret-type``: follow the command's argument / return type;
* ``name``: a member of the current object (variant members included);
* ``+value``: the variant of the current object selected by discriminator ``value``;
* ``^value``: the current type is an enum (or holds one) with that value;
* ``$feature``: the current entity or member carries that feature.

Arrays are looked through, and alternates are tried branch by branch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Entry = Mapping[str, Any]


class QapiSchema:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self._by_name: dict[str, Entry] = {str(e["name"]): e for e in entries}

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> Entry | None:
        return self._by_name.get(name)

    def names(self, meta_type: str) -> frozenset[str]:
        return frozenset(n for n, e in self._by_name.items() if e.get("meta-type") == meta_type)

    def _expand(self, entry: Entry) -> list[Entry]:
        """Look through arrays and alternates to the entries a value may be."""
        meta = entry.get("meta-type")
        if meta == "array":
            e = self._by_name.get(str(entry.get("element-type")))
            return self._expand(e) if e is not None else []
        if meta == "alternate":
            out: list[Entry] = []
            for m in entry.get("members", []):
                e = self._by_name.get(str(m.get("type")))
                if e is not None:
                    out.extend(self._expand(e))
            return out
        return [entry]

    def _step(self, entry: Entry, token: str, feats: list[str]) -> list[Entry]:
        if token in ("arg-type", "ret-type"):
            e = self._by_name.get(str(entry.get(token)))
            return self._expand(e) if e is not None else []
        if token.startswith("+"):
            if entry.get("meta-type") != "object":
                return []
            for v in entry.get("variants", []):
                if v.get("case") == token[1:]:
                    e = self._by_name.get(str(v.get("type")))
                    return self._expand(e) if e is not None else []
            return []
        if entry.get("meta-type") != "object":
            return []
        members = list(entry.get("members", []))
        for v in entry.get("variants", []):
            ve = self._by_name.get(str(v.get("type")))
            if ve is not None:
                members.extend(ve.get("members", []))
        for m in members:
            if m.get("name") == token:
                feats.extend(m.get("features", []))
                e = self._by_name.get(str(m.get("type")))
                return self._expand(e) if e is not None else []
        return []

    def query(self, path: str) -> bool:
        parts = path.split("/")
        root = self._by_name.get(parts[0])
        if root is None:
            return False
        cur: list[tuple[Entry, list[str]]] = [(root, list(root.get("features", [])))]
        for tok in parts[1:]:
            if tok.startswith("$"):
                cur = [(e, f) for e, f in cur if tok[1:] in f or tok[1:] in e.get("features", [])]
            elif tok.startswith("^"):
                cur = [(e, f) for e, f in cur if tok[1:] in self.enum_values_of(e)]
            else:
                nxt: list[tuple[Entry, list[str]]] = []
                for e, _ in cur:
                    feats: list[str] = []
                    for ne in self._step(e, tok, feats):
                        nxt.append((ne, feats + list(ne.get("features", []))))
                cur = nxt
            if not cur:
                return False
        return True

    @staticmethod
    def enum_values_of(entry: Entry) -> tuple[str, ...]:
        if entry.get("meta-type") != "enum":
            return ()
        if "members" in entry:
            return tuple(str(m["name"]) for m in entry["members"])
        return tuple(str(v) for v in entry.get("values", []))

    def enum_at(self, path: str) -> tuple[str, ...]:
        """Values of the enum reached by ``path`` (empty when the path leads elsewhere)."""
        parts = path.split("/")
        root = self._by_name.get(parts[0])
        if root is None:
            return ()
        cur = [root]
        for tok in parts[1:]:
            cur = [ne for e in cur for ne in self._step(e, tok, [])]
        for e in cur:
            vals = self.enum_values_of(e)
            if vals:
                return vals
        return ()
