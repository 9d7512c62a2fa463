"""Data describing the emulated system: export lists, version profiles, the registry seed."""
from __future__ import annotations

import json
import os
from functools import lru_cache

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROFILE = "win11-23h2"


@lru_cache(maxsize=None)
def exports(module: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(routines, variables) exported by a kernel module, from rootfs/exports/<module>.txt."""
    path = os.path.join(HERE, "exports", f"{module.lower()}.txt")
    routines, variables = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            words = line.split("#")[0].split()
            if words:
                (variables if words[1:] == ["data"] else routines).append(words[0])
    return tuple(routines), tuple(variables)


def known_modules() -> list[str]:
    return sorted(f[:-4] for f in os.listdir(os.path.join(HERE, "exports"))
                  if f.endswith(".txt") and not f.startswith("extra-"))


def profiles() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(os.path.join(HERE, "profiles")) if f.endswith(".json"))


def profile(name: str = DEFAULT_PROFILE) -> dict:
    path = os.path.join(HERE, "profiles", f"{name}.json")
    if not os.path.exists(path):
        raise KeyError(f"unknown version profile {name!r} (known: {', '.join(profiles())})")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def registry_seed() -> dict:
    with open(os.path.join(HERE, "registry", "system.json"), encoding="utf-8") as fh:
        return json.load(fh)
