"""`verifier scan`: the load-time image rules 0x2003-0x2005 over the corpus, in all three formats."""
from __future__ import annotations

import json

import pytest

from conftest import built, driver_path, load_manifest, static_of
from verifier.cli import main

MANIFEST = load_manifest()
STATIC = built(n for n, e in MANIFEST.items() if static_of(e) is not None)
C4 = 0xC4
RULE_TEXT_2003 = ("Arg1: 0000000000002003, Code Integrity Issue: "
                  "The image contains an executable and writable section.")


def scan_json(capsys, *paths):
    code = main(["scan", "--format", "json", *paths])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", STATIC)
def test_scan_findings_match_manifest(name, capsys):
    entry = MANIFEST[name]
    code, doc = scan_json(capsys, driver_path(name))
    assert doc["version"] == 1 and doc["command"] == "scan" and doc["exit_code"] == code
    (d,) = doc["drivers"]
    assert d["error"] is None
    got = sorted((b["args"][0], b["section"]) for b in d["bugchecks"])
    assert got == static_of(entry)
    assert all(b["code"] == C4 for b in d["bugchecks"])
    assert d["unsupported_relocs"] == entry["unsupported_relocs"]
    assert code == (1 if static_of(entry) else 0)


@pytest.mark.parametrize("name", [n for n in STATIC if static_of(MANIFEST[n])])
def test_scan_arg_types(name, capsys):
    _, doc = scan_json(capsys, driver_path(name))
    assert len(doc["drivers"][0]["bugchecks"]) == len(static_of(MANIFEST[name]))
    for b in doc["drivers"][0]["bugchecks"]:
        assert len(b["args"]) == 4
        assert b["args"][0] in (0x2003, 0x2004, 0x2005)
        assert b["args"][1] == f"{name}.sys"          # Arg2: image file name
        assert isinstance(b["args"][2], int) and not isinstance(b["args"][2], bool)
        assert b["args"][3] == b["section"]            # Arg4: section name
        assert isinstance(b["code"], int)


def _first_with(rule_section):
    for n in STATIC:
        if rule_section in static_of(MANIFEST[n]):
            return n
    return None


def test_sarif_one_result_per_bugcheck(capsys):
    names = [n for n in STATIC if static_of(MANIFEST[n])]
    assert names, "corpus has no driver with a static finding"
    paths = [driver_path(n) for n in names]
    main(["scan", "--format", "sarif", *paths])
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    results = [r for run in sarif["runs"] for r in run["results"]]
    expected = sum(len(static_of(MANIFEST[n])) for n in names)
    assert len(results) == expected
    want_ids = sorted(f"C4-{rule:X}" for n in names for rule, _ in static_of(MANIFEST[n]))
    assert sorted(r["ruleId"].upper() for r in results) == sorted(i.upper() for i in want_ids)


def test_text_report_for_rwx_image(capsys):
    name = next((n for n in STATIC if any(r == 0x2003 and s.upper() != "INIT" for r, s in static_of(MANIFEST[n]))),
                None)
    assert name, "corpus has no RWX driver"
    assert main(["scan", driver_path(name)]) == 1
    out = capsys.readouterr().out
    assert "DRIVER_VERIFIER_DETECTED_VIOLATION (c4)" in out
    assert RULE_TEXT_2003 in out


def test_all_formats_parse_for_clean_driver(capsys):
    name = next((n for n in STATIC if not static_of(MANIFEST[n])), None)
    assert name
    for fmt in ("text", "json", "sarif"):
        assert main(["scan", "--format", fmt, driver_path(name)]) == 0
        out = capsys.readouterr().out
        if fmt == "text":
            assert out.startswith(f"{driver_path(name)}: 0 bug check(s)\n"), out
        else:
            json.loads(out)


def test_init_finding_notes_windows10_strip(capsys):
    name = _first_with((0x2003, "INIT"))
    assert name, "corpus has no INIT RWX driver"
    _, doc = scan_json(capsys, driver_path(name))
    (b,) = [b for b in doc["drivers"][0]["bugchecks"] if b["section"] == "INIT"]
    text = " ".join(b["notes"])
    assert "Windows 10" in text and "write" in text.lower()


def test_output_file(tmp_path, capsys):
    out = tmp_path / "r.json"
    name = STATIC[0]
    main(["scan", "--format", "json", "-o", str(out), driver_path(name)])
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["drivers"][0]["path"].endswith(f"{name}.sys")


# ---- third-party drivers ---------------------------------------------------------------------------
@pytest.mark.realworld
def test_winpmem_has_one_rwx_init(capsys):
    from realworld import fetch
    code, doc = scan_json(capsys, fetch("winpmem_x64.sys"))
    found = [(b["args"][0], b["section"]) for b in doc["drivers"][0]["bugchecks"]]
    assert found == [(0x2003, "INIT")]
    assert code == 1


@pytest.mark.realworld
def test_windivert_is_clean(capsys):
    from realworld import fetch
    code, doc = scan_json(capsys, fetch("WinDivert64.sys"))
    assert doc["drivers"][0]["error"] is None
    assert doc["drivers"][0]["bugchecks"] == []
    assert code == 0
