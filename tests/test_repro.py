"""`verifier repro`: a bug check reported at another load address is reproduced at the same RVA.

Expectations come from outside the tool: the call site's RVA is found here with pefile and capstone
(the one `call [IAT slot]` of the API in the image), Arg3/Arg4 from the drivers' C sources
(src/ioctl.c: NonPagedPool = 0, tag 'lctI'; src/dispatch.c CASE_HIDDEN: NonPagedPool, tag 'ndiH';
MmMapLockedPagesSpecifyCache with NormalPagePriority = 16 (wdm.h), Arg4 reserved 0).
"""
from __future__ import annotations

import ctypes
import json
import os
import struct

import capstone
import pefile
import pytest
from capstone import x86

from conftest import driver_path
from hooks import kstructs as ks
from verifier.cli import main

BASE = 0xFFFFF808_32100000              # where the "customer's" machine loaded the driver
NON_PAGED_POOL = 0                      # wdm.h POOL_TYPE NonPagedPool
NORMAL_PAGE_PRIORITY = 16               # wdm.h MM_PAGE_PRIORITY NormalPagePriority


def tag(text: str) -> int:
    """A C multi-character constant such as 'lctI', as gcc evaluates it."""
    return int.from_bytes(text.encode(), "big")


def return_address_rva(name: str, api: str) -> int:
    """The RVA after the only `call qword ptr [rip+slot]` whose slot is `api`'s IAT entry."""
    pe = pefile.PE(driver_path(name))
    slots = {imp.address - pe.OPTIONAL_HEADER.ImageBase for entry in pe.DIRECTORY_ENTRY_IMPORT
             for imp in entry.imports if imp.name == api.encode()}
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    md.skipdata = True
    found = []
    for s in pe.sections:
        if not s.Characteristics & pefile.SECTION_CHARACTERISTICS["IMAGE_SCN_MEM_EXECUTE"]:
            continue
        for insn in md.disasm(s.get_data()[:s.Misc_VirtualSize], s.VirtualAddress):
            if insn.mnemonic == "call" and insn.operands and insn.operands[0].type == x86.X86_OP_MEM \
                    and insn.operands[0].mem.base == x86.X86_REG_RIP \
                    and insn.address + insn.size + insn.operands[0].mem.disp in slots:
                found.append(insn.address + insn.size)
    assert len(found) == 1, (name, api, found)
    return found[0]


def size_of_image(name: str) -> int:
    return pefile.PE(driver_path(name), fast_load=True).OPTIONAL_HEADER.SizeOfImage


def tick(value: int) -> str:
    """WinDbg's 64-bit spelling: fffff808`32101057."""
    return f"{value >> 32:08x}`{value & 0xFFFFFFFF:08x}"


def analyze(code: int, args, module: str, lm: bool = True, stack_rva: int | None = None) -> str:
    """`!analyze -v` output as WinDbg prints it for a 0xC4."""
    lines = ["*" * 79, "*                        Bugcheck Analysis", "*" * 79, "",
             f"DRIVER_VERIFIER_DETECTED_VIOLATION ({code:x})",
             "A device driver attempting to corrupt the system has been caught.", "Arguments:"]
    lines += [f"Arg{i + 1}: {a:016x}, description" for i, a in enumerate(args)]
    lines += ["", "Debugging Details:", "------------------", "", f"BUGCHECK_CODE:  {code:x}"]
    lines += [f"BUGCHECK_P{i + 1}: {a:x}" for i, a in enumerate(args)]
    if stack_rva is not None:
        lines += ["", "STACK_TEXT:  ",
                  f"ffffd001`23456000 fffff801`11112222     : 00000000`000000c4 00000000`00002000 {tick(args[1])} "
                  "00000000`00000000 : nt!KeBugCheckEx",
                  f"ffffd001`23456040 {tick(args[1])}     : 00000000`00000000 00000000`00000000 00000000`00000000 "
                  "00000000`00000000 : nt!VerifierExAllocatePoolWithTag+0x90",
                  f"ffffd001`23456080 fffff801`11113333     : 00000000`00000000 00000000`00000000 00000000`00000000 "
                  f"00000000`00000000 : {module}+0x{stack_rva:x}"]
    lines += ["", f"MODULE_NAME: {module}", "", f"IMAGE_NAME:  {module}.sys", ""]
    if lm:
        lines += ["kd> lm", "start             end                 module name",
                  f"fffff801`11000000 fffff801`11a00000   nt         (pdb symbols)",
                  f"{tick(BASE)} {tick(BASE + size_of_image(module))}   {module}   (deferred)"]
    return "\n".join(lines) + "\n"


def run_repro(tmp_path, capsys, driver: str, text: str | bytes, *extra: str) -> tuple[int, dict, str]:
    source = tmp_path / "bugcheck.txt"
    source.write_bytes(text if isinstance(text, bytes) else text.encode())
    scenario = tmp_path / "repro.json"
    code = main(["repro", driver_path(driver), "--bugcheck", str(source), "--format", "json",
                 "--scenario-out", str(scenario), *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else {}, err


CASES = {
    # driver, API, Arg1, Arg3, Arg4
    "ioctl": ("ioctl", "ExAllocatePoolWithTag", 0x2000, NON_PAGED_POOL, tag("lctI")),
    "hidden_pool": ("hidden_ioctl", "ExAllocatePoolWithTag", 0x2000, NON_PAGED_POOL, tag("ndiH")),
    "hidden_mdl": ("hidden_ioctl", "MmMapLockedPagesSpecifyCache", 0x2002, NORMAL_PAGE_PRIORITY, 0),
}


def expected(case: str) -> tuple[str, tuple[int, int, int, int], int]:
    driver, api, arg1, arg3, arg4 = CASES[case]
    rva = return_address_rva(driver, api)
    return driver, (arg1, BASE + rva, arg3, arg4), rva


def check_reproduced(code: int, doc: dict, args, rva: int, tmp_path) -> dict:
    assert code == 0 and doc["exit_code"] == 0, doc.get("drivers")
    repro = doc["drivers"][0]["repro"]
    assert repro["reproduced"] is True
    assert repro["reported"] == {"code": 0xC4, "args": list(args), "caller_rva": rva}
    emulated = repro["emulated"]
    assert emulated["code"] == 0xC4 and emulated["caller_rva"] == rva
    assert [emulated["args"][i] for i in (0, 2, 3)] == [args[0], args[2], args[3]]
    assert emulated["args"][1] != args[1]                 # our load base is not the customer's
    return repro


@pytest.mark.parametrize("case", sorted(CASES))
def test_analyze_text_at_another_load_base_reproduces_the_call(case, tmp_path, capsys):
    driver, args, rva = expected(case)
    code, doc, _ = run_repro(tmp_path, capsys, driver, analyze(0xC4, args, driver))
    repro = check_reproduced(code, doc, args, rva, tmp_path)
    # The scenario written replays the bug check on its own.
    assert repro["scenario"] == str(tmp_path / "repro.json")
    replay = main(["run", "--scenario", repro["scenario"], "--format", "json", driver_path(driver)])
    found = json.loads(capsys.readouterr().out)["drivers"][0]["bugchecks"]
    assert replay == 1 and [(b["args"][0], b["caller_rva"]) for b in found] == [(args[0], rva)]
    if case == "hidden_mdl":
        # The default scenario stops at 0x90002402's executable pool: only the bounded search, sending
        # 0x90002405 alone, maps the MDL.
        steps = json.loads((tmp_path / "repro.json").read_text())["steps"]
        assert [s.get("ioctl") for s in steps if s["irp"] == "IRP_MJ_DEVICE_CONTROL"] == ["0x90002405"]


def test_text_report_names_the_call_site_and_api(tmp_path, capsys):
    driver, args, rva = expected("ioctl")
    (tmp_path / "b.txt").write_text(analyze(0xC4, args, driver))
    code = main(["repro", driver_path(driver), "--bugcheck", str(tmp_path / "b.txt"),
                 "--scenario-out", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert code == 0 and "REPRODUCED" in out and "ExAllocatePoolWithTag" in out
    # the call instruction is 6 bytes (ff 15 disp32) before the return address
    assert f"{driver}+0x{rva - 6:x}" in out and f"0x{args[1]:x}" in out


def test_dot_bugcheck_output_with_load_base_option(tmp_path, capsys):
    driver, args, rva = expected("ioctl")
    text = "kd> .bugcheck\nBugcheck code 000000C4\nArguments " + " ".join(tick(a) for a in args) + "\n"
    code, doc, _ = run_repro(tmp_path, capsys, driver, text, "--load-base", tick(BASE))
    check_reproduced(code, doc, args, rva, tmp_path)


def test_event_log_bugcheck_line_with_lm_line(tmp_path, capsys):
    driver, args, rva = expected("hidden_pool")
    text = (f"The computer has rebooted from a bugcheck.  The bugcheck was: 0x000000c4 (0x...). "
            f"BugCheck C4, {{{args[0]:x}, {tick(args[1])}, {args[2]:x}, {args[3]:x}}}\n"
            f"{tick(BASE)} {tick(BASE + size_of_image(driver))}   {driver}   (deferred)\n")
    code, doc, _ = run_repro(tmp_path, capsys, driver, text)
    check_reproduced(code, doc, args, rva, tmp_path)


def test_load_base_from_the_stack_frame_naming_the_driver(tmp_path, capsys):
    driver, args, rva = expected("ioctl")
    code, doc, _ = run_repro(tmp_path, capsys, driver, analyze(0xC4, args, driver, lm=False, stack_rva=rva))
    check_reproduced(code, doc, args, rva, tmp_path)


def test_utf16_text_as_windbg_logs_it(tmp_path, capsys):
    driver, args, rva = expected("ioctl")
    code, doc, _ = run_repro(tmp_path, capsys, driver, analyze(0xC4, args, driver).encode("utf-16"))
    check_reproduced(code, doc, args, rva, tmp_path)


# ---- kernel dumps -------------------------------------------------------------------------------------
PAGE = 0x1000
MODULES_VA = 0xFFFFF800_12345000         # the page holding PsLoadedModuleList and its entries


def full_dump(code: int, args, modules: list[tuple[str, int, int]], rip: int = 0) -> bytes:
    """A minimal full kernel dump (DumpType 1) in kdmp-parser's layout (kdmp-parser-structs.h):
    DUMP_HEADER64 in 0x2000 bytes, one physical-memory run, then the pages: a 4-level page table
    mapping MODULES_VA, and that page with PsLoadedModuleList and KLDR_DATA_TABLE_ENTRYs."""
    header = bytearray(0x2000)
    header[0:8] = b"PAGEDU64"
    pages = 6                                         # 0 unused, 1 PML4, 2 PDPT, 3 PD, 4 PT, 5 data
    struct.pack_into("<IIQQQQIII", header, 0x8, 15, 19041, 1 * PAGE, 0, MODULES_VA, 0, 0x8664, 1, code)
    struct.pack_into("<4Q", header, 0x40, *args)
    struct.pack_into("<IIQQQ", header, 0x88, 1, 0, pages, 0, pages)      # NumberOfRuns, NumberOfPages, Run[0]
    struct.pack_into("<Q", header, 0x348 + 0xF8, rip)                      # CONTEXT.Rip
    struct.pack_into("<I", header, 0xF98, 1)                               # DumpType: full
    memory = bytearray(pages * PAGE)
    indices = [(MODULES_VA >> shift) & 0x1FF for shift in (39, 30, 21, 12)]
    for level, index in enumerate(indices, 1):                            # PML4 -> PDPT -> PD -> PT -> data
        struct.pack_into("<Q", memory, level * PAGE + 8 * index, ((level + 1) * PAGE) | 0x3)
    data = 5 * PAGE
    entry_size = ctypes.sizeof(ks.LDR_DATA_TABLE_ENTRY)
    links = [MODULES_VA + 0x100 + i * 0x100 for i in range(len(modules))] + [MODULES_VA]
    struct.pack_into("<QQ", memory, data, links[0], links[-2] if modules else MODULES_VA)
    for i, (name, base, size) in enumerate(modules):
        entry = ks.LDR_DATA_TABLE_ENTRY()
        entry.InLoadOrderLinks.Flink = links[i + 1]
        entry.DllBase, entry.SizeOfImage = base, size
        text = name.encode("utf-16-le")
        entry.BaseDllName.Length = entry.BaseDllName.MaximumLength = len(text)
        entry.BaseDllName.Buffer = MODULES_VA + 0x800 + i * 0x80
        off = links[i] - MODULES_VA
        memory[data + off:data + off + entry_size] = bytes(entry)
        memory[data + 0x800 + i * 0x80:data + 0x800 + i * 0x80 + len(text)] = text
    return bytes(header) + bytes(memory)


def test_full_kernel_dump_gives_the_bugcheck_and_the_load_base(tmp_path, capsys):
    pytest.importorskip("kdmp_parser")
    driver, args, rva = expected("ioctl")
    dump = full_dump(0xC4, args, [("ntoskrnl.exe", 0xFFFFF801_11000000, 0xA00000),
                                  (f"{driver}.sys", BASE, size_of_image(driver))], rip=0xFFFFF801_11112222)
    code, doc, _ = run_repro(tmp_path, capsys, driver, dump)
    check_reproduced(code, doc, args, rva, tmp_path)


def test_kdmp_parser_reads_the_fixture_as_windows_dumps_are_read(tmp_path):
    kdmp_parser = pytest.importorskip("kdmp_parser")
    path = tmp_path / "MEMORY.DMP"
    path.write_bytes(full_dump(0xC4, (0x2000, BASE + 0x10, 0, 0), [], rip=0xFFFFF801_11112222))
    dump = kdmp_parser.KernelDumpParser(path)
    assert dump.type == kdmp_parser.DumpType.FullDump and dump.header.BugCheckCode == 0xC4
    assert list(dump.header.BugCheckCodeParameter) == [0x2000, BASE + 0x10, 0, 0]
    assert dump.context.Rip == 0xFFFFF801_11112222
    assert dump.read_virtual_page(MODULES_VA)[:8] == struct.pack("<Q", MODULES_VA)   # empty list: head -> head


def test_minidump_header_with_load_base(tmp_path, capsys):
    driver, args, rva = expected("ioctl")
    header = bytearray(0x2000)
    header[0:8] = b"PAGEDU64"
    struct.pack_into("<I", header, 0x38, 0xC4)
    struct.pack_into("<4Q", header, 0x40, *args)
    struct.pack_into("<I", header, 0xF98, 4)                               # DumpType: triage (minidump)
    code, doc, _ = run_repro(tmp_path, capsys, driver, bytes(header), "--load-base", hex(BASE))
    check_reproduced(code, doc, args, rva, tmp_path)


# ---- unusable input: one line, exit 2 ---------------------------------------------------------------
def one_line_error(code: int, err: str) -> str:
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_arg2_outside_the_driver(tmp_path, capsys):
    driver, args, _ = expected("ioctl")
    outside = (args[0], BASE + size_of_image(driver) + 0x1000, args[2], args[3])
    code, _, err = run_repro(tmp_path, capsys, driver, analyze(0xC4, outside, driver))
    err = one_line_error(code, err)
    assert f"Arg2 0x{outside[1]:x} is outside ioctl.sys (loaded at 0x{BASE:x}" in err
    assert "wrong driver or wrong load base" in err


@pytest.mark.parametrize("text, missing", [
    ("nothing to see here\n", "no bug check code"),
    ("DRIVER_VERIFIER_DETECTED_VIOLATION (c4)\nArg1: 0000000000002000, x\n", "Arg2, Arg3, Arg4"),
])
def test_malformed_text(text, missing, tmp_path, capsys):
    code, _, err = run_repro(tmp_path, capsys, "ioctl", text)
    assert missing in one_line_error(code, err)


def test_text_of_another_driver(tmp_path, capsys):
    driver, args, _ = expected("ioctl")
    code, _, err = run_repro(tmp_path, capsys, "hidden_ioctl", analyze(0xC4, args, driver))
    assert "names ioctl.sys" in one_line_error(code, err) and "not hidden_ioctl.sys" in err


def test_address_that_follows_no_call_in_this_driver(tmp_path, capsys):
    # an anonymous BugCheck line against the wrong image: RVA 0x200 is in the PE headers
    code, _, err = run_repro(tmp_path, capsys, "hidden_ioctl", f"BugCheck C4, {{2000, {BASE + 0x200:x}, 0, 0}}\n",
                             "--load-base", hex(BASE))
    assert "does not follow a call instruction" in one_line_error(code, err)


def test_no_load_base(tmp_path, capsys):
    code, _, err = run_repro(tmp_path, capsys, "ioctl", f"BugCheck C4, {{2000, {BASE + 0x1000:x}, 0, 0}}\n")
    assert "--load-base" in one_line_error(code, err)


def test_not_reproduced_names_the_closest_point(tmp_path, capsys):
    # The pool call of ioctl.sys, but with a tag the driver never passes: the call site is reached
    # with other arguments, so nothing matches and the run says how near it came.
    driver, args, rva = expected("ioctl")
    other = (args[0], args[1], args[2], tag("XXXX"))
    code, doc, _ = run_repro(tmp_path, capsys, driver, analyze(0xC4, other, driver), "--time", "20")
    repro = doc["drivers"][0]["repro"]
    assert code == 1 and repro["reproduced"] is False and repro["emulated"] is None
    # the driver's own tag (src/ioctl.c) where the report has 'XXXX'
    reached = [c for c in repro["closest"] if "the call site was reached" in c]
    assert len(reached) == 1 and f"0x{tag('lctI'):x}}} instead of" in reached[0], repro["closest"]
    assert f"0x{tag('XXXX'):x}}} (the default scenario" in reached[0], reached
    (tmp_path / "b.txt").write_text(analyze(0xC4, other, driver))
    main(["repro", driver_path(driver), "--bugcheck", str(tmp_path / "b.txt"), "--time", "20",
          "--scenario-out", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert "NOT REPRODUCED" in out and "the call site was reached" in out and "verifier fuzz" in out
    assert not os.path.exists(tmp_path / "s.json")


# ---- other bug checks: the faulting instruction's RVA and the load-independent arguments -------------
def only_instruction_rva(name: str, mnemonic: str) -> int:
    """The RVA of the one `mnemonic` instruction in the driver's code (faults.c puts exactly one there)."""
    pe = pefile.PE(driver_path(name))
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = True
    found = [i.address for s in pe.sections
             if s.Characteristics & pefile.SECTION_CHARACTERISTICS["IMAGE_SCN_MEM_EXECUTE"]
             for i in md.disasm(s.get_data()[:s.Misc_VirtualSize], s.VirtualAddress) if i.mnemonic == mnemonic]
    assert len(found) == 1, (name, mnemonic, found)
    return found[0]


@pytest.mark.parametrize("driver, mnemonic, status", [
    ("ud2", "ud2", 0xC000001D),          # STATUS_ILLEGAL_INSTRUCTION (ntstatus.h)
    ("div0", "div", 0xC0000094),         # STATUS_INTEGER_DIVIDE_BY_ZERO
])
def test_unhandled_exception_in_driver_entry(driver, mnemonic, status, tmp_path, capsys):
    rva = only_instruction_rva(driver, mnemonic)
    # SYSTEM_THREAD_EXCEPTION_NOT_HANDLED: Arg3/Arg4 are the exception and context records on that
    # machine's stack: load-dependent, so anything.
    # x64 Windows prints the exception code sign-extended, as WinDbg's Arg1: ffffffff`c000001d
    args = (0xFFFFFFFF_00000000 | status, BASE + rva, 0xFFFFD001_23456000, 0xFFFFD001_23455000)
    text = f"BugCheck 1000007E, {{{tick(args[0])}, {tick(args[1])}, {tick(args[2])}, {tick(args[3])}}}\n"
    code, doc, _ = run_repro(tmp_path, capsys, driver, text, "--load-base", tick(BASE))
    assert code == 0, doc
    repro = doc["drivers"][0]["repro"]
    assert repro["reported"] == {"code": 0x7E, "args": list(args), "caller_rva": rva}
    assert repro["emulated"]["code"] == 0x7E and repro["emulated"]["args"][0] == status
    assert repro["emulated"]["caller_rva"] == rva


def test_module_of_another_size_is_another_build(tmp_path, capsys):
    driver, args, _ = expected("ioctl")
    text = analyze(0xC4, args, driver).replace(tick(BASE + size_of_image(driver)),
                                               tick(BASE + size_of_image(driver) + 0x2000))
    code, _, err = run_repro(tmp_path, capsys, driver, text)
    assert "a different build of the driver" in one_line_error(code, err)


def test_bugcheck_from_stdin(tmp_path, capsys, monkeypatch):
    import io
    driver, args, rva = expected("ioctl")
    monkeypatch.setattr("sys.stdin", io.StringIO(analyze(0xC4, args, driver)))
    code = main(["repro", driver_path(driver), "--bugcheck", "-", "--format", "json",
                 "--scenario-out", str(tmp_path / "repro.json")])
    check_reproduced(code, json.loads(capsys.readouterr().out), args, rva, tmp_path)


def test_dump_whose_module_list_lacks_the_driver(tmp_path, capsys):
    pytest.importorskip("kdmp_parser")
    driver, args, _ = expected("ioctl")
    dump = full_dump(0xC4, args, [("ntoskrnl.exe", 0xFFFFF801_11000000, 0xA00000)])
    code, _, err = run_repro(tmp_path, capsys, driver, dump)
    assert "no load base for ioctl" in one_line_error(code, err)


def test_dump_kind_kdmp_parser_does_not_read(tmp_path, capfd):
    pytest.importorskip("kdmp_parser")
    driver, args, _ = expected("ioctl")
    dump = bytearray(full_dump(0xC4, args, []))
    struct.pack_into("<I", dump, 0xF98, 2)                                   # a kernel summary dump
    code, doc, err = run_repro(tmp_path, capfd, driver, bytes(dump))        # capfd: kdmp-parser's C printf too
    assert doc == {} and "kdmp-parser cannot read this kernel summary dump" in one_line_error(code, err)


def test_not_reproduced_says_the_reported_instruction_ran(tmp_path, capsys):
    # A 0x7E reported at ioctl.sys's entry point: every run executes that instruction, none faults there.
    rva = pefile.PE(driver_path("ioctl"), fast_load=True).OPTIONAL_HEADER.AddressOfEntryPoint
    text = f"BugCheck 7E, {{c0000005, {BASE + rva:x}, 0, 0}}\n"
    code, doc, _ = run_repro(tmp_path, capsys, "ioctl", text, "--load-base", hex(BASE))
    repro = doc["drivers"][0]["repro"]
    assert code == 1 and repro["reproduced"] is False
    assert repro["closest"][0].startswith(f"the instruction at RVA 0x{rva:x} ran, without this bug check "
                                          "(the default scenario, and "), repro["closest"]


def test_event_1001_sentence():
    from verifier.bugcheck_text import parse
    r = parse("The computer has rebooted from a bugcheck.  The bugcheck was: 0x1000007e (0xffffffffc0000005, "
              "0xfffff80832101057, 0xffffd00123456000, 0xffffd00123455000). A dump was saved in: "
              "C:\\Windows\\MEMORY.DMP. Report Id: 1.")
    assert (r.code, r.args) == (0x7E, (0xFFFFFFFFC0000005, 0xFFFFF80832101057, 0xFFFFD00123456000, 0xFFFFD00123455000))
