"""Data describing the emulated system: export lists, version profiles, the registry seed."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PrototypeTable:
    """A module's C prototypes, rootfs/prototypes/<module>.json (written by make_prototypes.py).

    The file is JSON with one routine per line; a routine's line is parsed when it is asked for, since
    parsing all of ntoskrnl.exe's would cost a run ~10 ms for the few a driver calls.
    """

    module: str
    types: dict[str, list]          # C spelling -> [kind, bits]: status | ptr | void | bool | int
    lines: dict[str, str]           # routine -> its line, '"Name":{...},'

    def names(self) -> list[str]:
        return list(self.lines)

    def routine(self, name: str) -> dict | None:
        """{"returns": spelling, "params": [[name, spelling]...], "variadic", "source"}; returns and
        params are None for a routine nobody declared."""
        line = self.lines.get(name)
        return None if line is None else json.loads(line[line.index('":') + 2:].rstrip(","))


@lru_cache(maxsize=None)
def prototypes(module: str) -> PrototypeTable | None:
    """The prototype table of a module; None for a module without one."""
    path = os.path.join(HERE, "prototypes", f"{module.lower()}.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        head, *lines = fh.read().splitlines()
    header = json.loads(head + "}}")
    return PrototypeTable(header["module"], header["types"],
                          {line[1:line.index('"', 1)]: line for line in lines[:-1] if line})


def prototype_modules() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(os.path.join(HERE, "prototypes")) if f.endswith(".json"))


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
