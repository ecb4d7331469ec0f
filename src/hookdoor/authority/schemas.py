"""What in an object carries authority, declared per kind beside its entry in ``identity/registry.py``.

Four sorts of field reach authority, and each has its own rule (enforced in ``authority/service.py``):

- the **namespace**: ``owner`` and the organization the object belongs to. The caller must administer
  every organization an object names, before and after a change;
- **issued** fields, set only by the server when it issues the object (a token's user, application and
  hashes; a user's access key). A request body never sets them: on add they must be empty, on update
  unchanged;
- **references** to other objects (a user's groups, a role's members, a permission's model). They must
  name objects of the referring object's own organization (or shared ones, where the kind allows), so
  that no object can pull another organization's objects into its reach;
- **guarded** fields that decide who may do what (``isAdmin``, redirect URIs, client secrets). Only an
  administrator of the object's organization changes them; a user editing their own account cannot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Reference:
    """A field that names objects of another kind.

    ``form`` is how a value names its object: ``"id"``, as ``owner/name`` (a bare name means the
    object's own organization); ``"name"``, a name looked up in the object's own organization or
    among the shared objects; ``"global-name"``, the name of a globally owned object (an
    application), whose organization must then be the referring object's.
    ``key`` picks the name out of list items that are objects (an application's providers).
    """

    field: str
    kind: str
    form: Literal["id", "name", "global-name"] = "id"
    many: bool = False
    key: str | None = None
    shared_ok: bool = False  # may also name a shared object, owned by "admin"

    def values(self, obj: dict[str, Any]) -> Iterator[str]:
        """The non-empty names this field holds in ``obj``."""
        given = obj.get(self.field)
        items = (given if isinstance(given, list) else []) if self.many else [given]
        for item in items:
            value = item.get(self.key) if self.key and isinstance(item, dict) else item
            if isinstance(value, str) and value:
                yield value


@dataclass(frozen=True)
class Authority:
    issued: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    guarded: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """Every authority-bearing field but the namespace, for error messages and the test matrix."""
        return tuple(dict.fromkeys((*self.issued, *(r.field for r in self.references), *self.guarded)))


NO_AUTHORITY = Authority()


def is_empty(value: Any) -> bool:
    """Clients send unset fields as null, "", 0, false or []: all mean "not set"."""
    return value in (None, "", 0, False, [], {})


def same_value(before: Any, after: Any) -> bool:
    return (is_empty(before) and is_empty(after)) or before == after
