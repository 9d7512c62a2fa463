#!/usr/bin/env python3
"""Check the built corpus (bin/*.sys) against corpus.json without emulating it.

For every manifest entry this verifies, with pefile and capstone only:
  * x64 image, native subsystem, DYNAMIC_BASE and NX_COMPAT, not a DLL,
    a .reloc section, imports only from ntoskrnl.exe / hal.dll / fltmgr.sys /
    wdfldr.sys / ndis.sys / fwpkclnt.sys / wpprecorder.sys;
  * SectionAlignment 0x1000 (except the unaligned_* drivers);
  * the static findings: writable+executable sections (0x2003), sections that
    are not page aligned (0x2004), the IAT in an executable section (0x2005),
    and DIR64 relocations straddling a page (unsupported_relocs);
  * for each expected 0xC4 finding (DriverEntry, an IOCTL or a KMDF driver's
    EvtDriverDeviceAdd), that the API is called from exactly one site, a
    `call qword ptr [rip+IAT slot]`, or for a KMDF framework function a
    `call qword ptr [reg+8*index]` through WdfFunctions (index from
    rootfs/wdf/kmdf.json);
  * no tail `jmp` to any import anywhere; declared exports exist.

Usage: check_corpus.py [--sites] [NAME...]   (--sites lists every call site)
Exit status 0 when everything matches.
"""
import json
import os
import sys

import capstone
import pefile
from capstone import x86

HERE = os.path.dirname(os.path.abspath(__file__))
KMDF_TABLE = os.path.join(HERE, "..", "..", "rootfs", "wdf", "kmdf.json")
SCN_EXECUTE, SCN_WRITE = 0x20000000, 0x80000000


def section_name(s):
    return s.Name.rstrip(b"\0").decode()


def call_sites(pe):
    """{api: [(kind, rva)]}; kind 'iat' = call [rip+slot], 'thunk' = call to a
    jmp [rip+slot] stub, 'tailjmp' = jmp to an import outside a stub.  The rva
    of a call is its return address."""
    base = pe.OPTIONAL_HEADER.ImageBase
    slots = {}
    for desc in getattr(pe, "DIRECTORY_ENTRY_IMPORT", []):
        for imp in desc.imports:
            slots[imp.address] = imp.name.decode() if imp.name else f"#{imp.ordinal}"
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    insns = []
    for s in pe.sections:
        if s.Characteristics & SCN_EXECUTE:
            insns += md.disasm(s.get_data()[: s.Misc_VirtualSize], base + s.VirtualAddress)

    def rip_target(ins):
        op = ins.operands[0]
        if op.type == x86.X86_OP_MEM and op.mem.base == x86.X86_REG_RIP and op.mem.index == 0:
            return ins.address + ins.size + op.mem.disp
        return None

    with open(KMDF_TABLE, encoding="utf-8") as fh:
        framework = [f["name"] for f in json.load(fh)["functions"]]
    thunks = {i.address: slots[rip_target(i)] for i in insns
              if i.mnemonic == "jmp" and rip_target(i) in slots}
    sites = {}
    for i in insns:
        if i.mnemonic == "call":
            t = rip_target(i)
            if t in slots:
                sites.setdefault(slots[t], []).append(("iat", i.address + i.size - base))
            elif i.operands[0].type == x86.X86_OP_IMM and i.operands[0].imm in thunks:
                sites.setdefault(thunks[i.operands[0].imm], []).append(("thunk", i.address + i.size - base))
            elif (op := i.operands[0]).type == x86.X86_OP_MEM and op.mem.base not in (0, x86.X86_REG_RIP) \
                    and op.mem.index == 0 and op.mem.disp % 8 == 0 and 0 <= op.mem.disp // 8 < len(framework):
                sites.setdefault(framework[op.mem.disp // 8], []).append(("wdf", i.address + i.size - base))
        elif i.mnemonic == "jmp" and i.address not in thunks:
            t = rip_target(i)
            if t in slots:
                sites.setdefault(slots[t], []).append(("tailjmp", i.address - base))
            elif i.operands[0].type == x86.X86_OP_IMM and i.operands[0].imm in thunks:
                sites.setdefault(thunks[i.operands[0].imm], []).append(("tailjmp", i.address - base))
    return sites


def static_findings(pe):
    oh = pe.OPTIONAL_HEADER
    found = []
    for s in pe.sections:
        if s.Characteristics & SCN_EXECUTE and s.Characteristics & SCN_WRITE:
            found.append({"rule": "0x2003", "section": section_name(s)})
    for s in pe.sections:
        if oh.SectionAlignment % 0x1000 or s.VirtualAddress % 0x1000:
            found.append({"rule": "0x2004", "section": section_name(s)})
    iat = oh.DATA_DIRECTORY[12].VirtualAddress
    s = pe.get_section_by_rva(iat) if iat else None
    if s is not None and s.Characteristics & SCN_EXECUTE:
        found.append({"rule": "0x2005", "section": section_name(s)})
    straddling = sum(1 for b in getattr(pe, "DIRECTORY_ENTRY_BASERELOC", [])
                     for e in b.entries if e.type == 10 and (e.rva & 0xFFF) > 0xFF8)
    return found, straddling


def check(entry, show_sites=False):
    name = entry["name"]
    problems = []
    path = os.path.join(HERE, "bin", name + ".sys")
    if not os.path.exists(path):
        return ["missing " + path]
    pe = pefile.PE(path)
    oh = pe.OPTIONAL_HEADER
    if pe.FILE_HEADER.Machine != 0x8664:
        problems.append("not an x64 image")
    if oh.Subsystem != 1:
        problems.append(f"subsystem {oh.Subsystem}, expected 1 (native)")
    if oh.DllCharacteristics & 0x140 != 0x140:
        problems.append(f"DllCharacteristics {oh.DllCharacteristics:#x} lacks DYNAMIC_BASE/NX_COMPAT")
    if pe.FILE_HEADER.Characteristics & 0x2000:
        problems.append("IMAGE_FILE_DLL set")
    if not oh.DATA_DIRECTORY[5].VirtualAddress or not any(section_name(s) == ".reloc" for s in pe.sections):
        problems.append("no .reloc")
    dlls = {d.dll.decode().lower() for d in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])}
    if not dlls <= {"ntoskrnl.exe", "hal.dll", "fltmgr.sys", "wdfldr.sys", "ndis.sys", "fwpkclnt.sys", "wpprecorder.sys"}:    # none at all is fine: seh_unhandled_fault
        problems.append(f"imports from {sorted(dlls)}")
    if (oh.SectionAlignment != 0x1000) != name.startswith("unaligned"):
        problems.append(f"SectionAlignment {oh.SectionAlignment:#x}")

    found, straddling = static_findings(pe)
    key = lambda f: (f["rule"], f["section"])
    if sorted(found, key=key) != sorted(entry["static"], key=key):
        problems.append(f"static findings {found} != manifest {entry['static']}")
    if straddling != entry["unsupported_relocs"]:
        problems.append(f"{straddling} straddling relocations, manifest {entry['unsupported_relocs']}")

    sites = call_sites(pe)
    for api, lst in sites.items():
        for kind, rva in lst:
            if kind == "tailjmp":
                problems.append(f"tail jump to {api} at {rva:#x}")
    expected = [r for r in entry["runtime"] if r.get("code") == "0xC4"]
    for io in entry.get("ioctls", []) + [entry.get("device_add", {"runtime": []})]:
        expected += [r for r in io["runtime"] if r.get("code") == "0xC4"]
    for r in expected:
        lst = sites.get(r["api"], [])
        if len(lst) != 1 or lst[0][0] not in ("iat", "wdf"):
            problems.append(f"{r['api']}: call sites {lst}, expected one call [rip+IAT] or through WdfFunctions")
    exports = {s.name.decode() for s in pe.DIRECTORY_ENTRY_EXPORT.symbols} if hasattr(pe, "DIRECTORY_ENTRY_EXPORT") else set()
    wanted = [e["name"] for e in entry.get("exports", [])] + [r["arg1_export"] for r in entry["runtime"] if "arg1_export" in r]
    for w in wanted:
        if w not in exports:
            problems.append(f"export {w} missing")
    if show_sites:
        for api in sorted(sites):
            print(f"      {api:42} " + " ".join(f"{k}@{rva:#x}" for k, rva in sites[api]))
    return problems


def main(argv):
    show = "--sites" in argv
    names = [a for a in argv if not a.startswith("--")]
    with open(os.path.join(HERE, "corpus.json")) as f:
        manifest = json.load(f)
    entries = [e for e in manifest["drivers"] if not names or e["name"] in names]
    listed = {e["name"] for e in manifest["drivers"]}
    on_disk = {f[:-4] for f in os.listdir(os.path.join(HERE, "bin")) if f.endswith(".sys")}
    failures = 0
    if not names and on_disk != listed:
        print(f"FAIL bin/ and corpus.json differ: {sorted(on_disk ^ listed)}")
        failures += 1
    for e in entries:
        problems = check(e, show)
        print(("ok   " if not problems else "FAIL ") + e["name"])
        for p in problems:
            print("      " + p)
        failures += bool(problems)
    print(f"{len(entries)} checked, {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
