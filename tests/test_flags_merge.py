"""merge_flags follows RKE's precedence: computed < version options < post < extra_args."""

from __future__ import annotations

from pulumi_pyrke.plan.flags import flag_names, merge_flags


def test_precedence_and_deletion() -> None:
    args = merge_flags(
        {"a": "1", "b": "2", "c": "3"},
        {"b": "20", "c": "", "d": "''", "e": "[PREFIX_PATH]/var/lib/x"},
        extra_args={"a": "100", "f": "x"},
        extra_args_array={},
        prefix_path="/opt/rke",
        post={"g": "7", "a": None},
    )
    assert args == ("--a=100", "--b=20", "--d=", "--e=/opt/rke/var/lib/x", "--f=x", "--g=7")


def test_default_prefix_is_empty_and_arrays_repeat() -> None:
    args = merge_flags(
        {"x": "1"},
        {"e": "[PREFIX_PATH]/var/lib/x"},
        extra_args={},
        extra_args_array={"x": ["a", "b"], "y": ["c"]},
    )
    assert args == ("--e=/var/lib/x", "--x=a", "--x=b", "--y=c")
    assert flag_names(args) == {"--e", "--x", "--y"}
