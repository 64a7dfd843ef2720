"""pyrke's own known_hosts file: the host keys the CLI has seen, in OpenSSH's line format.

Used by ``pyrke hosts`` for trust on first use: a host without an entry gets one; a host with
one must present that key. The user's ~/.ssh/known_hosts is never read or written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pulumi_pyrke import files
from pulumi_pyrke.transport.keys import host_key_problem


def host_entry_name(address: str, port: int) -> str:
    """``address`` for port 22, ``[address]:port`` otherwise, as OpenSSH writes it."""
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(kw_only=True)
class KnownHosts:
    """Host keys by entry name; ``save`` writes them back sorted, with mode 0600."""

    path: Path
    keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> KnownHosts:
        """Read ``path`` (a missing file is an empty store); malformed lines are skipped."""
        store = cls(path=Path(path))
        if not os.path.lexists(store.path):
            return store
        text = files.read_text(
            str(store.path), field="known_hosts", max_bytes=files.MAX_KEY_BYTES * 16
        )
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and not line.startswith("#"):
                key = f"{parts[1]} {parts[2]}"
                if host_key_problem(key, "known_hosts") is None:
                    store.keys.setdefault(parts[0], key)
        return store

    def get(self, address: str, port: int) -> str | None:
        return self.keys.get(host_entry_name(address, port))

    def record(self, address: str, port: int, key: str) -> bool:
        """Remember ``key`` for a host seen for the first time; True when it was new."""
        name = host_entry_name(address, port)
        if name in self.keys:
            return False
        self.keys[name] = key
        return True

    def save(self) -> None:
        lines = [f"{name} {key}\n" for name, key in sorted(self.keys.items())]
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(lines), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
