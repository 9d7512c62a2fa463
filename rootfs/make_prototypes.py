"""Regenerate rootfs/prototypes/<module>.json: the C prototype of every routine in rootfs/exports/<module>.txt.

Stand-ins (hooks/standins.py) answer by these declared types, and decode their arguments with them.
Where a prototype comes from, first match wins:

1. real headers, parsed by clang (`-ast-dump=json`): per module, a list of header sets (MODULES);
2. the Nt/Zw twin: "the NtXxx and ZwXxx versions of a routine have the same parameters" (NT_ZW_SOURCE);
3. rootfs/prototypes/<module>.h: hand-written C declarations of what no header declares, each citing
   its source. It is parsed by clang with the module's first header set, so it can use every typedef;
4. routines nobody declared (most have no public prototype) get an entry without types, source
   "undeclared", and are listed when the generator runs: a stand-in answers 0 for them and shows the
   call without arguments. Declaring one in <module>.h types it.

A module with no export list (wdfldr.sys) gets the routines its <module>.h declares.

The table stores each C type spelling once, with its normalised kind (status | ptr | void | bool | int)
and width in bits, as the x64 calling convention passes it (structures wider than 8 bytes by address).
Usage: python rootfs/make_prototypes.py [MODULE...]   (needs clang, mingw-w64-x86-64-dev, libwine-dev)
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "prototypes")
MINGW = "/usr/x86_64-w64-mingw32/include"
WINE = "/usr/include/wine/wine/windows"
NT_ZW_SOURCE = ("https://learn.microsoft.com/en-us/windows-hardware/drivers/kernel/"
                "using-nt-and-zw-versions-of-the-native-system-services-routines")


@dataclass(frozen=True)
class HeaderSet:
    """Headers compiled together in one translation unit, and the flags they need."""

    label: str
    includes: tuple[str, ...]
    flags: tuple[str, ...]
    prelude: str = ""


MINGW_DDK = HeaderSet(
    "mingw-w64 ddk",
    ("ntifs.h", "ntstrsafe.h", "csq.h", "string.h", "wchar.h", "stdio.h", "stdlib.h", "ctype.h"),
    ("-isystem", f"{MINGW}/ddk", "-D_WIN32_WINNT=0x0A00", "-DNTDDI_VERSION=0x0A000000"))
WINE_DDK = HeaderSet(
    "wine ddk", ("stdarg.h", "ntstatus.h", "windef.h", "winternl.h", "ddk/ntifs.h"),
    ("-nostdinc", "-isystem", WINE, "-isystem", f"{os.path.dirname(WINE)}/msvcrt"),
    prelude="#define WIN32_NO_STATUS\n")
WINE_FLTKERNEL = HeaderSet(
    "wine fltkernel", WINE_DDK.includes + ("ddk/fltkernel.h",), WINE_DDK.flags, WINE_DDK.prelude)
# wdm.h hides the legacy and HAL-only declarations from 64-bit drivers (NO_LEGACY_DRIVERS); hal.dll still
# exports those routines, and __REACTOS__ is the switch mingw-w64's headers offer to keep them.
MINGW_DDK_LEGACY = HeaderSet("mingw-w64 ddk (legacy)", ("ntifs.h",), MINGW_DDK.flags + ("-D__REACTOS__",))
MINGW_SDK = HeaderSet("mingw-w64 sdk", ("windows.h", "winternl.h", "evntprov.h", "ntsecapi.h"), ())

MODULES: dict[str, tuple[HeaderSet, ...]] = {
    "ntoskrnl.exe": (MINGW_DDK, WINE_DDK, MINGW_DDK_LEGACY, MINGW_SDK),
    "hal.dll": (MINGW_DDK, WINE_DDK, MINGW_DDK_LEGACY),
    "fltmgr.sys": (WINE_FLTKERNEL,),
    "wdfldr.sys": (MINGW_DDK,),
    "ndis.sys": (MINGW_DDK,),           # with rootfs/prototypes/ndis.sys.h: MinGW's ddk/ndis.h does not compile here
}
DEFAULT_HEADERS = (MINGW_DDK, WINE_DDK)     # modules not named above

# Canonical (desugared) integer spellings and their widths under the LLP64 model of 64-bit Windows.
_INT_BITS = {"char": 8, "signed char": 8, "unsigned char": 8, "_Bool": 8, "short": 16, "unsigned short": 16,
             "wchar_t": 16, "int": 32, "unsigned int": 32, "long": 32, "unsigned long": 32, "long long": 64,
             "unsigned long long": 64, "__int64": 64, "unsigned __int64": 64}
_BOOL_TYPEDEFS = {"BOOLEAN", "LOGICAL", "BOOL"}
_ATTRIBUTES = re.compile(r"\s*__attribute__\(\(.*?\)\)")
_QUALIFIERS = re.compile(r"\b(const|volatile|restrict|__restrict)\b")


def unqualified(spelling: str) -> str:
    """'const GUID *const' -> 'GUID *': qualifiers change nothing in how a value is passed."""
    return " ".join(_QUALIFIERS.sub(" ", spelling).split()).replace("* ", "*")


def clang_ast(headers: HeaderSet, extra: str = "") -> list[dict]:
    """The top-level declarations of one translation unit, as clang's JSON AST."""
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as fh:
        fh.write(headers.prelude + "".join(f"#include <{h}>\n" for h in headers.includes) + extra)
    try:
        out = subprocess.run(["clang", "-Xclang", "-ast-dump=json", "-fsyntax-only", "-w",
                              "--target=x86_64-w64-mingw32", *headers.flags, fh.name],
                             capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    if out.returncode:
        sys.exit(f"make_prototypes: clang failed on {headers.label}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)["inner"]


def split_function_type(spelling: str) -> str:
    """The return type of a function type spelling, 'NTSTATUS (PVOID, ULONG)' -> 'NTSTATUS'."""
    text = _ATTRIBUTES.sub("", spelling).strip()
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i].strip()
    raise ValueError(f"not a function type: {spelling!r}")


class Declarations:
    """Functions and typedefs of one translation unit, and the kinds of the types they use."""

    def __init__(self, nodes: list[dict]):
        self.typedefs: dict[str, str] = {}
        self.functions: dict[str, dict] = {}
        self.sources: dict[str, str] = {}
        where = [""]                      # clang prints a location's file only when it changes
        for node in nodes:
            _track_file(node.get("loc", {}), where)
            if node["kind"] == "TypedefDecl":
                self.typedefs[node["name"]] = node["type"]["qualType"]
            elif node["kind"] == "FunctionDecl" and not node.get("isImplicit"):
                best = self.functions.get(node["name"])
                if best is None or _named_params(node) > _named_params(best):
                    self.functions[node["name"]] = node
                    self.sources.setdefault(node["name"], where[0])
            _track_file({k: v for k, v in node.items() if k != "loc"}, where)

    def aliases(self, spelling: str) -> list[str]:
        """The typedef names a spelling goes through, outermost first: NTSTATUS -> [NTSTATUS, LONG]."""
        chain, name = [], unqualified(spelling)
        while name in self.typedefs and name not in chain:
            chain.append(name)
            name = unqualified(self.typedefs[name])
        return chain

    def resolve(self, canonical: str) -> str:
        """The type under every typedef: clang leaves some desugared spellings sugared."""
        canonical = unqualified(canonical)
        for alias in self.aliases(canonical):
            canonical = unqualified(self.typedefs[alias])
        return canonical

    def kind(self, spelling: str, canonical: str, sizes: dict[str, int]) -> tuple[str, int]:
        chain = set(self.aliases(spelling))
        canonical = self.resolve(canonical)
        if canonical.endswith("*") or "(*" in canonical or canonical.endswith("]"):
            return "ptr", 64
        if canonical == "void":
            return "void", 0
        if "NTSTATUS" in chain:
            return "status", 32
        if chain & _BOOL_TYPEDEFS or canonical == "_Bool":
            return "bool", _INT_BITS.get(canonical, 32)
        if canonical in _INT_BITS:
            return "int", _INT_BITS[canonical]
        if canonical.startswith("enum "):
            return "int", 32
        if canonical.startswith(("struct ", "union ")):
            size = sizes[canonical]
            return ("int", size * 8) if size in (1, 2, 4, 8) else ("ptr", 64)   # x64: bigger ones by address
        raise ValueError(f"no kind for C type {spelling!r} ({canonical})")


def _track_file(tree, where: list[str]) -> None:
    """Follow the files named in a JSON AST subtree, in the order clang printed them."""
    if isinstance(tree, dict):
        if "file" in tree:
            where[0] = tree["file"]
        for key, value in tree.items():
            if isinstance(value, (dict, list)) and key != "includedFrom":    # the includer, not a location
                _track_file(value, where)
    elif isinstance(tree, list):
        for value in tree:
            _track_file(value, where)


def _named_params(node: dict) -> int:
    return sum(1 for p in node.get("inner", ()) if p["kind"] == "ParmVarDecl" and p.get("name"))


def _types(node: dict) -> list[tuple[str, str, str]]:
    """(name, spelling, canonical) of the return value (name '') and each parameter."""
    t = node["type"]
    out = [("", split_function_type(t["qualType"]), split_function_type(t.get("desugaredQualType", t["qualType"])))]
    for p in node.get("inner", ()):
        if p["kind"] == "ParmVarDecl":
            pt = p["type"]
            out.append((p.get("name", ""), pt["qualType"], pt.get("desugaredQualType", pt["qualType"])))
    return out


def record_sizes(headers: HeaderSet, records: set[str], extra: str) -> dict[str, int]:
    """sizeof each structure passed or returned by value, as clang computes it for x64."""
    if not records:
        return {}
    names = sorted(records)
    probe = "".join(f"char hv_probe_{i}[sizeof({r})];\n" for i, r in enumerate(names))
    sizes = {}
    for node in clang_ast(headers, extra + probe):
        if node["kind"] == "VarDecl" and node["name"].startswith("hv_probe_"):
            i = int(node["name"][len("hv_probe_"):])
            sizes[names[i]] = int(re.search(r"\[(\d+)\]", node["type"]["qualType"]).group(1))
    return sizes


def routines(module: str) -> list[str] | None:
    """The routines in the module's export list; None if it has none."""
    path = os.path.join(HERE, "exports", f"{module}.txt")
    if not os.path.exists(path):
        return None
    names = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            words = line.split("#")[0].split()
            if words and words[1:] != ["data"]:
                names.append(words[0])
    return names


_PARSED: dict[tuple[HeaderSet, str], Declarations] = {}


def declarations(headers: HeaderSet, extra: str) -> Declarations:
    """The declarations of a header set (parsed once per run) followed by `extra` C text."""
    if (headers, extra) not in _PARSED:
        _PARSED[headers, extra] = Declarations(clang_ast(headers, extra))
    return _PARSED[headers, extra]


def _find(name: str, units: list[Declarations], sets: tuple[HeaderSet, ...], supplement: str):
    """(unit index, FunctionDecl, source) of the first declaration of the routine or of its Nt/Zw twin."""
    for twin in (name, _twin(name)):
        for i, unit in enumerate(units):
            node = unit.functions.get(twin) if twin else None
            if node is not None:
                source = _source(unit.sources[twin], sets[i], supplement)
                return i, node, source if twin == name else f"{twin}, its Nt/Zw twin ({source}): {NT_ZW_SOURCE}"
    return None


def build(module: str, names: list[str] | None = None) -> dict:
    """The prototype table of one module: of `names`, by default the routines of its export list."""
    supplement = os.path.join(OUT, f"{module}.h")
    sets = MODULES.get(module, DEFAULT_HEADERS)
    # the supplement is read after the first header set, whose typedefs it uses
    extras = [f'#include "{supplement}"\n' if i == 0 and os.path.exists(supplement) else "" for i in range(len(sets))]
    units = [declarations(h, extra) for h, extra in zip(sets, extras)]
    wanted = names or routines(module)
    if wanted is None:
        wanted = sorted(n for n, f in units[0].sources.items() if _is(f, supplement))
    found = {name: hit for name in wanted if (hit := _find(name, units, sets, supplement))}
    # structures passed by value: their sizes decide how x64 passes them
    records: dict[int, set[str]] = {}
    for i, node, _ in found.values():
        for _, _, canonical in _types(node):
            canonical = units[i].resolve(canonical)
            if canonical.startswith(("struct ", "union ")) and not canonical.endswith(("*", "]", ")")):
                records.setdefault(i, set()).add(canonical)
    sizes = {i: record_sizes(sets[i], recs, extras[i]) for i, recs in records.items()}
    types: dict[str, list] = {}
    table: dict[str, dict] = {}
    for name in wanted:
        if name not in found:
            table[name] = {"returns": None, "params": None, "variadic": False, "source": "undeclared"}
            continue
        i, node, source = found[name]
        spelled = []
        for pname, spelling, canonical in _types(node):
            spelling = _ATTRIBUTES.sub("", spelling).strip()
            kind = units[i].kind(spelling, canonical, sizes.get(i, {}))
            if types.setdefault(spelling, list(kind)) != list(kind):
                sys.exit(f"make_prototypes: {module}: {spelling!r} has two kinds ({types[spelling]}, {kind})")
            spelled.append((pname, spelling))
        table[name] = {"returns": spelled[0][1], "params": [list(p) for p in spelled[1:]],
                       "variadic": bool(node.get("variadic")), "source": source}
    return {"module": module, "generator": "rootfs/make_prototypes.py",
            "types": dict(sorted(types.items())), "routines": table}


def _twin(name: str) -> str | None:
    if name.startswith("Zw"):
        return "Nt" + name[2:]
    if name.startswith("Nt"):
        return "Zw" + name[2:]
    return None


def _is(path: str, other: str) -> bool:
    return os.path.abspath(path) == os.path.abspath(other)


def _source(path: str, headers: HeaderSet, supplement: str) -> str:
    if _is(path, supplement):
        return f"rootfs/prototypes/{os.path.basename(supplement)}"
    for root in (f"{MINGW}/", f"{WINE}/"):
        if path.startswith(root):
            return f"{headers.label}: {path[len(root):]}"
    return f"{headers.label}: {path}"


def write(module: str, table: dict) -> str:
    """JSON with one routine per line: small diffs, and rootfs.prototypes parses only the lines it needs."""
    path = os.path.join(OUT, f"{module}.json")
    head = {k: v for k, v in table.items() if k != "routines"}
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ',"routines":{']
    items = [f"{json.dumps(n)}:{json.dumps(p, separators=(',', ':'))}" for n, p in table["routines"].items()]
    lines.extend([",\n".join(items)] if items else [])
    lines.append("}}\n")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return path


def main(argv: list[str]) -> int:
    listed = {f[:-4] for f in os.listdir(os.path.join(HERE, "exports")) if f.endswith(".txt")
              and not f.startswith("extra-")}
    supplemented = {f[:-2] for f in os.listdir(OUT) if f.endswith(".h")} if os.path.isdir(OUT) else set()
    modules = argv or sorted(listed | supplemented)
    os.makedirs(OUT, exist_ok=True)
    for module in modules:
        table = build(module)
        untyped = [n for n, p in table["routines"].items() if p["returns"] is None]
        print(f"{write(module, table)}: {len(table['routines'])} routines, {len(untyped)} undeclared")
        if untyped:
            print(f"  declare them in rootfs/prototypes/{module}.h, citing a source, to type them:\n  "
                  + " ".join(untyped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
