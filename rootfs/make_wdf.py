"""Regenerate the KMDF function table as WdfVersionBind hands it to a driver: rootfs/wdf/kmdf.json
(index -> function, the first version whose table holds it, the released table sizes) and
rootfs/prototypes/wdf01000.sys.json (each function's C prototype, in the format of
rootfs/make_prototypes.py's tables, so stand-ins and handlers are typed like exports).

Source: Microsoft's KMDF, published under the MIT licence (github.com/microsoft/Windows-Driver-Frameworks).
Only facts are taken from it, never code:
- src/publicinc/wdf/kmdf/1.<minor>/wdffuncenum.h: the WDFFUNCENUM list of each published minor
  version, i.e. the table order (index -> function) and its length (WdfFunctionTableNumEntries);
- src/framework/kmdf/inc/private/fxdynamics.h: each table function's prototype, from the framework's
  own WDFEXPORT(WdfXxx) declaration (the public wdf*.h lack the class-extension WdfCx* functions);
  every framework function takes the caller's PWDF_DRIVER_GLOBALS first;
- src/publicinc/wdf/kmdf/<newest>/wdf*.h: which type names are enums (`typedef enum`) and handles
  (DECLARE_HANDLE), for each type's kind and width; Windows' own base types are listed below;
- src/framework/kmdf/src/librarycommon/fxlibrarycommon.cpp: the table lengths of the minor versions
  older than the headers (WDFFUNCENUM_NUMENTRIES). The table only ever grows at its end, so a
  function's index tells the first version whose table holds it.

Usage: python rootfs/make_wdf.py GIT_DIR   (a clone of the repository; read with `git show`, no checkout)
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

REPOSITORY = "microsoft/Windows-Driver-Frameworks"
HEADERS = "src/publicinc/wdf/kmdf"
DYNAMICS = "src/framework/kmdf/inc/private/fxdynamics.h"
COMMON = "src/framework/kmdf/src/librarycommon/fxlibrarycommon.cpp"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "wdf", "kmdf.json")
PROTOTYPES = os.path.join(HERE, "prototypes", "wdf01000.sys.json")
MODULE = "Wdf01000.sys"
# Windows base types the prototypes use (ntdef.h, basetsd.h, wdm.h): kind and width, as make_prototypes.py names them
BASE_TYPES = {
    "NTSTATUS": ("status", 32), "VOID": ("void", 0), "BOOLEAN": ("bool", 8),
    "UCHAR": ("int", 8), "BYTE": ("int", 8), "CCHAR": ("int", 8), "KPROCESSOR_MODE": ("int", 8),
    "USHORT": ("int", 16), "ULONG": ("int", 32), "LONG": ("int", 32), "LCID": ("int", 32),
    "ACCESS_MASK": ("int", 32), "DEVICE_TYPE": ("int", 32), "DEVPROPTYPE": ("int", 32),
    "POOL_TYPE": ("int", 32), "DEVICE_REGISTRY_PROPERTY": ("int", 32), "INTERFACE_TYPE": ("int", 32),
    "POWER_ACTION": ("int", 32),
    "size_t": ("int", 64), "ULONG_PTR": ("int", 64), "ULONGLONG": ("int", 64), "LONGLONG": ("int", 64),
    "KAFFINITY": ("int", 64), "PHYSICAL_ADDRESS": ("int", 64),
    "HANDLE": ("ptr", 64), "USBD_CONFIGURATION_HANDLE": ("ptr", 64), "USBD_PIPE_HANDLE": ("ptr", 64),
}

_ANNOTATION = re.compile(r"\b(?:_{1,2}[A-Za-z][A-Za-z0-9_]*_?|WDFAPI|NTAPI|FASTCALL|FORCEINLINE)\b\s*")
_EXPORT = re.compile(r"\bWDFEXPORT\((Wdf\w+)\)\(")


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def table(text: str) -> list[str]:
    """The WDFFUNCENUM of one wdffuncenum.h: function names in index order."""
    body = text.split("typedef enum _WDFFUNCENUM {", 1)[1].split("}", 1)[0]
    entries = re.findall(r"(Wdf\w+)TableIndex\s*=\s*(\d+)", body)
    names = [name for name, _ in sorted(entries, key=lambda e: int(e[1]))]
    assert [int(i) for _, i in sorted(entries, key=lambda e: int(e[1]))] == list(range(len(names)))
    count = int(re.search(r"WdfFunctionTableNumEntries\s*=\s*(\d+)", body).group(1))
    assert count == len(names), "table length disagrees with its entries"
    return names


def _strip(text: str) -> str:
    """C text without comments and SAL/calling-convention annotations (with their balanced arguments)."""
    text = re.sub(r"//[^\n]*", " ", text)
    out, pos = [], 0
    for m in _ANNOTATION.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos:m.start()])
        pos = m.end()
        if text.startswith("(", pos):
            depth = 0
            while True:
                depth += {"(": 1, ")": -1}.get(text[pos], 0)
                pos += 1
                if depth == 0:
                    break
    out.append(text[pos:])
    return " ".join("".join(out).split())


def prototypes(text: str) -> dict[str, dict]:
    """Each `WDFEXPORT(WdfXxx)(...)` declaration of fxdynamics.h: name -> {returns, params: [[type, name]]}."""
    found = {}
    for m in _EXPORT.finditer(text):
        head = text[text.rindex("\n\n", 0, m.start()):m.start()]
        params = text[m.end():text.index(");", m.end())]
        plist = []
        for param in _strip(params).split(","):
            param = param.strip()
            if param and param != "VOID":
                pm = re.match(r"(.*?)\s*\b(\w+)$", param)
                plist.append([pm.group(1).replace(" *", "*"), pm.group(2)])
        found[m.group(1)] = {"returns": _strip(head), "params": plist}
    return found


def kinds(headers: list[str]) -> dict[str, tuple[str, int]]:
    """Enum and handle type names the KMDF headers declare, with their kind and width."""
    found = {}
    for text in headers:
        for name in re.findall(r"typedef\s+enum\s+_?\w*\s*\{[^}]*\}\s*(\w+)", text):
            found[name] = ("int", 32)
        for name in re.findall(r"DECLARE_HANDLE\(\s*(\w+)\s*\)", text):
            found[name] = ("ptr", 64)
        for name in re.findall(r"typedef\s+(?:PVOID|HANDLE)\s+(\w+)", text):
            found[name] = ("ptr", 64)
    return found


def kind_of(spelling: str, declared: dict[str, tuple[str, int]]) -> tuple[str, int]:
    if spelling.endswith("*") or re.match(r"(P|LP|PFN_)[A-Z]", spelling):
        return "ptr", 64
    if spelling in BASE_TYPES:
        return BASE_TYPES[spelling]
    if spelling in declared:
        return declared[spelling]
    raise SystemExit(f"make_wdf: no kind for C type {spelling!r}: add it to BASE_TYPES")


def write_prototypes(protos: dict[str, dict], names: list[str], declared: dict, commit: str) -> None:
    """rootfs/prototypes/wdf01000.sys.json in make_prototypes.py's line-per-routine format."""
    source = f"{REPOSITORY}@{commit[:12]}:{DYNAMICS}"
    routines, types = {}, {}
    for name in names:
        proto = protos[name]
        params = [[pname, spelling]
                  for spelling, pname in [["PWDF_DRIVER_GLOBALS", "DriverGlobals"]] + proto["params"][1:]]
        for spelling in [proto["returns"]] + [t for _, t in params]:
            types[spelling] = list(kind_of(spelling, declared))
        routines[name] = {"returns": proto["returns"], "params": params, "variadic": False, "source": source}
    head = {"module": MODULE, "generator": "rootfs/make_wdf.py", "types": dict(sorted(types.items()))}
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ',"routines":{']
    lines.append(",\n".join(f"{json.dumps(n)}:{json.dumps(p, separators=(',', ':'))}" for n, p in routines.items()))
    lines.append("}}\n")
    with open(PROTOTYPES, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def old_sizes(text: str) -> dict[str, int]:
    """WdfFunctionTableNumEntries_V1_<minor> = n from the framework's own list of released sizes."""
    return {f"1.{m}": int(n) for m, n in re.findall(r"WdfFunctionTableNumEntries_V1_(\d+)\s*=\s*(\d+)", text)}


def main(repo: str) -> None:
    commit = git(repo, "rev-parse", "HEAD").strip()
    minors = sorted(int(d.split(".")[1]) for d in git(repo, "ls-tree", "--name-only", f"HEAD:{HEADERS}").split())
    tables = {f"1.{m}": table(git(repo, "show", f"HEAD:{HEADERS}/1.{m}/wdffuncenum.h")) for m in minors}
    newest = f"1.{minors[-1]}"
    for version, names in tables.items():
        assert names == tables[newest][:len(names)], f"{version} is not a prefix of {newest}"
    sizes = {**old_sizes(git(repo, "show", f"HEAD:{COMMON}")), **{v: len(n) for v, n in tables.items()}}
    sizes = dict(sorted(sizes.items(), key=lambda kv: int(kv[0].split(".")[1])))
    protos = prototypes(git(repo, "show", f"HEAD:{DYNAMICS}"))
    headers = [git(repo, "show", f"HEAD:{HEADERS}/{newest}/{f}")
               for f in git(repo, "ls-tree", "--name-only", f"HEAD:{HEADERS}/{newest}").split() if f.endswith(".h")]
    functions = []
    for index, name in enumerate(tables[newest]):
        assert protos[name]["params"][0] == ["PWDF_DRIVER_GLOBALS", "DriverGlobals"], name
        functions.append({"name": name, "since": next(v for v, n in sizes.items() if index < n)})
    data = {
        "_source": {"repository": REPOSITORY, "commit": commit,
                    "paths": [f"{HEADERS}/1.<minor>/wdffuncenum.h", DYNAMICS, COMMON],
                    "generator": "rootfs/make_wdf.py",
                    "note": "prototypes: rootfs/prototypes/wdf01000.sys.json"},
        "framework": newest,
        "table_sizes": sizes,
        "functions": functions,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    write_prototypes(protos, tables[newest], kinds(headers), commit)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python rootfs/make_wdf.py GIT_DIR  (a clone of microsoft/Windows-Driver-Frameworks)")
    main(sys.argv[1])
