#!/usr/bin/env python3
"""End-to-end step times of noisegd, and of the official PyTorch loop on the same machine.

    python3 bench/compare.py                  # noisegd only
    python3 bench/compare.py --with-pytorch   # also PyTorch (installed into bench/.venv from PyPI)
    python3 bench/compare.py --quick --cases mlp1   # fewer rounds, only the cases whose name contains 'mlp1'
    python3 bench/compare.py --peers --cases mlp1   # also Anti-PGD, SAM, ASAM, RWP and NSO (noisegd only)

Each case (model, batch, policy) runs in a fresh process: `crates/noisegd/examples/bench_case.rs`
for noisegd, `bench/peer_pytorch.py` for PyTorch, with the same flags. The two sides alternate,
round after round, so both see the same machine state; a case's figure is the median over rounds of
each process's median step time. Peak memory is the process's VmHWM. The table ends with the ratios
noisegd / PyTorch and each policy's overhead over `none` on the same side. Standard library only.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"
RUST_CASE = ROOT / "target" / "release" / "examples" / "bench_case"
PEER = ROOT / "bench" / "peer_pytorch.py"
POLICIES = ["none", "all", "layer"]
# The peer methods of the same step (noisegd only: the official loop has none of them).
PEERS = ["anti", "sam", "asam", "rwp", "nso"]

# (name, flags, warmup, timed steps): sized so that one process runs for a few seconds.
CASES = [
    ("mlp1 b128", ["--model", "mlp1", "--batch", "128"], 10, 60),
    ("mlp1 b1024", ["--model", "mlp1", "--batch", "1024"], 5, 20),
    ("lenet b128", ["--model", "lenet", "--batch", "128"], 5, 30),
    ("widecnn b128", ["--model", "widecnn", "--batch", "128"], 2, 8),
    ("diag n40 d100", ["--model", "diag", "--n", "40", "--d", "100"], 100, 2000),
    ("diag n1000 d10000", ["--model", "diag", "--n", "1000", "--d", "10000"], 10, 100),
]


def sh(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def ensure_pytorch():
    python = VENV / "bin" / "python"
    if python.exists():
        ok = subprocess.run([python, "-c", "import torch"], capture_output=True)
        if ok.returncode == 0:
            return python
    print("installing PyTorch from PyPI into bench/.venv (a few GB, once)...", file=sys.stderr)
    sh([sys.executable, "-m", "venv", VENV])
    sh([VENV / "bin" / "pip", "install", "--quiet", "torch", "numpy"])
    return python


def run_case(cmd, env=None):
    """One process; returns its JSON line as a dict, or an error string."""
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--with-pytorch", action="store_true", help="also run the PyTorch peer")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds per case (default 5)")
    p.add_argument("--quick", action="store_true", help="2 rounds and a quarter of the steps")
    p.add_argument("--cases", default="", help="only cases whose name contains this")
    p.add_argument("--json", type=Path, help="also write every measurement to this file")
    p.add_argument("--peers", action="store_true",
                   help="also time the peer policies " + ", ".join(PEERS) + " (noisegd only)")
    p.add_argument("--noisegd-threads", type=int, default=0,
                   help="RAYON_NUM_THREADS for the noisegd processes (default: all cores)")
    args = p.parse_args()
    rounds = 2 if args.quick else args.rounds

    sh(["cargo", "build", "--release", "--quiet", "-p", "noisegd", "--example", "bench_case"], cwd=ROOT)
    python = ensure_pytorch() if args.with_pytorch else None

    rows, raw = [], []
    for name, flags, warmup, steps in CASES:
        if args.cases not in name:
            continue
        if args.quick:
            steps = max(4, steps // 4)
        for policy in POLICIES + (PEERS if args.peers else []):
            common = flags + ["--policy", policy, "--warmup", str(warmup), "--steps", str(steps)]
            sides = {"noisegd": [RUST_CASE] + common}
            if python and policy in POLICIES:
                sides["pytorch"] = [python, PEER] + common
            results = {side: [] for side in sides}
            for _ in range(rounds):
                for side, cmd in sides.items():
                    env = None
                    if side == "noisegd" and args.noisegd_threads:
                        env = dict(os.environ, RAYON_NUM_THREADS=str(args.noisegd_threads))
                    r = run_case(cmd, env)
                    raw.append({"case": name, "policy": policy, "side": side, **r})
                    results[side].append(r)
            row = {"case": name, "policy": policy,
                   "passes": next((r["passes"] for r in results["noisegd"] if "passes" in r), "")}
            for side, rs in results.items():
                good = [r for r in rs if "error" not in r]
                if good:
                    row[side] = statistics.median(r["median_ms"] for r in good)
                    row[side + "_mib"] = max(r["peak_mib"] for r in good)
                else:
                    row[side + "_error"] = rs[0]["error"]
            rows.append(row)
            print(f"{name:>18} {policy:>5}: " + ", ".join(
                f"{s} {row.get(s, float('nan')):.3f} ms" for s in sides), file=sys.stderr)

    threads = args.noisegd_threads or os.cpu_count()
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"noisegd on {threads} thread(s); "
          f"median over {rounds} alternating rounds of per-process medians.\n")
    head = "| case | policy | passes | noisegd ms | overhead | peak MiB |"
    rule = "|---|---|---:|---:|---:|---:|"
    if python:
        head += " PyTorch ms | overhead | peak MiB | noisegd / PyTorch |"
        rule += "---:|---:|---:|---:|"
    print(head)
    print(rule)
    base = {}
    for row in rows:
        if row["policy"] == "none":
            base = {s: row.get(s) for s in ("noisegd", "pytorch")}

        def cell(side):
            if side not in row:
                return f"n/a ({row.get(side + '_error', 'not run')}) | | |"
            over = (f"{(row[side] / base[side] - 1) * 100:+.1f} %"
                    if base.get(side) and row["policy"] != "none" else "")
            return f"{row[side]:.3f} | {over} | {row[side + '_mib']:.0f} |"

        line = f"| {row['case']} | {row['policy']} | {row['passes']} | {cell('noisegd')}"
        if python:
            line += f" {cell('pytorch')}"
            if "noisegd" in row and "pytorch" in row:
                line += f" {row['noisegd'] / row['pytorch']:.2f} |"
            else:
                line += " |"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "raw": raw}, indent=1))


if __name__ == "__main__":
    main()
