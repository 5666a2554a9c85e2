"""Benchmark rule loading: generated rule sets of 100, 1,500 and 5,000 rules, and how it grows.

    python benchmarks/bench_load.py                          # this checkout, best of 3
    python benchmarks/bench_load.py --against /path/to/main  # before vs after, alternating
    python benchmarks/bench_load.py --sizes 100,1500 --lint  # lint's time too

The rule sets are what a large bank writes on top of a shipped pack: files of at most
`--per-file` rules (500), each extending the one before (the first extends
``pack:cn-bank-retail``), because one rule file is bounded to 1 MiB and 50,000 YAML nodes.
Every file is written block-style like the shipped packs; the rules' conditions read two to
five facts (days past due, amounts, attempts per channel, buckets, steps done and days since
them, a disjunction, the generated derived facts); there is one derived fact per 50 rules
(each built on an earlier one) and one `block_while` limit per 100 rules. Everything comes
from `--seed`, so both checkouts load the same files.

Each load runs in a fresh process (no warm caches; imports are not timed); with
``--against`` the two checkouts take turns, so machine noise falls on both alike. Per
size it prints the best time of each checkout, the time per rule, the growth against the
previous size (time ratio / size ratio: 1.0 is linear), the speed-up, and whether both
checkouts made the same RuleSet (sha256 of the canonical document, and the same rule ids).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

STEPS = ("sms_reminder", "email_reminder", "phone_reminder", "phone_collection",
         "repayment_plan_offer", "overdue_letter", "credit_report_notice", "credit_report",
         "lawyer_letter", "agency_referral", "visit_notice")  # fmt: skip
CHANNELS = ("sms", "phone", "email")


def _atom(rng: random.Random, derived: list[str]) -> str:
    """One part of a condition; the mix reads like the bank rules of bench_engine."""
    pick = rng.randrange(12)
    if pick == 0:
        return f"dpd >= {rng.randrange(1, 400)}"
    if pick == 1:
        return f"dpd <= {rng.randrange(5, 800)}"
    if pick == 2:
        return f"overdue_amount >= {rng.randrange(50, 50_000)}"
    if pick == 3:
        return f"attempts_7d.{rng.choice(CHANNELS)} < {rng.randrange(1, 9)}"
    if pick == 4:
        return f'bucket {rng.choice(["==", "!="])} "M{rng.randrange(1, 7)}"'
    if pick == 5:
        return f"not step_done.{rng.choice(STEPS)}"
    if pick == 6:
        return f"days_since_step.{rng.choice(STEPS)} >= {rng.randrange(1, 60)}"
    if pick == 7:
        return rng.choice(("contactable", "not hardship", "not dispute_open"))
    if pick == 8:
        return f"installments_overdue >= {rng.randrange(1, 6)}"
    if pick == 9:
        return (f"(days_since_conversation >= {rng.randrange(1, 90)}"
                " or not (days_since_conversation >= 0))")  # fmt: skip
    if pick == 10:
        return f'bucket in ["M{rng.randrange(1, 4)}", "M{rng.randrange(4, 7)}"]'
    return rng.choice(derived)


def rule_files(n: int, per_file: int, seed: int) -> list[str]:
    """The texts of the files of an `n`-rule set, base first; file k extends file k-1."""
    rng = random.Random(f"{seed}:{n}")
    derived = [f"gen_derived_{i}" for i in range(max(2, n // 50))]
    files: list[str] = []
    for start in range(0, n, per_file):
        stop = min(n, start + per_file)
        k = len(files)
        out = ["dunning: 1",
               "extends: pack:cn-bank-retail" if k == 0 else f"extends: part_{k - 1:02d}.yaml",
               f"id: generated_{n}", f'version: "bench-{k}"', "", "derived:"]  # fmt: skip
        for i in range(len(derived) * start // n, len(derived) * stop // n):
            base = "collectable" if i == 0 else derived[rng.randrange(i)]
            out += [f"  - id: {derived[i]}",
                    f"    expr: {base} and overdue_amount >= {rng.randrange(100, 9000)}"
                    f" and dpd <= {rng.randrange(30, 900)}",
                    f"    description: generated derived fact {i}"]  # fmt: skip
        out += ["", "rules:"]
        known = derived[: max(1, len(derived) * stop // n)]
        for i in range(start, stop):
            when = " and ".join(_atom(rng, known) for _ in range(rng.randrange(2, 6)))
            out += [f"  - id: gen_rule_{i:05d}",
                    f"    when: {when}",
                    f"    step: {rng.choice(STEPS)}",
                    f"    priority: {rng.randrange(1, 99)}",
                    f"    reason: Generated rule {i} of the load benchmark.",
                    '    source: "bench_load"']  # fmt: skip
        out += ["", "limits:"]
        for i in range(start // 100, max(start // 100 + 1, stop // 100)):
            out += [f"  - id: gen_limit_{i}",
                    "    kind: block_while",
                    f"    applies_to: {{steps: [{rng.choice(STEPS)}]}}",
                    f"    when: dpd >= {rng.randrange(500, 3000)} and not contactable",
                    '    source: "bench_load"']  # fmt: skip
        files.append("\n".join(out) + "\n")
    return files


def write_set(n: int, per_file: int, seed: int, where: Path) -> Path:
    """Write the files of an `n`-rule set under `where`; the path of the one to load."""
    where.mkdir(parents=True, exist_ok=True)
    texts = rule_files(n, per_file, seed)
    for k, text in enumerate(texts):
        (where / f"part_{k:02d}.yaml").write_text(text, encoding="utf-8")
    return where / f"part_{len(texts) - 1:02d}.yaml"


_CHILD = """
import gc, hashlib, json, sys, time
from dunning import lint, load_rules
path, with_lint = sys.argv[1], sys.argv[2] == "1"
gc.collect(); gc.freeze()
t0 = time.perf_counter()
rules = load_rules(path)
t1 = time.perf_counter()
findings = sorted(str(f) for f in lint(rules)) if with_lint else []
t2 = time.perf_counter()
ids = hashlib.sha256(" ".join(r.id for r in rules.rules).encode()).hexdigest()
print(json.dumps({"load": t1 - t0, "lint": t2 - t1, "sha256": rules.sha256, "ids": ids,
                  "rules": len(rules.rules), "findings": hashlib.sha256(
                      "\\n".join(findings).encode()).hexdigest(), "n_findings": len(findings)}))
"""


def measure(src: Path, path: Path, with_lint: bool) -> dict[str, Any]:
    """One load (and lint) of `path` in a fresh process importing dunning from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), "1" if with_lint else "0"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1500,5000")
    ap.add_argument("--per-file", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many loads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--against", type=Path, help="another checkout (before), run alternately")
    ap.add_argument("--lint", action="store_true", help="also time lint() of each set")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    checkouts = {"this": ROOT / "src"}
    if args.against is not None:
        checkouts["against"] = args.against.resolve() / "src"
    gc.disable()  # this process only starts the timed ones
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        for n in sizes:
            path = write_set(n, args.per_file, args.seed, Path(tmp) / str(n))
            files = len(list(path.parent.glob("*.yaml")))
            for _ in range(args.repeat):
                for name, src in checkouts.items():
                    runs.setdefault((name, n), []).append(measure(src, path, args.lint))
            print(f"  {n:,} rules in {files} file(s): done", file=sys.stderr, flush=True)
    best = {
        k: {**min(v, key=lambda r: r["load"]), "lint": min(r["lint"] for r in v)}
        for k, v in runs.items()
    }
    head = f"{'rules':>6} {'files':>5} {'load s':>8} {'ms/rule':>8} {'growth':>7}"
    if args.lint:
        head += f" {'lint s':>7}"
    if "against" in checkouts:
        head += f" | {'before s':>8} {'ms/rule':>8} {'growth':>7} | {'speed-up':>8} same"
    print(
        f"best of {args.repeat} fresh-process loads; growth = time ratio / size ratio"
        " against the previous size (1.0 = linear)"
    )
    print(head)
    prev: dict[str, tuple[int, float]] = {}
    for n in sizes:
        line = f"{n:6,} {-(-n // args.per_file):5}"
        for name in checkouts:
            r = best[name, n]
            t = r["load"]
            growth = (t / prev[name][1]) / (n / prev[name][0]) if name in prev else None
            prev[name] = (n, t)
            g = f"{growth:7.2f}" if growth is not None else f"{'':>7}"
            if name == "against":
                line += " |"
            line += f" {t:8.3f} {1000 * t / n:8.3f} {g}"
            if args.lint and name == "this":
                line += f" {r['lint']:7.3f}"
        if "against" in checkouts:
            a, b = best["this", n], best["against", n]
            same = all(a[k] == b[k] for k in ("sha256", "ids", "rules"))
            if args.lint:
                same = same and a["findings"] == b["findings"]
            speed = b["load"] / a["load"]
            line += f" | {speed:7.1f}x {'yes' if same else 'NO'}"
        print(line)
    for n in sizes:
        r = best["this", n]
        extra = f", {r['n_findings']} lint findings" if args.lint else ""
        print(f"  {n:,}: {r['rules']} rules loaded, sha256 {str(r['sha256'])[:16]}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
