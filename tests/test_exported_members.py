"""The public API stays complete and sorted (httpx's test_exported_members)."""

import stakegate


def test_all_is_sorted_and_complete():
    exported = [name for name in dir(stakegate) if not name.startswith("_")]
    modules = {"cli", "decision", "exc", "facts", "graph", "interval", "logs", "opa_client"}
    modules |= {"opa_runtime", "output", "ownership", "registry", "schemas", "screening"}
    modules |= {"settings", "evidence"}
    modules |= {"bundles", "cli_bundle", "diagram", "review", "review_render", "signing"}
    public = sorted(name for name in exported if name not in modules)
    assert stakegate.__all__ == sorted(stakegate.__all__)
    assert public == stakegate.__all__


def test_every_exported_name_is_defined():
    for name in stakegate.__all__:
        assert getattr(stakegate, name) is not None
