"""Merge a component's flags the way RKE does: computed defaults, then the version's service
options, then RKE's post-processing, then the user's extra_args and extra_args_array. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PREFIX_PLACEHOLDER = "[PREFIX_PATH]"


def merge_flags(
    computed: Mapping[str, str],
    service_options: Mapping[str, str],
    *,
    extra_args: Mapping[str, str],
    extra_args_array: Mapping[str, Sequence[str]],
    prefix_path: str = "/",
    post: Mapping[str, str | None] | None = None,
) -> tuple[str, ...]:
    """Return sorted `--flag=value` arguments.

    Version options override computed ones; an empty option value deletes the flag, the literal
    `''` means an empty value, `[PREFIX_PATH]` is replaced by the host's prefix path. `post`
    entries (RKE's own adjustments) apply next, None deleting. The user's extra_args win over
    all of it; extra_args_array values are emitted as repeated flags.
    """
    flags: dict[str, str] = dict(computed)
    prefix = "" if prefix_path in ("", "/") else prefix_path.rstrip("/")
    for name, value in service_options.items():
        if value == "":
            flags.pop(name, None)
            continue
        if value == "''":
            value = ""
        flags[name] = value.replace(PREFIX_PLACEHOLDER, prefix)
    for name, post_value in (post or {}).items():
        if post_value is None:
            flags.pop(name, None)
        else:
            flags[name] = post_value
    flags.update(extra_args)
    args = [f"--{name}={value}" for name, value in flags.items()]
    for name, values in extra_args_array.items():
        flags.pop(name, None)
        args = [a for a in args if not a.startswith(f"--{name}=")]
        args.extend(f"--{name}={value}" for value in values)
    return tuple(sorted(args))


def flag_names(args: Sequence[str]) -> set[str]:
    """The flag names used in `--flag=value` arguments."""
    return {a.split("=", 1)[0] for a in args if a.startswith("--")}
