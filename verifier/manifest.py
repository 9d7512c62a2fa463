"""The list of drivers a batch checks: a folder of *.sys, or a manifest (TOML or JSON) with per-driver options.

    [defaults]                     # optional, applied to every driver
    wall_timeout = 120
    [[driver]]
    path = "build/foo.sys"         # relative to the manifest's folder
    name = "foo"                   # optional: the name findings are tracked under (default: the path)
    flags = "0x02000000"           # any other key is a field of verifier.session.Options
    keep_going = true

JSON has the same shape: {"defaults": {...}, "driver": [{...}, ...]}.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field

import rootfs
from verifier.session import Options

BATCH_KEYS = ("path", "name", "wall_timeout", "memory_mb")
PATH_OPTIONS = ("scenario",)          # Options fields holding a file name: resolved like `path`


class ManifestError(Exception):
    """One line for the user, naming the manifest and the entry."""


@dataclass
class Entry:
    name: str
    path: str
    options: dict = field(default_factory=dict)
    wall_timeout: float | None = None
    memory_mb: int | None = None


def from_directory(root: str) -> list[Entry]:
    found = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.lower().endswith(".sys"))
    return [Entry(os.path.relpath(p, root).replace(os.sep, "/"), p) for p in found]


def load(path: str) -> list[Entry]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw) if path.lower().endswith(".json") else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:     # JSONDecodeError and TOMLDecodeError are ValueErrors
        kind = "JSON" if path.lower().endswith(".json") else "TOML"
        raise ManifestError(f"manifest {path} is not valid {kind}: {exc}") from None
    if not isinstance(doc, dict) or set(doc) - {"defaults", "driver"}:
        raise ManifestError(f"manifest {path}: expected a table with 'defaults' and a 'driver' list, "
                            f"found {sorted(doc) if isinstance(doc, dict) else type(doc).__name__}")
    defaults, drivers = doc.get("defaults", {}), doc.get("driver")
    if not isinstance(defaults, dict):
        raise ManifestError(f"manifest {path}: 'defaults' must be a table")
    if not isinstance(drivers, list) or not drivers:
        raise ManifestError(f"manifest {path}: no drivers (add [[driver]] entries with a path)")
    folder = os.path.dirname(os.path.abspath(path))
    entries = []
    for i, item in enumerate(drivers, 1):
        where = f"manifest {path}: driver #{i}"
        if not isinstance(item, dict):
            raise ManifestError(f"{where}: expected a table, found {type(item).__name__}")
        if isinstance(item.get("path"), str):
            where += f" ({item['path']})"
        try:
            entries.append(_entry({**defaults, **item}, folder))
        except (ValueError, TypeError) as exc:
            raise ManifestError(f"{where}: {exc}") from None
    names = [e.name for e in entries]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ManifestError(f"manifest {path}: two drivers are named {dup!r}; give one a distinct 'name'")
    return entries


def _entry(item: dict, folder: str) -> Entry:
    if not isinstance(item.get("path"), str):
        raise ValueError("'path' (the driver file) is missing")
    path = os.path.join(folder, item["path"])
    if not os.path.isfile(path):
        raise ValueError(f"no such driver file {path}")
    known = {f.name: f for f in dataclasses.fields(Options)}
    unknown = sorted(set(item) - set(known) - set(BATCH_KEYS))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (known: {', '.join(sorted([*BATCH_KEYS, *known]))})")
    options = {k: _option(k, v, getattr(Options(), k), folder) for k, v in item.items() if k in known}
    name = item.get("name", item["path"].replace(os.sep, "/"))
    if not isinstance(name, str) or not name:
        raise ValueError("'name' must be a non-empty string")
    return Entry(name, path, options, _positive("wall_timeout", item.get("wall_timeout"), float),
                 _positive("memory_mb", item.get("memory_mb"), int))


def _option(key: str, value, default, folder: str):
    """Check a value against the type of the Options field's default; numbers may be written in hex."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(f"{key} must be true or false, not {value!r}")
        return value
    if isinstance(default, int):
        try:
            number = int(value, 0) if isinstance(value, str) else value
        except ValueError:
            number = None
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise TypeError(f"{key} must be a non-negative integer (hex as \"0x...\"), not {value!r}")
        return number
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise TypeError(f"{key} must be a number of seconds (0 = no budget), not {value!r}")
        return float(value)
    if key == "profile" and value not in rootfs.profiles():
        raise ValueError(f"unknown profile {value!r} (known: {', '.join(rootfs.profiles())})")
    if key in PATH_OPTIONS and isinstance(value, str):
        return os.path.join(folder, value)
    return value


def _positive(key: str, value, kind: type):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise TypeError(f"{key} must be a positive number, not {value!r}")
    return kind(value)
