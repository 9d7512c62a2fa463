"""Regenerate rootfs/wdf/kmdf.json: the KMDF function table, as WdfVersionBind hands it to a driver.

Source: Microsoft's KMDF, published under the MIT licence (github.com/microsoft/Windows-Driver-Frameworks).
Only facts are taken from it, never code:
- src/publicinc/wdf/kmdf/1.<minor>/wdffuncenum.h: the WDFFUNCENUM list of each published minor
  version, i.e. the table order (index -> function) and its length (WdfFunctionTableNumEntries);
- src/framework/kmdf/inc/private/fxdynamics.h: each table function's prototype, from the framework's
  own WDFEXPORT(WdfXxx) declaration (the public wdf*.h lack the class-extension WdfCx* functions);
  every framework function takes the caller's PWDF_DRIVER_GLOBALS first;
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
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wdf", "kmdf.json")

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
    functions = []
    for index, name in enumerate(tables[newest]):
        proto = protos[name]
        assert proto["params"][0] == ["PWDF_DRIVER_GLOBALS", "DriverGlobals"], name
        since = next(v for v, n in sizes.items() if index < n)
        functions.append({"name": name, "since": since, "returns": proto["returns"], "params": proto["params"][1:]})
    data = {
        "_source": {"repository": REPOSITORY, "commit": commit,
                    "paths": [f"{HEADERS}/1.<minor>/wdffuncenum.h", DYNAMICS, COMMON],
                    "generator": "rootfs/make_wdf.py",
                    "note": "params leave out the PWDF_DRIVER_GLOBALS every framework function takes first"},
        "framework": newest,
        "table_sizes": sizes,
        "functions": functions,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python rootfs/make_wdf.py GIT_DIR  (a clone of microsoft/Windows-Driver-Frameworks)")
    main(sys.argv[1])
