"""The public API stays complete and sorted (httpx's test_exported_members)."""

import inspect

import stakegate


def test_all_is_sorted_and_complete():
    public = sorted(
        name
        for name, value in vars(stakegate).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    )
    assert stakegate.__all__ == sorted(stakegate.__all__)
    assert public == stakegate.__all__


def test_every_exported_name_is_defined():
    for name in stakegate.__all__:
        assert getattr(stakegate, name) is not None
