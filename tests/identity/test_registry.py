"""The registry's declarations hold together: every hook it names exists, every field it declares
as carrying authority is one sort only where that makes sense."""

from __future__ import annotations

import inspect

import pytest

from hookdoor.identity.registry import KINDS, ResourceKind, hooks


@pytest.mark.parametrize("resource", KINDS, ids=[k.singular for k in KINDS])
def test_lifecycle_hooks_resolve_to_coroutines(resource: ResourceKind) -> None:
    for paths in (resource.on_add, resource.on_update, resource.on_change, resource.on_import):
        for hook in hooks(paths):
            assert inspect.iscoroutinefunction(hook), paths


@pytest.mark.parametrize("resource", KINDS, ids=[k.singular for k in KINDS])
def test_issued_fields_are_neither_references_nor_guarded(resource: ResourceKind) -> None:
    """An issued field is never written by a caller, so declaring it guarded too would be a mistake."""
    authority = resource.authority
    referenced = {r.field for r in authority.references}
    assert not set(authority.issued) & (referenced | set(authority.guarded))
