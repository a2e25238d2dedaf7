"""rules_engine: the CSV rules engine (report_api.engine) on a 1 GB input, beside the old system's way of
doing it, run in the same script: pandas reading in chunks and evaluating each rule per row with `eval`.

    flock /tmp/hub-bench.lock .venv/bin/python bench/rules_engine.py     # or: make bench B=rules_engine
    .venv/bin/python bench/rules_engine.py --quick                       # smoke run on 50 MB inputs

Inputs (made once with numpy/polars, seeded, cached under var/bench/rules_engine/): a 10-column input of
--size-mb (about 100 bytes a row), a 250-column input of --wide-size-mb, a 100,000-row reference joined on
two shared key columns; 1 % of the input's keys have no reference row, 0.1 % of field3 is "N/A" and 1 % of
qty is 0 (so the division rule has errors to count). Each system runs in its own child process, so its peak
resident memory (VmHWM) is its own. The baseline runs on the first --baseline-rows rows and is scaled.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import progress, run

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "var" / "bench" / "rules_engine"
SEED = 20240517
REF_ROWS = 100_000

RULES = """\
outfield1: field1 + field2
outfield2: refdata1
outfield3: refdata2 + refdata3
outfield4: field3 * max(field5, refdata4)
outfield5: max(field5, refdata4)
outfield6: if(qty > 50, 'bulk', 'single')
outfield7: round(field5 / qty, 2)
outfield8: upper(field4)
outfield9: coalesce(note, 'n/a')
outfield10: id
"""
# the same rules as Python expressions for the baseline's eval (if() and upper() as helper functions)
BASELINE_RULES = {
    "outfield1": "field1 + field2",
    "outfield2": "refdata1",
    "outfield3": "refdata2 + refdata3",
    "outfield4": "field3 * max(field5, refdata4)",
    "outfield5": "max(field5, refdata4)",
    "outfield6": "iff(qty > 50, 'bulk', 'single')",
    "outfield7": "round(field5 / qty, 2)",
    "outfield8": "upper(field4)",
    "outfield9": "coalesce(note, 'n/a')",
    "outfield10": "id",
}

FIRST = ["Alice", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Gwen", "Hiroshi", "Ines", "Jonathan", "Kemal", "Lena"]
LAST = ["Smith", "Jones", "Okafor", "Nguyen", "Garcia", "Muller", "Rossi", "Tanaka", "Dubois", "Kowalski"]
CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon"]
NOTES = ["delivered on time, signed for by the reception desk", "late delivery: customer informed by phone on Monday",
         "partial shipment, the remainder follows next week", None, "priority order, handle with care and call ahead",
         "invoice sent by email to accounts payable department", "returned item replaced under the two-year warranty"]


# --- data ------------------------------------------------------------------------------------------------

def _narrow_chunk(rng, start: int, n: int):
    import numpy as np
    import polars as pl

    field3 = pl.Series(rng.integers(0, 100_000, n) / 100).cast(pl.String)
    field3 = pl.select(pl.when(pl.Series(rng.random(n) < 0.001)).then(pl.lit("N/A")).otherwise(field3)).to_series()
    qty = rng.integers(0, 100, n)
    return pl.DataFrame({
        "id": np.arange(start, start + n),
        "field1": pl.Series(FIRST).gather(rng.integers(0, len(FIRST), n)),
        "field2": pl.Series(LAST).gather(rng.integers(0, len(LAST), n)),
        "field3": field3,
        "field4": pl.Series(CATEGORIES).gather(rng.integers(0, len(CATEGORIES), n)),
        "field5": rng.integers(0, 1_000_000, n) / 1000,
        "refkey1": pl.Series(rng.integers(0, 1010, n)).cast(pl.String).str.pad_start(4, "0").str.pad_start(5, "K"),
        "refkey2": pl.Series(rng.integers(0, 100, n)).cast(pl.String).str.pad_start(3, "0").str.pad_start(4, "R"),
        "qty": qty,
        "note": pl.Series(NOTES).gather(rng.integers(0, len(NOTES), n)),
    })


def _wide_chunk(rng, start: int, n: int):
    import polars as pl

    base = _narrow_chunk(rng, start, n)
    filler = rng.integers(0, 100_000, (n, 240))
    extra = {f"x{i + 11:03d}": filler[:, i] if i % 3 else pl.Series(filler[:, i]).cast(pl.String).str.pad_start(6, "c")
             for i in range(240)}
    return base.with_columns(**extra)


def make_input(path: Path, target_bytes: int, wide: bool) -> None:
    import numpy as np

    rng = np.random.default_rng(SEED + (1 if wide else 0))
    chunk = 2_000 if wide else 100_000
    tmp = path.with_suffix(".partial")
    start = 0
    with open(tmp, "wb") as f:
        while f.tell() < target_bytes:
            frame = (_wide_chunk if wide else _narrow_chunk)(rng, start, chunk)
            frame.write_csv(f, include_header=start == 0)
            start += chunk
    os.replace(tmp, path)


def make_reference(path: Path) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED + 2)
    k1 = pl.Series(np.repeat(np.arange(1000), 100)).cast(pl.String).str.pad_start(4, "0").str.pad_start(5, "K")
    k2 = pl.Series(np.tile(np.arange(100), 1000)).cast(pl.String).str.pad_start(3, "0").str.pad_start(4, "R")
    frame = pl.DataFrame({
        "refkey1": k1,
        "refdata1": pl.Series(["north", "south", "east", "west"]).gather(rng.integers(0, 4, REF_ROWS)),
        "refkey2": k2,
        "refdata2": pl.Series(["A", "B", "C"]).gather(rng.integers(0, 3, REF_ROWS)),
        "refdata3": pl.Series(["x1", "y2", "z3"]).gather(rng.integers(0, 3, REF_ROWS)),
        "refdata4": rng.integers(0, 100_000, REF_ROWS) / 100,
    })
    tmp = path.with_suffix(".partial")
    frame.write_csv(tmp)
    os.replace(tmp, path)


def ensure(path: Path, make, *args) -> Path:
    if not path.exists():
        progress(f"generating {path.relative_to(HERE.parent)} (cached for later runs)")
        started = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path, *args)
        progress(f"  {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s")
    return path


# --- children --------------------------------------------------------------------------------------------

def _peak_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def child_engine(args: argparse.Namespace) -> dict:
    from report_api.engine import generate, parse_rules

    rules = parse_rules(Path(args.rules).read_text(), "yaml")
    started, cpu = time.perf_counter(), os.times()
    summary = generate(rules, args.input, args.reference, args.output, fmt=args.fmt)
    seconds, cpu2 = time.perf_counter() - started, os.times()
    return {"seconds": seconds, "cpu": cpu2.user + cpu2.system - cpu.user - cpu.system, "peak_kib": _peak_kib(),
            "summary": summary.to_dict()}


def _helpers() -> dict:
    return {"iff": lambda c, a, b: a if c else b, "upper": lambda s: s.upper(),
            "coalesce": lambda *v: next((x for x in v if x is not None and x == x), None), "max": max, "round": round}


def child_baseline(args: argparse.Namespace) -> dict:
    """The old system's way: pandas chunks merged with the reference, then for each row (iterrows) each rule's
    text evaluated with eval(); a cell whose rule raises is empty. --variant tuned is a faster take on the same
    idea: a dict lookup for the reference, rows as dicts, rule texts compiled once."""
    import pandas as pd

    started, cpu = time.perf_counter(), os.times()
    reference = pd.read_csv(args.reference)
    helpers = _helpers()
    tuned = args.variant == "tuned"
    if tuned:
        lookup = {(r["refkey1"], r["refkey2"]): r for r in reference.to_dict("records")}
        rules = {name: compile(expr, name, "eval") for name, expr in BASELINE_RULES.items()}
    else:
        rules = BASELINE_RULES
    rows = errors = 0
    with open(args.output, "w", newline="") as out:
        header = True
        for chunk in pd.read_csv(args.input, chunksize=50_000, nrows=args.rows):
            if tuned:
                records = []
                for record in chunk.to_dict("records"):
                    record.update(lookup.get((record["refkey1"], record["refkey2"]), {}))
                    records.append(record)
            else:
                merged = chunk.merge(reference, on=["refkey1", "refkey2"], how="left")
                records = (row.to_dict() for _, row in merged.iterrows())
            results = []
            for context in records:
                row = {}
                for name, expr in rules.items():
                    try:
                        row[name] = eval(expr, helpers, context)
                    except Exception:  # noqa: BLE001 - a bad cell is an empty cell
                        row[name] = None
                        errors += 1
                results.append(row)
            pd.DataFrame(results).to_csv(out, header=header, index=False)
            header = False
            rows += len(chunk)
    seconds, cpu2 = time.perf_counter() - started, os.times()
    return {"seconds": seconds, "cpu": cpu2.user + cpu2.system - cpu.user - cpu.system, "peak_kib": _peak_kib(),
            "rows": rows, "errors": errors}


# --- the benchmark ---------------------------------------------------------------------------------------

def _busy_ticks() -> tuple[float, float]:
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        DATA.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="run-", dir=DATA))  # outputs on the same disk as the inputs
        self.notes: list[str] = []
        self.failed = False

    def child(self, kind: str, **options) -> dict:
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind]
        for key, value in options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        tick = os.sysconf("SC_CLK_TCK")
        busy0, _ = _busy_ticks()
        load0 = os.getloadavg()[0]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        busy1, _ = _busy_ticks()
        if done.returncode != 0:
            raise RuntimeError(f"{kind} child failed ({done.returncode}): {done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        # CPU the rest of the machine used meanwhile: all busy time minus the child's own
        result["others_cpu"] = max(0.0, (busy1 - busy0) / tick - result["cpu"])
        result["load_before"] = load0
        if done.stderr.strip():
            self.notes.append(f"{kind} child wrote to stderr: {done.stderr.strip()[:300]}")
        return result

    def engine(self, rules: Path, path: Path, reference: Path, fmt: str = "csv") -> dict:
        """The engine's best of --repeat runs (the shortest: the least disturbed by the rest of the machine)."""
        runs = []
        for _ in range(self.args.repeat):
            runs.append(self.child("engine", rules=rules, input=path, reference=reference,
                                   output=self.tmp / f"report.{fmt}", fmt=fmt))
            (self.tmp / f"report.{fmt}").unlink(missing_ok=True)
        best = min(runs, key=lambda r: r["seconds"])
        best["all_seconds"] = [round(r["seconds"], 2) for r in runs]
        return best

    def run(self) -> dict:
        a = self.args
        narrow = ensure(DATA / f"input-10col-{a.size_mb}MB.csv", make_input, a.size_mb * 1_000_000, False)
        wide = ensure(DATA / f"input-250col-{a.wide_size_mb}MB.csv", make_input, a.wide_size_mb * 1_000_000, True)
        reference = ensure(DATA / "reference-100k.csv", make_reference)
        rules = self.tmp / "rules.yaml"
        rules.write_text(RULES)
        results = {}
        for label, path, baseline_rows in (("10 columns", narrow, a.baseline_rows),
                                           ("250 columns", wide, a.wide_baseline_rows)):
            size = path.stat().st_size
            progress(f"engine on {path.name} ({size / 1e6:.0f} MB), best of {a.repeat}")
            engine = self.engine(rules, path, reference)
            progress(f"  {engine['all_seconds']} s; baselines on the first {baseline_rows} rows")
            baselines = {}
            for variant in ("typical", "tuned"):
                baselines[variant] = self.child("baseline", input=path, reference=reference, variant=variant,
                                                output=self.tmp / "baseline.csv", rows=baseline_rows)
                (self.tmp / "baseline.csv").unlink(missing_ok=True)
            results[label] = {"size": size, "engine": engine, **baselines}
        if a.xlsx_rows:
            sample = self.tmp / "xlsx-input.csv"
            with open(narrow, "rb") as src, open(sample, "wb") as dst:
                for i, line in enumerate(src):
                    if i > a.xlsx_rows:
                        break
                    dst.write(line)
            progress(f"engine writing XLSX from {a.xlsx_rows} rows")
            results["xlsx"] = self.engine(rules, sample, reference, "xlsx")
        return results

    def cleanup(self) -> None:
        for path in sorted(self.tmp.glob("*")):
            path.unlink()
        self.tmp.rmdir()


def report(results: dict, args: argparse.Namespace, notes: list[str]) -> str:
    lines = [f"rules_engine on {os.cpu_count()} CPUs: {RULES.count(chr(10))} rules (concat, reference lookups, "
             "arithmetic with text-to-number conversion, max, if, round of a division, upper, coalesce, a copy); "
             f"reference {REF_ROWS} rows joined on 2 shared columns; engine: best of {args.repeat} run(s)", ""]
    header = f"{'input':13s}{'system':27s}{'rows':>10s}{'seconds':>9s}{'rows/s':>10s}{'MB/s':>8s}" \
             f"{'CPU s':>8s}{'peak RSS MiB':>13s}{'others CPU s':>13s}"
    lines += [header, "-" * len(header)]
    names = {"typical": "baseline: iterrows+eval", "tuned": "baseline: tuned eval"}
    rates = {}
    for label in ("10 columns", "250 columns"):
        r = results[label]
        e = r["engine"]
        rows = e["summary"]["input_rows"]
        mb = r["size"] / 1e6
        rates[label] = {"engine": rows / e["seconds"]}
        lines.append(f"{label:13s}{'engine (polars, streaming)':27s}{rows:>10d}{e['seconds']:>9.2f}"
                     f"{rows / e['seconds']:>10.0f}{mb / e['seconds']:>8.1f}{e['cpu']:>8.1f}"
                     f"{e['peak_kib'] / 1024:>13.0f}{e['others_cpu']:>13.1f}")
        for variant in ("typical", "tuned"):
            b = r[variant]
            rate = b["rows"] / b["seconds"]
            rates[label][variant] = rate
            lines.append(f"{'':13s}{names[variant]:27s}{b['rows']:>10d}{b['seconds']:>9.2f}{rate:>10.0f}"
                         f"{mb * rate / rows:>8.2f}{b['cpu']:>8.1f}{b['peak_kib'] / 1024:>13.0f}"
                         f"{b['others_cpu']:>13.1f}")
            lines.append(f"{'':13s}{'  scaled to all rows':27s}{rows:>10d}{rows / rate:>9.0f}")
        s = e["summary"]
        notes.append(f"{label}: engine runs {e['all_seconds']} s; error rows {s['error_rows']} "
                     f"({s['errors_by_column']}), missing reference {s['missing_reference_rows']}, output "
                     f"{s['output_bytes'] / 1e6:.0f} MB")
    if "xlsx" in results:
        x = results["xlsx"]
        rows = x["summary"]["rows"]
        lines.append(f"{'XLSX output':13s}{'engine (xlsxwriter)':27s}{rows:>10d}{x['seconds']:>9.2f}"
                     f"{rows / x['seconds']:>10.0f}{'':>8s}{x['cpu']:>8.1f}{x['peak_kib'] / 1024:>13.0f}"
                     f"{x['others_cpu']:>13.1f}")
    lines.append("")
    narrow, wide = results["10 columns"], results["250 columns"]
    ratio = rates["10 columns"]["engine"] / rates["10 columns"]["typical"]
    tuned_ratio = rates["10 columns"]["engine"] / rates["10 columns"]["tuned"]
    lines.append(f"note: the baselines ran on the first {narrow['typical']['rows']} rows (10 columns) and "
                 f"{wide['typical']['rows']} rows (250 columns); their seconds are scaled to all rows by rows/s")
    lines.append("note: 'others CPU s' is the CPU time the rest of the machine used during that run (/proc/stat); "
                 "well above 0 means the machine was busy and the figure is pessimistic")
    lines += [f"note: {n}" for n in notes]
    e = narrow["engine"]
    wide_mbs = wide["size"] / wide["engine"]["seconds"] / 1e6
    lines.append(
        f"rules_engine: ratio {ratio:.0f} (engine {rates['10 columns']['engine']:.0f} rows/s vs iterrows+eval "
        f"baseline {rates['10 columns']['typical']:.0f} rows/s, {tuned_ratio:.0f}x a tuned eval; "
        f"{narrow['size'] / 1e9:.2f} GB/10 col in {e['seconds']:.1f} s = {narrow['size'] / e['seconds'] / 1e6:.0f} "
        f"MB/s, peak rss {e['peak_kib'] / 1024:.0f} MiB; 250 col {wide_mbs:.0f} MB/s, peak rss "
        f"{wide['engine']['peak_kib'] / 1024:.0f} MiB)")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1000, help="10-column input size (MB)")
    parser.add_argument("--wide-size-mb", type=int, default=1000, help="250-column input size (MB)")
    parser.add_argument("--baseline-rows", type=int, default=200_000, help="rows the baseline runs on (10 col)")
    parser.add_argument("--wide-baseline-rows", type=int, default=10_000, help="rows the baseline runs on (250 col)")
    parser.add_argument("--xlsx-rows", type=int, default=200_000, help="rows for the XLSX figure (0: skip)")
    parser.add_argument("--repeat", type=int, default=2, help="engine runs per figure; the fastest is shown")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 MB inputs, small baseline samples")
    parser.add_argument("--child", choices=("engine", "baseline"), help=argparse.SUPPRESS)
    for name in ("rules", "input", "reference", "output", "fmt", "rows", "variant"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb, args.wide_size_mb, args.baseline_rows, args.wide_baseline_rows = 50, 50, 20_000, 2_000
        args.xlsx_rows, args.repeat = 20_000, 1
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        if args.rows is not None:
            args.rows = int(args.rows)
        print(json.dumps((child_engine if args.child == "engine" else child_baseline)(args)))
        return 0
    bench = Bench(args)
    return run(bench, lambda results: report(results, args, bench.notes))


if __name__ == "__main__":
    sys.exit(main())
