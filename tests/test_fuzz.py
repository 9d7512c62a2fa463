"""`verifier fuzz`: coverage-guided IRP fuzzing from a snapshot (real Unicorn, corpus drivers).

Expectations come from the C source of fuzz_target.sys (src/fuzz_target.c): IOCTL 0x222400 reaches
ExAllocatePoolWithTag(NonPagedPool = 0, 0x80, 'gaMF') only when the ULONG at input offset 4 is
0x46555A5A; IOCTL 0x222404 reaches ExAllocatePool(NonPagedPool, 0x200) (tag 'None', as wdm.h's
ExAllocatePool gives) only when its first allocation (NonPagedPoolNx) fails. Call sites are found
with pefile and capstone.
"""
from __future__ import annotations

import json
import os

import capstone
import pefile
import pytest
from capstone import x86

from conftest import driver_path
from verifier.cli import main

MAGIC_IOCTL, LOWRES_IOCTL = 0x222400, 0x222404
MAGIC = 0x46555A5A
C4, EXECUTABLE_POOL = 0xC4, 0x2000
NON_PAGED_POOL = 0


def tag(text: str) -> int:
    """A C multi-character constant such as 'gaMF', as gcc evaluates it."""
    return int.from_bytes(text.encode(), "big")


def allocation_sites(name: str, api: str = "ExAllocatePoolWithTag") -> dict[int, int | None]:
    """Return-address RVA of each `call [api]` -> the last value moved into r8d before it (the tag)."""
    pe = pefile.PE(driver_path(name))
    slot = next(imp.address - pe.OPTIONAL_HEADER.ImageBase for entry in pe.DIRECTORY_ENTRY_IMPORT
                for imp in entry.imports if imp.name == api.encode())
    text = next(s for s in pe.sections if s.Name.rstrip(b"\0") == b".text")
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    sites, last_tag = {}, None
    for ins in md.disasm(text.get_data(), text.VirtualAddress):
        ops = ins.operands
        if ins.mnemonic == "mov" and len(ops) == 2 and ops[0].type == x86.X86_OP_REG \
                and ins.reg_name(ops[0].reg) == "r8d" and ops[1].type == x86.X86_OP_IMM:
            last_tag = ops[1].imm & 0xFFFFFFFF
        if ins.mnemonic == "call" and ops[0].type == x86.X86_OP_MEM and ops[0].mem.base == x86.X86_REG_RIP \
                and ins.address + ins.size + ops[0].mem.disp == slot:
            sites[ins.address + ins.size] = last_tag
    return sites


def fuzz(capsys, tmp_path, *args) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["fuzz", driver_path("fuzz_target"), "--format", "json", "-o", str(out), *map(str, args)])
    capsys.readouterr()
    return code, json.loads(out.read_text())["drivers"][0]


def by_tag(findings: list[dict]) -> dict[int, dict]:
    return {f["args"][3]: f for f in findings}


def test_a_four_byte_magic_behind_an_ioctl_is_found_from_an_empty_corpus(capsys, tmp_path):
    code, d = fuzz(capsys, tmp_path, "--runs", 20000, "--out", tmp_path / "out")
    fuzz_record = d["fuzz"]
    assert code == 1 and fuzz_record["execs"] == 20000 and fuzz_record["seconds"] < 60
    found = by_tag(fuzz_record["findings"])
    assert set(found) == {tag("gaMF")}                  # the low-resources path needs flag 0x4
    assert len(fuzz_record["findings"]) == 1
    f = found[tag("gaMF")]
    sites = allocation_sites("fuzz_target")
    assert (f["code"], f["args"][0], f["args"][2]) == (C4, EXECUTABLE_POOL, NON_PAGED_POOL)
    assert sites[f["caller_rva"]] == tag("gaMF") and f["entry_point"] == "IRP_MJ_DEVICE_CONTROL"
    assert f["reproduced"] is True and d["bugchecks"][0]["caller_rva"] == f["caller_rva"]
    # The minimised scenario: CREATE, then the IOCTL with 8 bytes whose second ULONG is the magic.
    steps = json.loads(open(f["scenario"]).read())["steps"]
    assert steps[0] == {"irp": "IRP_MJ_CREATE"} and len(steps) == 2
    ioctl = steps[1]
    assert (ioctl["irp"], int(ioctl["ioctl"], 16)) == ("IRP_MJ_DEVICE_CONTROL", MAGIC_IOCTL)
    data = bytes.fromhex(ioctl["input_hex"])
    assert len(data) == 8 and int.from_bytes(data[4:8], "little") == MAGIC
    assert os.path.exists(f["scenario"][:-5] + ".txt")


def test_a_violation_behind_a_failed_allocation_needs_low_resources_simulation(capsys, tmp_path):
    _, d = fuzz(capsys, tmp_path, "--runs", 3000, "--flags", "0x02000004", "--out", tmp_path / "out")
    found = by_tag(d["fuzz"]["findings"])
    assert tag("enoN") in found                         # 'None': the tag ExAllocatePool gives
    f = found[tag("enoN")]
    assert list(allocation_sites("fuzz_target", "ExAllocatePool")) == [f["caller_rva"]]
    assert (f["api"], f["args"][2]) == ("ExAllocatePool", NON_PAGED_POOL)
    steps = json.loads(open(f["scenario"]).read())["steps"]
    assert steps[1]["irp"] == "IRP_MJ_DEVICE_CONTROL" and int(steps[1]["ioctl"], 16) == LOWRES_IOCTL
    assert steps[1]["fail_allocation"] == 1             # the first allocation of the request fails
    # The same runs without flag 0x4 never fail an allocation: no such finding.
    _, plain = fuzz(capsys, tmp_path, "--runs", 3000, "--out", tmp_path / "plain")
    assert tag("enoN") not in by_tag(plain["fuzz"]["findings"])


def test_findings_replay_with_run_scenario(capsys, tmp_path):
    _, d = fuzz(capsys, tmp_path, "--runs", 3000, "--flags", "0x02000004", "--out", tmp_path / "out")
    assert len(d["fuzz"]["findings"]) == 2
    for f in d["fuzz"]["findings"]:
        out = tmp_path / "replay.json"
        code = main(["run", driver_path("fuzz_target"), "--scenario", f["scenario"], "--format", "json",
                     "-o", str(out)])
        capsys.readouterr()
        replayed = json.loads(out.read_text())["drivers"][0]["bugchecks"]
        assert code == 1
        assert [(b["code"], b["args"][0], b["args"][3], b["caller_rva"]) for b in replayed] == \
            [(f["code"], f["args"][0], f["args"][3], f["caller_rva"])]


def test_a_fixed_seed_gives_the_same_findings_and_corpus(capsys, tmp_path):
    runs = []
    for i in range(2):
        corpus, out = tmp_path / f"corpus{i}", tmp_path / f"out{i}"
        _, d = fuzz(capsys, tmp_path, "--runs", 4000, "--seed", 7, "--flags", "0x02000004", "--corpus", corpus,
                    "--out", out)
        record = d["fuzz"]
        files = {p: (out / p).read_bytes() for p in sorted(os.listdir(out))}
        findings = [{**f, "scenario": os.path.basename(f["scenario"])} for f in record["findings"]]
        runs.append((findings, record["edges"], record["corpus"], sorted(os.listdir(corpus)), files))
    assert runs[0] == runs[1] and runs[0][0]


def test_jobs_share_the_corpus_folder_and_merge_findings(capsys, tmp_path):
    corpus = tmp_path / "corpus"
    _, d = fuzz(capsys, tmp_path, "--runs", 6000, "--jobs", 2, "--flags", "0x02000004", "--corpus", corpus,
                "--out", tmp_path / "out")
    record = d["fuzz"]
    assert record["jobs"] == 2 and record["execs"] == 6000
    assert set(by_tag(record["findings"])) == {tag("gaMF"), tag("enoN")}
    assert len(os.listdir(corpus)) >= record["corpus"] > 1


def test_the_dictionary_holds_the_magic_the_driver_compares_against():
    from verifier.fuzz.target import FuzzTarget
    from verifier.harvest import comparison_operands
    from verifier.session import Options
    path = driver_path("fuzz_target")
    target = FuzzTarget(path, open(path, "rb").read(), Options(), 1.0)
    target.prepare()
    k, image = target.session.kernel, target.session.driver.image
    routine = target.run.major_routine(0x0E)            # IRP_MJ_DEVICE_CONTROL
    tokens = comparison_operands(k.mem.read, [routine], image.base, image.size)
    assert MAGIC.to_bytes(4, "little") in tokens and LOWRES_IOCTL.to_bytes(4, "little") in tokens


@pytest.mark.parametrize("name,args,message", [
    ("missing", [], "cannot read"),
    ("pool_nx", [], "created no device"),
    ("clean_gcc", [], "handles none of IRP_MJ_DEVICE_CONTROL"),
    ("create_fails", [], "IRP_MJ_CREATE fails with 0xC0000022"),      # STATUS_ACCESS_DENIED, src/create_fails.c
    ("fuzz_target", ["--scenario", "/nonexistent.json"], "cannot read the scenario"),
    ("fuzz_target", ["--out", driver_path("fuzz_target") + "/findings"],      # below a file: no folder there
     "cannot use folder " + driver_path("fuzz_target") + "/findings: Not a directory"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, name, args, message):
    path = driver_path(name) if name != "missing" else "/nonexistent/driver.sys"
    code = main(["fuzz", path, "--runs", "10", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_repro_fuzzes_when_the_bounded_search_cannot_reach_the_call(tmp_path, capsys):
    """A customer's 0xC4 at the magic-guarded call (reported at another load base): the default
    scenario and the bounded search send no magic, so the fuzzing stage finds the input."""
    base = 0xFFFFF808_32100000
    rva = next(r for r, t in allocation_sites("fuzz_target").items() if t == tag("gaMF"))
    text = f"BugCheck C4, {{2000, {base + rva:x}, 0, {tag('gaMF'):x}}}\n"
    (tmp_path / "b.txt").write_text(text)
    scenario = tmp_path / "repro.json"
    code = main(["repro", driver_path("fuzz_target"), "--bugcheck", str(tmp_path / "b.txt"), "--load-base",
                 f"{base:x}", "--time", "60", "--format", "json", "--scenario-out", str(scenario)])
    repro = json.loads(capsys.readouterr().out)["drivers"][0]["repro"]
    assert code == 0 and repro["reproduced"] and repro["found_by"].startswith("fuzzing")
    steps = json.loads(scenario.read_text())["steps"]
    ioctl = next(s for s in steps if s.get("ioctl"))
    data = bytes.fromhex(ioctl["input_hex"])
    assert int(ioctl["ioctl"], 16) == MAGIC_IOCTL and int.from_bytes(data[4:8], "little") == MAGIC


def test_a_driver_that_bug_checks_before_any_input_is_fuzzed_as_with_continue(capsys, tmp_path):
    """The prefix itself violates (IOCTL 0x222404 with its first allocation failed: 0x2000 'None'),
    as drivers that ask for executable pool in DriverEntry do: Windows would stop there, the fuzzer
    records it and goes on, and the magic finding replays with `run --continue --scenario`."""
    prefix = tmp_path / "prefix.json"
    prefix.write_text(json.dumps({"version": 1, "steps": [
        {"irp": "IRP_MJ_CREATE"},
        {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": f"0x{LOWRES_IOCTL:X}", "fail_allocation": 1}]}))
    code, d = fuzz(capsys, tmp_path, "--runs", 20000, "--scenario", prefix, "--out", tmp_path / "out")
    assert code == 1 and [w["kind"] for w in d["warnings"]] == ["fuzzed-with-continue"]
    assert [b["args"][3] for b in d["bugchecks"]] == [tag("enoN"), tag("gaMF")]   # the prefix's first
    f = by_tag(d["fuzz"]["findings"])[tag("gaMF")]
    assert f["reproduced"] is True
    out = tmp_path / "replay.json"
    assert main(["run", driver_path("fuzz_target"), "--continue", "--scenario", f["scenario"], "--format", "json",
                 "-o", str(out)]) == 1
    capsys.readouterr()
    replayed = json.loads(out.read_text())["drivers"][0]["bugchecks"]
    assert [b["args"][3] for b in replayed] == [tag("enoN"), tag("gaMF")]


def test_an_irp_completed_before_its_routine_bug_checked_renders_without_a_status():
    """Found by fuzzing WinIo64.sys: the routine completed the IRP, then faulted (no status)."""
    from verifier.render.text import driver_block
    from verifier.report import DriverReport, EntryPointResult
    report = DriverReport("x.sys", entry_points=[EntryPointResult("IRP_MJ_DEVICE_CONTROL", outcome="bugcheck",
                                                                  ioctl=0x80102040, completed=True)])
    assert "  IRP_MJ_DEVICE_CONTROL 0x80102040: did not return (bugcheck)" in driver_block(report).splitlines()


def test_an_input_maps_no_page_and_restores_to_the_snapshot_exactly():
    """The fuzz snapshot is taken with a fresh small-block pool page and the calling process's heap:
    an IOCTL input (an IRP, its system buffer, the caller's output buffer) edits no page table,
    so its restore undoes no mapping; and a restore after it leaves RAM as at the snapshot."""
    from verifier.fuzz.target import FuzzTarget
    from verifier.scenario import ioctl_step
    from verifier.session import Options
    path = driver_path("fuzz_bench")
    target = FuzzTarget(path, open(path, "rb").read(), Options(), 2.0)
    target.prepare()
    k = target.session.kernel
    top = k.machine.phys._next
    ram = bytes(k.machine.phys.view[:top])
    for data in (b"FZ\x01\x03\x01\x02\xff", b"FZ\x02\x07" + bytes(60), b""):
        target.execute([ioctl_step(0x222400, data, 16)])
        entry = target.session.report.entry_points[-1]
        assert entry.name == "IRP_MJ_DEVICE_CONTROL" and entry.outcome == "returned"
        assert k.mem.journal == [] and k.machine.phys._next == top
    assert target.session.report.entry_points[-1].status == 0xC000000D    # the empty request is refused
    k.restore(target.snap)
    assert bytes(k.machine.phys.view[:top]) == ram


def test_an_upper_filter_is_fuzzed_through_the_device_below(capsys, tmp_path):
    """upper_filter passes CREATE down (the PnP start, then the prefix): the device below opens it, so
    the filter is fuzzed, and its own IOCTL's executable pool is found."""
    out = tmp_path / "report.json"
    code = main(["fuzz", driver_path("upper_filter"), "--runs", "50", "--seed", "1", "--format", "json",
                 "-o", str(out)])
    capsys.readouterr()
    d = json.loads(out.read_text())["drivers"][0]
    assert code == 1 and d["fuzz"]["execs"] == 50
    (f,) = d["fuzz"]["findings"]
    assert (f["code"], f["args"][0], f["args"][3]) == (C4, EXECUTABLE_POOL, tag("UtlF"))
    assert f["entry_point"] == "IRP_MJ_DEVICE_CONTROL" and f["reproduced"] is True
