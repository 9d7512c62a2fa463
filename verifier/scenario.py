"""Scenario files: the IRPs a run sends after DriverEntry, in a stable, versioned format.

This is what `--scenario FILE` reads, what fuzzing writes and what reproduction replays, so it is
small, explicit and validated with a JSON Schema (`SCHEMA`, documented in the README):

    {"version": 1,
     "steps": [{"irp": "IRP_MJ_CREATE"},
               {"irp": "IRP_MJ_DEVICE_CONTROL", "ioctl": "0x222000", "input_hex": "41424344",
                "output_length": 16, "expect_status": "0x0"},
               {"irp": "IRP_MJ_READ", "output_length": 16},
               {"irp": "IRP_MJ_WRITE", "input_base64": "SGVsbG8="},
               {"irp": "IRP_MJ_CLOSE"}]}

Input is `input_hex`, `input_base64` or `input_file` (a path relative to the scenario file), at
most one. `{"cancel": N}` cancels the IRP of step N (IoCancelIrp: the driver's cancel routine runs).
`"fail_allocation": N` on an IRP step makes the driver's Nth ExAllocatePool* request while that IRP
is handled return NULL, as Driver Verifier's low resources simulation (flag 0x4) may; `verifier fuzz
--flags 0x4` chooses N and writes it here, so the failure replays exactly. `{"notify": KIND}` sends
the notification routines the driver registered for KIND (process-create,
process-create-ex, process-create-ex2, thread-create, image-load, registry, object-pre, object-post)
their scripted event (hooks/notify.py). `"file_name"` on an IRP_MJ_CREATE step is the name the caller
opens below the device (FILE_OBJECT.FileName: "\\pipe1" for CreateFile("\\\\.\\Dev\\pipe1")), and
`"disposition"` its CreateDisposition (FILE_OPEN unless given; FILE_CREATE for CREATE_NEW). `method`
overrides the transfer method in the IOCTL code's low bits. JSON is the format;
YAML is read too when PyYAML is installed. A bad file gives one line per bad step.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass

from hooks import kstructs as ks
from hooks.irp import MAJOR_NAMES, METHOD_NAMES, IrpRequest
from hooks.notify import KINDS as NOTIFY_KINDS
from hooks.volume import DISPOSITIONS, FILE_OPEN

VERSION = 1
MAX_BUFFER = 1 << 24
DEFAULT_OUTPUT = 0x100               # output buffer of an IOCTL when none is given
DEFAULT_INPUT = bytes(0x100)         # input of a harvested IOCTL: zeros, so embedded pointers are NULL
SMALL_TRANSFER = 0x10                # the default scenario's READ and WRITE
_U32 = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                  {"type": "string", "pattern": "^0[xX][0-9a-fA-F]{1,8}$"}]}
STEP_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "irp": {"enum": [f"IRP_MJ_{n}" for n in MAJOR_NAMES]},
        "cancel": {"type": "integer", "minimum": 1},
        "notify": {"enum": list(NOTIFY_KINDS)},
        "minor": {"type": "integer", "minimum": 0, "maximum": 255},
        "ioctl": _U32,
        "input_hex": {"type": "string", "pattern": "^([0-9a-fA-F]{2})*$"},
        "input_base64": {"type": "string"},
        "input_file": {"type": "string", "minLength": 1},
        "output_length": {"type": "integer", "minimum": 0, "maximum": MAX_BUFFER},
        "method": {"enum": list(METHOD_NAMES)},
        "expect_status": _U32,
        "fail_allocation": {"type": "integer", "minimum": 1},
        "file_name": {"type": "string", "minLength": 1, "maxLength": 32767},
        "disposition": {"enum": list(DISPOSITIONS)},
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "hvci-verifier scenario",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "steps"],
    "properties": {
        "version": {"const": VERSION},
        "description": {"type": "string"},
        "steps": {"type": "array", "items": STEP_SCHEMA},
    },
}
_INPUTS = ("input_hex", "input_base64", "input_file")
IOCTL_MAJORS = (ks.IRP_MJ_DEVICE_CONTROL, ks.IRP_MJ_INTERNAL_DEVICE_CONTROL)


class ScenarioError(Exception):
    """An unusable scenario: one line per problem, each naming the file and the step."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class Step:
    request: IrpRequest | None              # None for a cancel or notify step
    expect_status: int | None = None
    cancel: int | None = None               # IoCancelIrp on the IRP of this (earlier, 1-based) step
    notify: str | None = None               # an event the registered notification routines of this kind get
    fail_allocation: int | None = None      # low resources simulation: the Nth pool request of this IRP fails


@dataclass
class Scenario:
    steps: list[Step]
    source: str | None = None          # the file it came from; None for the default scenario


def _u32(value) -> int:
    return value if isinstance(value, int) else int(value, 16)


def _read_document(path: str):
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read the scenario: {exc.strerror or exc}"]) from None
    if path.lower().endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ScenarioError([f"{path}: YAML scenarios need PyYAML (pip install pyyaml); "
                                 "or write the scenario as JSON"]) from None
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ScenarioError([f"{path}: not valid YAML: {str(exc).splitlines()[0]}"]) from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: not valid JSON: {exc}"]) from None


def _describe(error) -> str:
    """One readable phrase for a jsonschema error."""
    field = error.path[-1] if error.path and isinstance(error.path[-1], str) else None
    if error.validator == "enum":
        what = "major function (IRP_MJ_* as in wdm.h)" if field == "irp" else field
        return f"{what} {error.instance!r} is not one of the accepted names"
    if error.validator == "additionalProperties":
        return f"{error.message} (known keys: {', '.join(STEP_SCHEMA['properties'])})" \
            if len(error.path) >= 2 else error.message
    if error.validator == "oneOf" and field:
        return f"{field} must be an unsigned 32-bit number or a '0x...' hex string, not {error.instance!r}"
    if error.validator == "pattern" and field == "input_hex":
        return "input_hex must be an even number of hex digits"
    return f"{field}: {error.message}" if field else error.message


def load(path: str) -> Scenario:
    """Read and validate a scenario file; ScenarioError lists every bad step."""
    from jsonschema import Draft202012Validator

    doc = _read_document(path)
    problems: dict[int | None, str] = {}
    for error in sorted(Draft202012Validator(SCHEMA).iter_errors(doc), key=lambda e: list(map(str, e.path))):
        index = error.path[1] if len(error.path) >= 2 and error.path[0] == "steps" else None
        problems.setdefault(index, _describe(error))
    steps: list[Step] = []
    for i, raw in enumerate(doc.get("steps", []) if isinstance(doc, dict) and isinstance(doc.get("steps"), list)
                            else []):
        if i in problems or not isinstance(raw, dict):
            continue
        try:
            steps.append(_step(raw, os.path.dirname(os.path.abspath(path)), i + 1))
        except ValueError as exc:
            problems[i] = str(exc)
    if problems:
        lines = [f"{path}: {msg}" for i, msg in problems.items() if i is None]
        lines += [f"{path}: step {i + 1}: {msg}" for i, msg in sorted((i, m) for i, m in problems.items()
                                                                        if i is not None)]
        raise ScenarioError(lines)
    return Scenario(steps, source=path)


def _step(raw: dict, base_dir: str, number: int) -> Step:
    if "notify" in raw:
        if len(raw) > 1:
            raise ValueError("a notify step has only the key 'notify'")
        return Step(None, notify=raw["notify"])
    if "cancel" in raw:
        if len(raw) > 1:
            raise ValueError("a cancel step has only the key 'cancel'")
        if raw["cancel"] >= number:
            raise ValueError(f"cancel {raw['cancel']} must name an earlier step")
        return Step(None, cancel=raw["cancel"])
    if "irp" not in raw:
        raise ValueError("a step needs 'irp' (or 'cancel' or 'notify')")
    major = MAJOR_NAMES.index(raw["irp"].removeprefix("IRP_MJ_"))
    given = [key for key in _INPUTS if key in raw]
    if len(given) > 1:
        raise ValueError(f"give the input once, not as {' and '.join(given)}")
    data = b""
    if "input_hex" in raw:
        data = bytes.fromhex(raw["input_hex"])
    elif "input_base64" in raw:
        try:
            data = base64.b64decode(raw["input_base64"], validate=True)
        except binascii.Error:
            raise ValueError("input_base64 is not valid base64") from None
    elif "input_file" in raw:
        file = os.path.join(base_dir, raw["input_file"])
        try:
            with open(file, "rb") as fh:
                data = fh.read(MAX_BUFFER + 1)
        except OSError as exc:
            raise ValueError(f"cannot read input_file {raw['input_file']}: {exc.strerror or exc}") from None
    if len(data) > MAX_BUFFER:
        raise ValueError(f"the input is larger than {MAX_BUFFER} bytes")
    if major in IOCTL_MAJORS and "ioctl" not in raw:
        raise ValueError(f"{raw['irp']} needs an ioctl code")
    if major not in IOCTL_MAJORS and ("ioctl" in raw or "method" in raw):
        raise ValueError(f"ioctl and method belong to IRP_MJ_DEVICE_CONTROL steps, not {raw['irp']}")
    for key in ("file_name", "disposition"):
        if key in raw and major != ks.IRP_MJ_CREATE:
            raise ValueError(f"{key} belongs to IRP_MJ_CREATE steps, not {raw['irp']}")
    request = IrpRequest(major, raw.get("minor", 0), _u32(raw["ioctl"]) if "ioctl" in raw else None, data,
                         raw.get("output_length", 0),
                         METHOD_NAMES.index(raw["method"]) if "method" in raw else None,
                         file_name=raw.get("file_name", ""),
                         disposition=DISPOSITIONS.index(raw.get("disposition", "FILE_OPEN")))
    return Step(request, _u32(raw["expect_status"]) if "expect_status" in raw else None,
                fail_allocation=raw.get("fail_allocation"))


def step_json(step: Step) -> dict:
    """One step as the file format spells it: the inverse of `load` (inputs as input_hex)."""
    if step.notify is not None:
        return {"notify": step.notify}
    if step.cancel is not None:
        return {"cancel": step.cancel}
    r = step.request
    raw: dict = {"irp": f"IRP_MJ_{MAJOR_NAMES[r.major]}"}
    if r.minor:
        raw["minor"] = r.minor
    if r.ioctl is not None:
        raw["ioctl"] = f"0x{r.ioctl:X}"
    if r.input:
        raw["input_hex"] = r.input.hex()
    if r.output_length:
        raw["output_length"] = r.output_length
    if r.method is not None:
        raw["method"] = METHOD_NAMES[r.method]
    if step.expect_status is not None:
        raw["expect_status"] = f"0x{step.expect_status:X}"
    if step.fail_allocation is not None:
        raw["fail_allocation"] = step.fail_allocation
    if r.file_name:
        raw["file_name"] = r.file_name
    if r.disposition != FILE_OPEN:
        raw["disposition"] = DISPOSITIONS[r.disposition]
    return raw


def document(steps: list[Step], description: str | None = None) -> dict:
    """A scenario file's content for `steps` (what reproduction and fuzzing write)."""
    return {"version": VERSION, **({"description": description} if description else {}),
            "steps": [step_json(s) for s in steps]}


def small_transfer(major: int) -> Step:
    """The default scenario's READ (an output buffer of SMALL_TRANSFER bytes) or WRITE ("ABC...")."""
    if major == ks.IRP_MJ_READ:
        return Step(IrpRequest(major, output_length=SMALL_TRANSFER))
    return Step(IrpRequest(major, input=bytes(range(0x41, 0x41 + SMALL_TRANSFER))))


def ioctl_step(code: int, data: bytes = b"", output_length: int = 0) -> Step:
    return Step(IrpRequest(ks.IRP_MJ_DEVICE_CONTROL, ioctl=code, input=data, output_length=output_length))


def parse_ioctl_option(text: str) -> Step:
    """`--ioctl CODE[:INPUT_HEX[:OUTPUT_LEN]]` -> a DEVICE_CONTROL step; ValueError says what is wrong."""
    parts = text.split(":")
    if len(parts) > 3:
        raise ValueError(f"--ioctl takes CODE[:INPUT_HEX[:OUTPUT_LEN]], not {text!r}")
    try:
        code = int(parts[0], 0)
    except ValueError:
        raise ValueError(f"--ioctl code must be a number such as 0x222000, not {parts[0]!r}") from None
    if not 0 <= code <= 0xFFFFFFFF:
        raise ValueError(f"--ioctl code {parts[0]} does not fit in 32 bits")
    try:
        data = bytes.fromhex(parts[1]) if len(parts) > 1 else b""
    except ValueError:
        raise ValueError(f"--ioctl input must be hex bytes such as 41424344, not {parts[1]!r}") from None
    try:
        out = int(parts[2], 0) if len(parts) > 2 else DEFAULT_OUTPUT
    except ValueError:
        raise ValueError(f"--ioctl output length must be a number, not {parts[2]!r}") from None
    if not 0 <= out <= MAX_BUFFER:
        raise ValueError(f"--ioctl output length must be between 0 and {MAX_BUFFER}")
    return ioctl_step(code, data, out)

