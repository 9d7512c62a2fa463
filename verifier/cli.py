"""The `verifier` command line: scan images, run drivers; reports in text, JSON, SARIF or JUnit."""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
from typing import NoReturn

import rootfs
from verifier.render import FORMATS, renderer
from verifier.report import EXIT_USAGE, Report


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"verifier: error: {message} (see 'verifier --help')\n")


class _Version(argparse.Action):
    """--version from the installed package's metadata, looked up only when asked for (start-up stays fast)."""

    def __init__(self, option_strings: list[str], dest: str, **_):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        from importlib.metadata import version
        print(f"verifier {version('hvci-verifier')}")
        parser.exit(0)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verifier", description=(
        "Find where a Windows x64 kernel driver breaks memory integrity (HVCI), without Windows. "
        "Exit codes: 0 nothing found, 1 bug checks found, 2 usage error or unreadable input, "
        "3 the emulation could not finish, 130 interrupted (Ctrl-C)."))
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    scan = sub.add_parser("scan", help="check driver images for the load-time rules 0x2003-0x2005")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="driver files or directories (walked for *.sys)")
    _common(scan)
    run = sub.add_parser("run", help="load drivers in the emulated kernel and run DriverEntry under the rules")
    run.add_argument("paths", nargs="+", metavar="DRIVER", help="driver files or directories (walked for *.sys)")
    run.add_argument("--flags", type=_flags, default=0x02000000, metavar="FLAGS",
                     help="Driver Verifier flags (default 0x02000000, code integrity checking)")
    run.add_argument("--continue", dest="keep_going", action="store_true",
                     help="record each violation and carry on instead of stopping at the first bug check")
    run.add_argument("--strict", action="store_true", help="stop at the first call to an unimplemented export")
    run.add_argument("--max-instructions", type=_count, default=0, metavar="N",
                     help="instruction budget per entry point (0 = none; a budget slows emulation)")
    run.add_argument("--timeout", type=_seconds, default=60.0, metavar="SECONDS",
                     help="time budget per entry point (default 60; inf = none)")
    run.add_argument("--profile", choices=rootfs.profiles(), metavar="NAME",
                     help=f"Windows version the emulated kernel reports: {', '.join(rootfs.profiles())} "
                          f"(default {rootfs.DEFAULT_PROFILE})")
    run.add_argument("--ioctl", dest="ioctls", action="append", type=_ioctl, default=[],
                     metavar="CODE[:INPUT_HEX[:OUTPUT_LEN]]",
                     help="an IOCTL for the default scenario (repeatable); without any, the codes the driver's "
                          "DEVICE_CONTROL routine compares against are used")
    run.add_argument("--scenario", metavar="FILE", help="the IRPs to send after DriverEntry (JSON, version 1; "
                                                        "see README)")
    _common(run)
    _batch_parser(sub)
    _repro_parser(sub)
    _fuzz_parser(sub)
    return parser


def _fuzz_parser(sub) -> None:
    from verifier.fuzz import DEFAULT_INPUT_TIMEOUT, DEFAULT_TIME
    fuzz = sub.add_parser("fuzz", help="throw IRP sequences at a driver's entry points from a snapshot, coverage-"
                                       "guided; each unique bug check is minimised and saved as a scenario")
    fuzz.add_argument("driver", metavar="DRIVER", help="the driver file")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--time", type=_search_time, default=DEFAULT_TIME, metavar="SECONDS",
                        help=f"how long to fuzz (default {DEFAULT_TIME:g})")
    budget.add_argument("--runs", type=_positive_int, metavar="N", help="run N inputs instead (deterministic with --jobs 1)")
    fuzz.add_argument("--seed", type=lambda t: _number(t, "--seed"), default=0, metavar="N",
                      help="random seed (default 0)")
    fuzz.add_argument("--corpus", metavar="DIR", help="inputs to start from and to keep (scenario files); "
                                                      "shared by the --jobs workers")
    fuzz.add_argument("--out", metavar="DIR", help="where each finding's minimised scenario and report are written")
    fuzz.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="worker processes (default 1)")
    fuzz.add_argument("--flags", type=_flags, default=0x02000000, metavar="FLAGS",
                      help="Driver Verifier flags (default 0x02000000; add 0x4, low resources simulation, to "
                           "let the fuzzer fail pool allocations)")
    fuzz.add_argument("--ioctl", dest="ioctls", action="append", type=_ioctl, default=[],
                      metavar="CODE[:INPUT_HEX[:OUTPUT_LEN]]",
                      help="IOCTLs to fuzz (repeatable; default: the codes harvested from the driver's code)")
    fuzz.add_argument("--scenario", metavar="FILE", help="the prefix: steps run once before the snapshot "
                                                         "(default: IRP_MJ_CREATE)")
    fuzz.add_argument("--timeout", type=_seconds, default=DEFAULT_INPUT_TIMEOUT, metavar="SECONDS",
                      help=f"time budget of one input (default {DEFAULT_INPUT_TIMEOUT:g})")
    _common(fuzz)





DEFAULT_REPRO_TIME = 120.0          # `verifier repro`: the whole search, every run together


def _repro_parser(sub) -> None:
    repro = sub.add_parser("repro", help="reproduce a bug check a machine reported (WinDbg text or a crash dump): "
                                         "exit 0 reproduced, 1 not, 2 unusable input")
    repro.add_argument("driver", metavar="DRIVER", help="the driver file that crashed")
    repro.add_argument("--bugcheck", required=True, metavar="FILE|-",
                       help="`!analyze -v` / `.bugcheck` text, 'BugCheck C4, {...}' lines, or a kernel crash dump")
    repro.add_argument("--load-base", type=_address, metavar="ADDR",
                       help="where DRIVER was loaded on the crashed machine (default: its `lm` line or the dump)")
    repro.add_argument("--time", type=_search_time, default=DEFAULT_REPRO_TIME, metavar="SECONDS",
                       help=f"time budget of the whole search (default {DEFAULT_REPRO_TIME:g})")
    repro.add_argument("--scenario-out", metavar="FILE",
                       help="where to write the reproducing scenario (default: next to -o, else DRIVER.repro.json)")
    repro.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    repro.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")


def _fuzz_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"--fuzz-time must be a number of seconds >= 0, not {text!r}")
    return value


def _search_time(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--time must be a positive number of seconds, not {text!r}")
    return value


def _address(text: str) -> int:
    try:
        value = int(text.replace("`", ""), 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the load base must be a hex address such as fffff808`320e0000, "
                                         f"not {text!r}") from None
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"the load base {text} does not fit in 64 bits")
    return value


def _ioctl(text: str):
    from verifier.scenario import parse_ioctl_option
    try:
        return parse_ioctl_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# `verifier batch` defaults: a driver's worker is killed after 5 minutes; Unicorn alone reserves ~2 GB of
# address space, so 4 GB leaves a driver room but stops a runaway.
DEFAULT_WALL_TIMEOUT = 300.0
DEFAULT_MEMORY_MB = 4096
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "hvci-verifier", "batch")


def _batch_parser(sub) -> None:
    batch = sub.add_parser("batch", help="scan + run every driver of a folder or manifest; with --baseline, "
                                         "only new findings fail (exit 1)")
    batch.add_argument("target", metavar="DIR|MANIFEST", help="a folder (walked for *.sys) or a TOML/JSON manifest")
    batch.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="N",
                       help="drivers checked at once on the local pool (default: the CPU count)")
    batch.add_argument("--baseline", metavar="FILE", help="the --json report of an earlier batch: findings become "
                                                          "new / fixed / unchanged, and only new ones fail")
    batch.add_argument("--json", metavar="FILE", help="write the JSON report (the baseline of the next run)")
    batch.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0 with fingerprints and baselineState")
    batch.add_argument("--junit", metavar="FILE", help="write JUnit XML: a test case per driver and rule")
    batch.add_argument("--timeout", type=_seconds, default=DEFAULT_WALL_TIMEOUT, metavar="SECONDS",
                       help=f"wall-clock limit per driver, after which its worker is killed "
                            f"(default {DEFAULT_WALL_TIMEOUT:g}; inf = none)")
    batch.add_argument("--memory-mb", type=_positive_int, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"address-space limit of each local worker (default {DEFAULT_MEMORY_MB})")
    batch.add_argument("--cache", default=DEFAULT_CACHE, metavar="DIR",
                       help="results by driver sha256 + options + tool version, so a rerun resumes (default %(default)s)")
    batch.add_argument("--no-cache", action="store_true", help="check every driver again, write no cache")
    batch.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the jobs on this Dask cluster instead of the local pool (pip install '.[dask]')")
    batch.add_argument("--fuzz-time", type=_fuzz_seconds, default=0.0, metavar="SECONDS",
                       help="after each driver's run, fuzz it this long (as `verifier fuzz`, seed 0); its "
                            "findings join the driver's (default 0: no fuzzing)")


def _positive_int(text: str) -> int:
    value = _number(text, "the value")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _number(text: str, what: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{what} must not be negative")
    return value


def _flags(text: str) -> int:
    value = _number(text, "--flags")
    if value > 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("--flags must fit in 32 bits")
    return value


# uc_emu_start takes the instruction count as a size_t and the timeout in microseconds, which it turns
# into nanoseconds in a uint64_t. ctypes would silently wrap anything larger (2**64 instructions would
# become 0: no budget at all).
MAX_INSTRUCTIONS = (1 << 8 * ctypes.sizeof(ctypes.c_size_t)) - 1
MAX_TIMEOUT_S = ((1 << 64) - 1) // 1_000_000_000


def _count(text: str) -> int:
    value = _number(text, "--max-instructions")
    if value > MAX_INSTRUCTIONS:
        raise argparse.ArgumentTypeError(f"--max-instructions must be at most {MAX_INSTRUCTIONS} (0 = no budget)")
    return value


def _seconds(text: str) -> float:
    """Seconds > 0; `inf` spelled out means no time budget (0.0 to the emulator)."""
    if text.strip().lower() in ("inf", "infinity"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--timeout must be a number of seconds or inf, not {text!r}") from None
    if not 0 < value <= MAX_TIMEOUT_S:       # also false for nan and for overflow to inf (1e400)
        raise argparse.ArgumentTypeError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT_S} seconds, "
                                         f"not {text!r} (inf = no time budget)")
    return value


# What `verifier /standard` turns on: the "Standard Flags" of `verifier /querysettings`, the "standard
# rule classes" of https://learn.microsoft.com/windows-hardware/drivers/devtest/driver-verifier-options
# (rule class n = flag bit n-1): special pool 0x1, force IRQL checking 0x2, pool tracking 0x8,
# I/O verification 0x10, deadlock detection 0x20, DMA checking 0x80, security checks 0x100,
# miscellaneous checks 0x800, DDI compliance checking 0x20000; 0x209BB in all, as `verifier /?` says.
# Code integrity checking (0x02000000) is not among them.
STANDARD_FLAGS = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100 | 0x800 | 0x20000


def windows_spelling(argv: list[str]) -> list[str]:
    """`verifier /flags 0x02000000 /driver X.sys [Y.sys]` as Windows spells it -> `run --flags ... X.sys`."""
    if not argv or argv[0].lower() not in ("/flags", "/driver", "/standard"):
        return argv
    out, drivers, i = ["run"], [], 0
    while i < len(argv):
        word = argv[i].lower()
        if word == "/flags" and i + 1 < len(argv):
            out += ["--flags", argv[i + 1]]
            i += 2
        elif word == "/driver":
            i += 1
            while i < len(argv) and not argv[i].startswith("/"):
                drivers.append(argv[i])
                i += 1
        elif word == "/standard":
            out += ["--flags", hex(STANDARD_FLAGS)]
            i += 1
        else:
            out.append(argv[i])
            i += 1
    return out + drivers


def write_report(text: str, output: str | None) -> bool:
    """The report to `output` (stdout if None); False, said on stderr, when it cannot be written."""
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            print(f"verifier: error: cannot write report to {output}: {exc.strerror or exc}", file=sys.stderr)
            return False
    else:
        sys.stdout.write(text + "\n")
    return True


def emit(report: Report, fmt: str, output: str | None) -> int:
    if not write_report(renderer(fmt)(report), output):
        return EXIT_USAGE
    # An unusable input must reach the user: on stderr, unless the text report itself is on the terminal.
    if output or fmt != "text" or not sys.stdout.isatty():
        for d in report.drivers:
            if d.error:
                print(f"verifier: {d.path}: {d.error}", file=sys.stderr)
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(windows_spelling(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "scan":
            from verifier.scan import scan_paths
            return emit(scan_paths(args.paths), args.format, args.output)
        if args.command in ("run", "fuzz"):
            from verifier.scenario import ScenarioError, load
            try:
                scenario = load(args.scenario) if args.scenario else None
            except ScenarioError as exc:
                for line in exc.lines:
                    print(f"verifier: error: {line}", file=sys.stderr)
                return EXIT_USAGE
        if args.command == "fuzz":
            from verifier.fuzz.command import main as fuzz_main
            return fuzz_main(args, scenario)
        if args.command == "run":
            from verifier.runner import run_paths
            from verifier.session import Options
            if args.scenario and args.ioctls:
                parser.error("--ioctl adds IOCTLs to the default scenario; with --scenario, put them in the file")
            options = Options(flags=args.flags, keep_going=args.keep_going, strict=args.strict,
                              max_instructions=args.max_instructions, timeout=args.timeout, profile=args.profile,
                              scenario=scenario, ioctls=args.ioctls)
            report = run_paths(args.paths, options)
            code = emit(report, args.format, args.output)
            if report.interrupted:
                print("verifier: interrupted", file=sys.stderr)
            return code
        if args.command == "batch":
            from verifier.batch import main as batch_main
            return batch_main(args)
        if args.command == "repro":
            from verifier.repro import main as repro_main
            text, code = repro_main(args)
            return code if text is None or write_report(text, args.output) else EXIT_USAGE
    except KeyboardInterrupt:
        print("verifier: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
