"""`verifier batch`: the nightly gate over a corpus folder or manifest.

Expected findings come from tests/drivers/corpus.json (what each driver's C source does), and the
new/fixed/unchanged sets from which files a test changed between two nights.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from conftest import driver_path, load_manifest, runtime_of, static_of
from verifier.batch import execute, jobs_for
from verifier.cli import main

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
SCHEMAS = os.path.join(TESTS, "schemas")


def expected_findings(names: dict[str, str]) -> set[tuple[str, str, str | None]]:
    """(file name in the batch, rule id, API or section) for each driver, from corpus.json.
    `names`: file name in the batch -> corpus driver whose bytes it holds."""
    corpus = load_manifest()
    out = set()
    for file, driver in names.items():
        entry = corpus[driver]
        for rule, section in static_of(entry) or []:
            out.add((file, f"C4-{rule:X}", section))
        for r in runtime_of(entry):
            out.add((file, f"C4-{r['rule']:X}", r["api"]))
    return out


def finding_set(items: list[dict]) -> set[tuple[str, str, str | None]]:
    return {(f["driver"], f["rule"], f["api"] or f["section"]) for f in items}


def make_corpus(folder, names: dict[str, str]) -> None:
    os.makedirs(folder, exist_ok=True)
    for file, driver in names.items():
        shutil.copy(driver_path(driver), os.path.join(folder, file))


def batch(capsys, *args) -> tuple[int, str, str]:
    code = main(["batch", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_baseline_gives_new_fixed_unchanged_and_gates_on_new_only(tmp_path, capsys):
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    night1 = {"pool_exec.sys": "pool_exec", "rwx_gcc.sys": "rwx_gcc", "mdl_map_exec.sys": "mdl_map_exec",
              "clean_gcc.sys": "clean_gcc", "pool_nx.sys": "pool_nx"}
    make_corpus(corpus, night1)
    code, out, _ = batch(capsys, corpus, "--jobs", 2, "--cache", cache, "--json", tmp_path / "night1.json")
    assert code == 1                                 # no baseline: every finding is new
    first = json.loads((tmp_path / "night1.json").read_text())
    assert finding_set(first["batch"]["new"]) == expected_findings(night1)
    assert "(0 from the cache)" in out

    # Night 2: one violating driver added, one removed, one replaced by another violating driver.
    make_corpus(corpus, {"pool_tag_exec.sys": "pool_tag_exec", "pool_exec.sys": "pool2_exec"})
    os.remove(corpus / "mdl_map_exec.sys")
    night2 = {**night1, "pool_tag_exec.sys": "pool_tag_exec", "pool_exec.sys": "pool2_exec"}
    del night2["mdl_map_exec.sys"]
    code, out, _ = batch(capsys, corpus, "--jobs", 2, "--cache", cache, "--baseline", tmp_path / "night1.json",
                         "--json", tmp_path / "night2.json")
    assert code == 1
    second = json.loads((tmp_path / "night2.json").read_text())["batch"]
    before, after = expected_findings(night1), expected_findings(night2)
    assert finding_set(second["new"]) == after - before
    assert finding_set(second["new"]) == {("pool_tag_exec.sys", "C4-2000", "ExAllocatePoolWithTag"),
                                          ("pool_exec.sys", "C4-2000", "ExAllocatePool2")}
    assert finding_set(second["fixed"]) == before - after
    assert finding_set(second["unchanged"]) == before & after == {("rwx_gcc.sys", "C4-2003", ".rwx")}
    assert second["updated"] == []
    # The unchanged drivers came from the cache: rwx_gcc, clean_gcc, pool_nx.
    assert "(3 from the cache)" in out
    assert {d["name"] for d in second["drivers"] if d["cached"]} == {"rwx_gcc.sys", "clean_gcc.sys", "pool_nx.sys"}

    # Night 3: only a fix (a driver removed): fixed findings are reported but do not fail.
    os.remove(corpus / "pool_tag_exec.sys")
    code, out, _ = batch(capsys, corpus, "--cache", cache, "--baseline", tmp_path / "night2.json",
                         "--json", tmp_path / "night3.json")
    assert code == 0
    third = json.loads((tmp_path / "night3.json").read_text())["batch"]
    assert finding_set(third["fixed"]) == {("pool_tag_exec.sys", "C4-2000", "ExAllocatePoolWithTag")}
    assert third["new"] == []
    assert "1 fixed" in out and "(4 from the cache)" in out


def test_junit_and_sarif_validate_against_their_schemas(tmp_path, capsys):
    xmlschema = pytest.importorskip("xmlschema")
    jsonschema = pytest.importorskip("jsonschema")
    corpus = tmp_path / "corpus"
    make_corpus(corpus, {"pool_exec.sys": "pool_exec", "rwx_gcc.sys": "rwx_gcc", "clean_gcc.sys": "clean_gcc",
                         "spin_forever.sys": "spin_forever"})
    batch(capsys, corpus, "--no-cache", "--timeout", 1, "--json", tmp_path / "base.json")
    os.remove(corpus / "rwx_gcc.sys")
    make_corpus(corpus, {"pool_tag_exec.sys": "pool_tag_exec"})
    code, _, _ = batch(capsys, corpus, "--no-cache", "--timeout", 1, "--baseline", tmp_path / "base.json",
                       "--junit", tmp_path / "out.xml", "--sarif", tmp_path / "out.sarif")
    assert code == 1

    xmlschema.XMLSchema(os.path.join(SCHEMAS, "JUnit.xsd")).validate(str(tmp_path / "out.xml"))
    import xml.etree.ElementTree as ET
    suite = ET.parse(tmp_path / "out.xml").getroot()
    cases = {(c.get("classname").removeprefix("hvci-verifier.batch."), c.get("name").split()[0]): c
             for c in suite.iter("testcase")}
    assert cases[("pool_tag_exec.sys", "C4-2000")].find("failure") is not None           # new
    assert cases[("pool_exec.sys", "C4-2000")].find("skipped") is not None               # in the baseline
    assert list(cases[("clean_gcc.sys", "no")]) == []                                     # "no findings"
    assert list(cases[("rwx_gcc.sys", "C4-2003")]) == []                                  # fixed: passes
    assert cases[("spin_forever.sys", "check")].find("error").get("type") == "incomplete"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("5", "1", "1", "1")

    with open(os.path.join(SCHEMAS, "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.validate(sarif, schema)
    results = [r for r in sarif["runs"][0]["results"] if "partialFingerprints" in r]
    states = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[-1], r["ruleId"]):
              r["baselineState"] for r in results}
    assert states == {("pool_tag_exec.sys", "C4-2000"): "new", ("pool_exec.sys", "C4-2000"): "unchanged",
                      ("rwx_gcc.sys", "C4-2003"): "absent"}


def test_fingerprints_do_not_depend_on_run_order_or_neighbours(tmp_path, capsys):
    """The same driver's findings keep their fingerprints when other drivers come and go (other load
    order, other jobs count)."""
    one, two = tmp_path / "one", tmp_path / "two"
    make_corpus(one, {"pool_exec.sys": "pool_exec", "rwx_gcc.sys": "rwx_gcc"})
    make_corpus(two, {"a_first.sys": "mdl_map_exec", "pool_exec.sys": "pool_exec", "rwx_gcc.sys": "rwx_gcc"})
    batch(capsys, one, "--no-cache", "--jobs", 1, "--json", tmp_path / "one.json")
    batch(capsys, two, "--no-cache", "--jobs", 2, "--json", tmp_path / "two.json")

    def prints(path):
        return {(f["driver"], f["rule"]): f["fingerprint"] for f in json.loads(path.read_text())["batch"]["new"]}
    a, b = prints(tmp_path / "one.json"), prints(tmp_path / "two.json")
    assert a and all(b[k] == v for k, v in a.items())


def test_hung_and_crashing_workers_do_not_stop_the_batch(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus(corpus, {"spin_forever.sys": "spin_forever", "pool_exec.sys": "pool_exec",
                         "exits.sys": "clean_gcc", "segfaults.sys": "clean_gcc", "hangs.sys": "clean_gcc",
                         "eats_memory.sys": "clean_gcc"})
    faults = {"exits.sys": "exit", "segfaults.sys": "segfault", "hangs.sys": "hang", "eats_memory.sys": "memory"}
    jobs = jobs_for(str(corpus), wall_timeout=2.0, memory_mb=4096, faults=faults)
    result = execute(jobs, workers=2)
    reports = {o.name: o.report for o in result.outcomes}
    assert sorted(reports) == sorted(os.listdir(corpus))
    # Emulation budget: the spinning driver is stopped by the emulator, which says where.
    assert reports["spin_forever.sys"].incomplete.startswith("DriverEntry did not return within the budget (2 s)")
    assert "exited with status 70" in reports["exits.sys"].incomplete
    assert "SIGSEGV" in reports["segfaults.sys"].incomplete
    assert "killed after 2 s" in reports["hangs.sys"].incomplete
    assert "out of memory" in reports["eats_memory.sys"].incomplete
    # ... and the driver between them was checked as usual.
    assert [(b.rule, b.api) for b in reports["pool_exec.sys"].bugchecks] == [("0x2000", "ExAllocatePool")]
    assert result.exit_code == 1


def test_a_driver_the_loader_refuses_keeps_its_scan_result(tmp_path, capsys):
    """rwx_gcc with its first relocation turned into type 9 (not valid on x64): Windows' loader and ours
    refuse it, but its .rwx section (rule 0x2003) is still reported."""
    import pefile
    data = bytearray(open(driver_path("rwx_gcc"), "rb").read())
    pe = pefile.PE(data=bytes(data))
    reloc = pe.get_offset_from_rva(pe.OPTIONAL_HEADER.DATA_DIRECTORY[5].VirtualAddress)
    entry = struct.unpack_from("<H", data, reloc + 8)[0]
    struct.pack_into("<H", data, reloc + 8, (9 << 12) | (entry & 0xFFF))
    os.makedirs(tmp_path / "corpus")
    (tmp_path / "corpus" / "refused.sys").write_bytes(data)
    code, _, _ = batch(capsys, tmp_path / "corpus", "--no-cache", "--json", tmp_path / "out.json")
    assert code == 1
    (d,) = json.loads((tmp_path / "out.json").read_text())["drivers"]
    assert [(b["rule"], b["section"]) for b in d["bugchecks"]] == [("0x2003", ".rwx")]
    assert d["incomplete"].startswith("not run: cannot load: unsupported base relocation type 9")


MANIFEST = """
[defaults]
wall_timeout = 60

[[driver]]
path = "drivers/npla_exec.sys"
name = "npla-continue"
keep_going = true
flags = "0x02000000"

[[driver]]
path = "drivers/npla_exec.sys"
name = "npla-default"

[[driver]]
path = "drivers/rwx_gcc.sys"
flags = 0
"""


def test_manifest_options_reach_each_driver(tmp_path, capsys):
    make_corpus(tmp_path / "drivers", {"npla_exec.sys": "npla_exec", "rwx_gcc.sys": "rwx_gcc"})
    (tmp_path / "nightly.toml").write_text(MANIFEST)
    code, _, _ = batch(capsys, tmp_path / "nightly.toml", "--no-cache", "--json", tmp_path / "out.json")
    assert code == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    apis = {name: [b["api"] for b in d["bugchecks"]]
            for name, d in zip((x["name"] for x in doc["batch"]["drivers"]), doc["drivers"])}
    # npla_exec.c: ExInitializeNPagedLookasideList with NonPagedPool, then an allocation from that list.
    # --continue records both; by default the first stops the driver.
    assert {k: apis[k] for k in ("npla-continue", "npla-default")} == {
        "npla-continue": ["ExInitializeNPagedLookasideList", "ExAllocatePoolWithTag"],
        "npla-default": ["ExInitializeNPagedLookasideList"]}
    # Without the code-integrity flag the run applies no image rule, so it loads and runs DriverEntry
    # (which returns STATUS_SUCCESS, static.c); the scan half still reports the RWX section.
    rwx = doc["drivers"][2]
    assert [(b["rule"], b["section"]) for b in rwx["bugchecks"]] == [("0x2003", ".rwx")]
    assert [(e["name"], e["status"], e["outcome"]) for e in rwx["entry_points"]][0] == ("DriverEntry", 0, "returned")
    # The same as JSON.
    (tmp_path / "nightly.json").write_text(json.dumps(
        {"driver": [{"path": "drivers/npla_exec.sys", "keep_going": True}]}))
    code, _, _ = batch(capsys, tmp_path / "nightly.json", "--no-cache", "--json", tmp_path / "out2.json")
    (d,) = json.loads((tmp_path / "out2.json").read_text())["drivers"]
    assert code == 1 and len(d["bugchecks"]) == 2


@pytest.mark.parametrize("text, problem", [
    ('[[driver]]\npath = "drivers/npla_exec.sys"\ncolour = "red"\n', "driver #1 (drivers/npla_exec.sys): unknown option 'colour'"),
    ('[[driver]]\npath = "drivers/missing.sys"\n', "driver #1 (drivers/missing.sys): no such driver file"),
    ('[[driver]]\npath = "drivers/npla_exec.sys"\nkeep_going = "yes"\n', "keep_going must be true or false"),
    ('[[driver]]\npath = "drivers/npla_exec.sys"\nprofile = "win95"\n', "unknown profile 'win95'"),
    ('[[driver]\n', "is not valid TOML"),
    ('[defaults]\n', "no drivers"),
])
def test_a_bad_manifest_is_one_line_naming_file_and_entry(tmp_path, capsys, text, problem):
    make_corpus(tmp_path / "drivers", {"npla_exec.sys": "npla_exec"})
    (tmp_path / "bad.toml").write_text(text)
    code, out, err = batch(capsys, tmp_path / "bad.toml", "--no-cache")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(tmp_path / "bad.toml") in err and problem in err, err


@pytest.mark.parametrize("content, problem", [(None, "cannot read baseline"), ("{not json", "is not JSON"),
                                              ('{"drivers": 3}', "is not a verifier JSON report")])
def test_an_unusable_baseline_is_one_line(tmp_path, capsys, content, problem):
    make_corpus(tmp_path / "corpus", {"pool_nx.sys": "pool_nx"})
    if content is not None:
        (tmp_path / "base.json").write_text(content)
    code, out, err = batch(capsys, tmp_path / "corpus", "--no-cache", "--baseline", tmp_path / "base.json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and problem in err and str(tmp_path / "base.json") in err, err


def test_fuzz_time_adds_what_fuzzing_finds(tmp_path, capsys):
    """fuzz_target.sys is clean in a plain run (src/fuzz_target.c: its 0x2000 needs a magic input);
    with --fuzz-time the batch fuzzes it after the run and its finding is a new one. A driver
    nothing can reach (pool_nx.sys creates no device) is said not fuzzed."""
    make_corpus(tmp_path / "corpus", {"fuzz_target.sys": "fuzz_target", "pool_nx.sys": "pool_nx"})
    code, _, _ = batch(capsys, tmp_path / "corpus", "--no-cache", "--json", tmp_path / "plain.json")
    assert code == 0
    code, _, _ = batch(capsys, tmp_path / "corpus", "--no-cache", "--fuzz-time", 10, "--json", tmp_path / "f.json")
    drivers = {os.path.basename(d["path"]): d for d in json.loads((tmp_path / "f.json").read_text())["drivers"]}
    fuzzed = drivers["fuzz_target.sys"]
    assert code == 1 and fuzzed["fuzz"]["execs"] > 0
    assert [(b["code"], b["args"][0], b["args"][3]) for b in fuzzed["bugchecks"]] == \
        [(0xC4, 0x2000, int.from_bytes(b"gaMF", "big"))]
    assert [w["kind"] for w in drivers["pool_nx.sys"]["warnings"]] == ["not-fuzzed"]


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_bad_fuzz_time_is_a_usage_error(tmp_path, capsys, value):
    make_corpus(tmp_path / "corpus", {"pool_nx.sys": "pool_nx"})
    with pytest.raises(SystemExit) as exit_:
        batch(capsys, tmp_path / "corpus", "--fuzz-time", value)
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and "--fuzz-time must be" in err and err.count("\n") == 1


@pytest.mark.slow
def test_dask_cluster_gives_the_local_result(tmp_path):
    distributed = pytest.importorskip("distributed")
    corpus = tmp_path / "corpus"
    make_corpus(corpus, {"pool_exec.sys": "pool_exec", "rwx_gcc.sys": "rwx_gcc", "clean_gcc.sys": "clean_gcc",
                         "mdl_map_exec.sys": "mdl_map_exec", "seh.sys": "seh"})
    from verifier.batch import batch_json

    def comparable(result) -> dict:
        doc = batch_json(result)
        for d in doc["batch"]["drivers"]:
            del d["seconds"]
        return doc

    jobs = jobs_for(str(corpus), wall_timeout=60, memory_mb=4096)
    local = comparable(execute(jobs, workers=2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, memory_limit="1GiB") as cluster:
        remote = comparable(execute(jobs, scheduler=cluster.scheduler_address))
        with distributed.Client(cluster.scheduler_address) as client:
            prepared = client.run(lambda dask_worker: getattr(dask_worker, "hvci_prepare_s", None))
    assert remote == local
    assert len(local["batch"]["new"]) == 3
    assert len(prepared) == 2 and all(isinstance(s, float) for s in prepared.values())   # the plugin ran on each


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if text.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.mark.slow
def test_ctrl_c_kills_the_workers_keeps_what_finished_and_a_rerun_resumes(tmp_path):
    cache, nightly = tmp_path / "cache", tmp_path / "nightly.toml"
    make_corpus(tmp_path / "corpus", {"pool_exec.sys": "pool_exec", "spin_forever.sys": "spin_forever"})
    nightly.write_text('[[driver]]\npath = "corpus/pool_exec.sys"\n'
                       '[[driver]]\npath = "corpus/spin_forever.sys"\nwall_timeout = 8\n')
    argv = [sys.executable, "-m", "verifier", "batch", str(nightly), "--cache", str(cache),
            "--json", str(tmp_path / "out.json")]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3)                                    # pool_exec takes well under a second
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert _processes_mentioning(str(nightly)) == []     # the spinning worker went with the batch
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["exit_code"] == 130
    assert [d["name"] for d in doc["batch"]["drivers"]] == ["corpus/pool_exec.sys"]
    # The same command again takes pool_exec from the cache and checks only spin_forever (8 s budget).
    rerun = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    assert rerun.returncode == 1 and "(1 from the cache)" in rerun.stdout, rerun


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from verifier import dask_engine
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    make_corpus(tmp_path / "corpus", {"pool_nx.sys": "pool_nx"})
    code, out, err = batch(capsys, tmp_path / "corpus", "--no-cache", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "cannot use the Dask scheduler tcp://127.0.0.1:9" in err, err


@pytest.mark.parametrize("extra, problem", [
    (["--json", "{tmp}/no/such/folder/out.json"], "cannot write {tmp}/no/such/folder/out.json"),
    (["--cache", "{tmp}/corpus/pool_nx.sys/cache"], "cannot use cache folder {tmp}/corpus/pool_nx.sys/cache"),
])
def test_unusable_output_or_cache_is_one_line(tmp_path, capsys, extra, problem):
    make_corpus(tmp_path / "corpus", {"pool_nx.sys": "pool_nx"})
    extra = [x.format(tmp=tmp_path) for x in extra]
    code, _, err = batch(capsys, tmp_path / "corpus", *(["--no-cache"] if "--cache" not in extra else []), *extra)
    assert code == 2
    assert err.count("\n") == 1 and problem.format(tmp=tmp_path) in err, err


def test_a_missing_target_is_one_line(tmp_path, capsys):
    code, out, err = batch(capsys, tmp_path / "nowhere.toml", "--no-cache")
    assert (code, out) == (2, "")
    assert err == f"verifier: error: cannot read manifest {tmp_path / 'nowhere.toml'}: No such file or directory\n"


def test_timeout_inf_means_no_wall_clock_limit(tmp_path):
    make_corpus(tmp_path / "corpus", {"pool_nx.sys": "pool_nx"})
    from verifier.cli import build_parser
    args = build_parser().parse_args(["batch", str(tmp_path / "corpus"), "--timeout", "inf"])
    (job,) = jobs_for(args.target, args.timeout, args.memory_mb)
    assert job.wall_timeout == float("inf") and job.options["timeout"] == 60.0   # run's default budget
    (outcome,) = execute([job], workers=1).outcomes
    assert outcome.report.incomplete is None and outcome.report.entry_points[0].status == 0


def test_run_sarif_also_validates_and_carries_the_same_fingerprints(tmp_path, capsys):
    """`run --format sarif` keeps its shape, gains partialFingerprints, and they match the batch's for a
    driver the batch names by its file name."""
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(SCHEMAS, "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    main(["run", "--format", "sarif", driver_path("pool_exec"), str(tmp_path / "missing.sys")])
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, schema)
    (result,) = sarif["runs"][0]["results"]
    assert "baselineState" not in result
    make_corpus(tmp_path / "corpus", {"pool_exec.sys": "pool_exec"})
    batch(capsys, tmp_path / "corpus", "--no-cache", "--json", tmp_path / "out.json")
    (new,) = json.loads((tmp_path / "out.json").read_text())["batch"]["new"]
    assert result["partialFingerprints"] == {"hvciFinding/v1": new["fingerprint"]}


def test_same_call_site_with_another_pool_tag_is_updated_not_new(tmp_path, capsys):
    """pool_tag_exec rebuilt with another tag: onecall.c passes 'tseT' (bytes "Test") to both
    ExAllocatePoolWithTag and ExFreePoolWithTag as an immediate; patch both. Same caller, same API, same
    rule, another Arg4: the finding is "updated", which does not fail the gate."""
    corpus = tmp_path / "corpus"
    make_corpus(corpus, {"pool_tag_exec.sys": "pool_tag_exec"})
    batch(capsys, corpus, "--no-cache", "--json", tmp_path / "base.json")
    data = (corpus / "pool_tag_exec.sys").read_bytes()
    assert data.count(b"Test") == 2
    (corpus / "pool_tag_exec.sys").write_bytes(data.replace(b"Test", b"Tst2"))
    code, _, _ = batch(capsys, corpus, "--no-cache", "--baseline", tmp_path / "base.json",
                       "--json", tmp_path / "out.json", "--sarif", tmp_path / "out.sarif")
    assert code == 0
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["drivers"][0]["bugchecks"][0]["args"][3] == int.from_bytes(b"Tst2", "little")
    assert finding_set(doc["batch"]["updated"]) == {("pool_tag_exec.sys", "C4-2000", "ExAllocatePoolWithTag")}
    assert doc["batch"]["new"] == doc["batch"]["fixed"] == doc["batch"]["unchanged"] == []
    (result,) = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert result["baselineState"] == "updated"


@pytest.mark.slow
def test_every_report_field_survives_the_cache(tmp_path):
    """The cache and baselines read reports back from JSON: for the whole corpus, which fills every part
    of a report (bug checks with stacks, warnings, unimplemented APIs, partial coverage, error log,
    written files, debug output), what a worker sends reads back to the same JSON."""
    from verifier.render.json_report import driver_from_json, driver_json
    from verifier.worker import check
    corpus = tmp_path / "corpus"
    names = sorted(f for f in os.listdir(os.path.join(TESTS, "drivers", "bin")) if f.endswith(".sys"))
    make_corpus(corpus, {n: n[:-4] for n in names})
    sent = [check(job) for job in jobs_for(str(corpus), 2.0, 4096)]
    for key in ("bugchecks", "warnings", "unimplemented_apis", "coverage_cut", "error_log", "files_written",
                "debug_output", "registered_not_run"):
        assert any(d[key] for d in sent), key               # the corpus exercises each part
    assert [driver_json(driver_from_json(json.loads(json.dumps(d)))) for d in sent] == sent
