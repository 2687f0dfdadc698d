#!/usr/bin/env python3
"""End-to-end step times of noisegd, and of the official PyTorch loop on the same machine.

    python3 bench/compare.py                  # noisegd only
    python3 bench/compare.py --with-pytorch   # also PyTorch (installed into bench/.venv from PyPI)
    python3 bench/compare.py --quick --cases mlp1   # fewer rounds, only the cases whose name contains 'mlp1'
    python3 bench/compare.py --peers --cases mlp1   # also Anti-PGD, SAM, ASAM, RWP and NSO (noisegd only)
    python3 bench/compare.py --device gpu --rust-case PATH --python python3   # on a GPU machine

Each case (model, batch, policy) runs in a fresh process: `crates/noisegd/examples/bench_case.rs`
for noisegd, `bench/peer_pytorch.py` for PyTorch, with the same flags. The two sides alternate,
round after round, so both see the same machine state; a case's figure is the median over rounds of
each process's median step time. Peak memory is the process's VmHWM. The table ends with the ratios
noisegd / PyTorch and each policy's overhead over `none` on the same side. Standard library only.

`--device gpu` runs the GPU cases (the paper's GPU models) with noisegd's wgpu backend and PyTorch
on CUDA, and adds each process's peak GPU memory as `nvidia-smi` reports it (sampled every 0.2 s:
the same measure for both sides, CUDA context included). `bench/device_check.sh` runs it on a GPU
machine from a prebuilt `bench_case` (`--rust-case`) and the system's PyTorch (`--python`).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
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

# The GPU experiments' models at the paper's batch sizes (bench/device_check.sh), the costliest
# first: they are what a GPU is for, and what a --budget must not leave out.
GPU_CASES = [
    ("resnet18 b128", ["--model", "resnet18", "--batch", "128"], 5, 20),
    ("widecnn b128", ["--model", "widecnn", "--batch", "128"], 10, 40),
    ("mlp2 b1024", ["--model", "mlp2", "--batch", "1024"], 10, 40),
    ("mlp1 b1024", ["--model", "mlp1", "--batch", "1024"], 20, 100),
    ("mlp1 b128", ["--model", "mlp1", "--batch", "128"], 20, 100),
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


def gpu_memory_mib(pid):
    """The GPU memory `nvidia-smi` says process `pid` holds now, in MiB (None: not listed)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    for line in out.stdout.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid) and fields[1].isdigit():
            return float(fields[1])
    return None


def run_case(cmd, env=None, watch_gpu=False):
    """One process; returns its JSON line as a dict (with `gpu_peak_mib` when watching the
    GPU), or an error string."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = []
    if watch_gpu:
        def watch():
            while proc.poll() is None:
                used = gpu_memory_mib(proc.pid)
                if used is not None:
                    peak.append(used)
                time.sleep(0.2)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    stdout, stderr = proc.communicate()
    if watch_gpu:
        watcher.join()
    if proc.returncode != 0:
        return {"error": (stderr.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(stdout.strip().splitlines()[-1])
    if watch_gpu:
        result["gpu_peak_mib"] = max(peak) if peak else None
    return result


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
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu"],
                   help="gpu: the GPU cases, noisegd on its wgpu backend, PyTorch on CUDA")
    p.add_argument("--rust-case", type=Path,
                   help="a prebuilt bench_case binary (default: build it with cargo)")
    p.add_argument("--python", help="this Python's PyTorch for the peer (default: bench/.venv)")
    p.add_argument("--budget", type=float, default=0,
                   help="seconds: start no new case after this long (the rest: 'not run')")
    p.add_argument("--from-json", type=Path, nargs="+", metavar="JSON",
                   help="measure nothing: print the table of these --json files, merged "
                        "(e.g. the PyTorch and the noisegd side measured in two runs)")
    args = p.parse_args()
    if args.from_json:
        rows = merged_rows(args.from_json)
        print_table(rows, gpu=any(r.get("noisegd_gpu_mib") or r.get("pytorch_gpu_mib") for r in rows))
        return
    rounds = 2 if args.quick else args.rounds
    gpu = args.device == "gpu"

    rust_case = args.rust_case
    if rust_case is None:
        build = ["cargo", "build", "--release", "--quiet", "-p", "noisegd", "--example", "bench_case"]
        sh(build + (["--features", "gpu"] if gpu else []), cwd=ROOT)
        rust_case = RUST_CASE
    python = None
    if args.with_pytorch or args.python:
        python = args.python or ensure_pytorch()

    rows, raw, started = [], [], time.monotonic()
    for name, flags, warmup, steps in GPU_CASES if gpu else CASES:
        if args.cases not in name:
            continue
        if args.quick:
            steps = max(4, steps // 4)
        for policy in POLICIES + (PEERS if args.peers else []):
            if args.budget and time.monotonic() - started > args.budget:
                print(f"{name} {policy}: not run (past the --budget of {args.budget:.0f} s)",
                      file=sys.stderr)
                continue
            common = flags + ["--policy", policy, "--warmup", str(warmup), "--steps", str(steps)]
            sides = {"noisegd": [rust_case] + common + ["--device", args.device]}
            if python and policy in POLICIES:
                sides["pytorch"] = [python, PEER] + common + ["--device", "cuda" if gpu else "cpu"]
            results = {side: [] for side in sides}
            for _ in range(rounds):
                for side, cmd in sides.items():
                    env = None
                    if side == "noisegd" and args.noisegd_threads:
                        env = dict(os.environ, RAYON_NUM_THREADS=str(args.noisegd_threads))
                    r = run_case(cmd, env, watch_gpu=gpu)
                    raw.append({"case": name, "policy": policy, "side": side, **r})
                    results[side].append(r)
            row = {"case": name, "policy": policy,
                   "passes": next((r["passes"] for r in results["noisegd"] if "passes" in r), "")}
            for side, rs in results.items():
                good = [r for r in rs if "error" not in r]
                if good:
                    row[side] = statistics.median(r["median_ms"] for r in good)
                    row[side + "_mib"] = max(r["peak_mib"] for r in good)
                    gpu_peaks = [r["gpu_peak_mib"] for r in good if r.get("gpu_peak_mib")]
                    row[side + "_gpu_mib"] = max(gpu_peaks) if gpu_peaks else None
                    row[side + "_device"] = good[0].get("device") or good[0].get("gpu")
                else:
                    row[side + "_error"] = rs[0]["error"]
            rows.append(row)
            if args.json:  # after every row: a run stopped by a timeout keeps what it measured
                args.json.write_text(json.dumps({"rows": rows, "raw": raw}, indent=1))
            print(f"{name:>18} {policy:>5}: " + ", ".join(
                f"{s} {row.get(s, float('nan')):.3f} ms" for s in sides), file=sys.stderr)

    threads = args.noisegd_threads or os.cpu_count()
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"noisegd on {threads} thread(s); "
          f"median over {rounds} alternating rounds of per-process medians.")
    print_table(rows, gpu)


def merged_rows(paths):
    """The rows of several `--json` files, one row per (case, policy): a side measured in any
    file fills that side (a later file wins), so two runs that each measured one side make one
    table."""
    merged = {}
    for path in paths:
        for row in json.loads(Path(path).read_text())["rows"]:
            into = merged.setdefault((row["case"], row["policy"]), {})
            for side in ("noisegd", "pytorch"):
                if side in row:
                    into.pop(side + "_error", None)
                    into.update({k: v for k, v in row.items() if k.startswith(side)})
                elif side not in into and side + "_error" in row:
                    into[side + "_error"] = row[side + "_error"]
            into.update(case=row["case"], policy=row["policy"])
            into["passes"] = into.get("passes") or row.get("passes", "")
    return list(merged.values())


def print_table(rows, gpu):
    """The markdown table of `rows`: each side's ms, overhead over `none`, memory, the ratio."""
    python = any("pytorch" in r or "pytorch_error" in r for r in rows)
    for side in ("noisegd", "pytorch"):
        device = next((r[side + "_device"] for r in rows if r.get(side + "_device")), None)
        if device:
            print(f"{side} device: {device}")
    print()
    mem = "GPU MiB" if gpu else "peak MiB"
    head = f"| case | policy | passes | noisegd ms | overhead | {mem} |"
    rule = "|---|---|---:|---:|---:|---:|"
    if python:
        head += f" PyTorch ms | overhead | {mem} | noisegd / PyTorch |"
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
            memory = row[side + "_gpu_mib"] if gpu else row[side + "_mib"]
            memory = f"{memory:.0f}" if memory is not None else "n/a"
            return f"{row[side]:.3f} | {over} | {memory} |"

        line = f"| {row['case']} | {row['policy']} | {row['passes']} | {cell('noisegd')}"
        if python:
            line += f" {cell('pytorch')}"
            if "noisegd" in row and "pytorch" in row:
                line += f" {row['noisegd'] / row['pytorch']:.2f} |"
            else:
                line += " |"
        print(line)


if __name__ == "__main__":
    main()
