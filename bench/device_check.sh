#!/usr/bin/env bash
# The GPU device check: on a machine with an NVIDIA GPU, PyTorch and no Rust toolchain, from what
# bench/prepare_device_check.sh put in bench/device/ on the CPU machine. One command, at most 9 minutes
# (every part has a timeout; the whole needs `timeout_s` 570):
#   1. the machine: GPU, driver, PyTorch, the Vulkan adapter noisegd opens;
#   2. step times of MLP 1 (batch 128, 1,024), MLP 2 (1,024), the wide CNN and ResNet-18 (128)
#      under none / all / layer, noisegd (wgpu) and the official PyTorch loop (CUDA) alternating
#      (bench/compare.py --device gpu; cases past the time budget are listed as not run);
#   3. ResNet-18 on a CIFAR-10 subset (5,000 + 1,000 JPEG images), the Fig. 6 config: 100 steps on
#      the GPU, and its first 2 steps on the CPU for comparison (20 did not fit in a minute on the
#      H200 machine's 16 cores);
#   4. MLP 1 on the compiled-in Fashion-MNIST subset, 200 steps on the GPU and on the CPU.
# Everything goes to $OUT (or ./device-check/): log.txt, compare.md, compare.json, train.md and
# runs.tar.gz (every run directory, checkpoints left out).
#
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; bash bench/device_check.sh
#
# SMOKE=1 runs every part at a toy size (one case, a few steps, batch 16): a dry run of the script
# on the CPU machine's lavapipe before the GPU machine's few minutes are spent on it.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/device-check}
work=/tmp/noisegd-device
mkdir -p "$out" "$work"
exec > >(tee -a "$out/log.txt") 2>&1
export PYTHONUNBUFFERED=1
t0=$(date +%s)
elapsed() { echo "[$(( $(date +%s) - t0 )) s]"; }

echo "== 1. machine $(date -u +%Y-%m-%dT%H:%M:%SZ)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"
python3 -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' ||
  echo "no PyTorch"
# NVIDIA's Vulkan driver (its ICD file), wherever the machine keeps it, pinned so that wgpu opens
# the GPU and nothing else. Its library (libGLX_nvidia) needs libglvnd: both come from .gl/.
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f $icd ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
fi
echo "Vulkan driver file: ${VK_DRIVER_FILES:-none found}"
[ -n "${VK_DRIVER_FILES:-}" ] && cat "$VK_DRIVER_FILES"
ldconfig -p | grep -q libvulkan.so.1 || echo "warning: no Vulkan loader (libvulkan1): see the header"

# The binaries (xz, unpacked with Python's lzma: no xz binary needed) and the data.
python3 - "$root/bench/device" "$work" <<'EOF'
import lzma, os, shutil, sys, tarfile
src, dst = sys.argv[1:3]
for name in ("noisegd", "bench_case"):
    with lzma.open(os.path.join(src, name + ".xz")) as f, open(os.path.join(dst, name), "wb") as g:
        shutil.copyfileobj(f, g)
    os.chmod(os.path.join(dst, name), 0o755)
with tarfile.open(os.path.join(src, "cifar10-small.tar")) as t:
    t.extractall(dst)
EOF
bin=$work/noisegd
if ! timeout -k 10 60 "$work/bench_case" --device gpu --model mlp1 --batch 128 --warmup 2 --steps 3; then
  # Nothing below can run: say what the loader saw and stop, before the device time is spent.
  echo "GPU backend failed to start"
  find / -xdev \( -name 'nvidia_icd*.json' -o -name 'libGLX_nvidia.so*' \) 2>/dev/null | head
  ldconfig -p | grep -E 'libvulkan|libGLX|libGLdispatch' | head
  exit 1
fi
elapsed

# The sizes: the real check, or the dry run's toy ones.
if [ "${SMOKE:-0}" = 1 ]; then
  compare=(--quick --cases "mlp1 b128" --rounds 1)
  resnet=(--set train.batch_size=16 --set train.log_every=2 --set eval.hessian_subset=64
    --set data.subset=256 --set eval.test_subset=64)
  gpu_steps=4 cpu_steps=2 mlp_steps=20
else
  # One process per side and case: the device time (15 min, machine start included) allows no more.
  compare=(--rounds 1 --budget "${BUDGET:-220}")
  resnet=(--set train.log_every=20)
  gpu_steps=100 cpu_steps=2 mlp_steps=200
fi

echo "== 2. step times"
# PYTORCH=0 leaves the PyTorch side out (a rerun that has its figures already).
python=python3
python3 -c 'import torch' 2>/dev/null || python=""
[ "${PYTORCH:-1}" = 0 ] && python=""
timeout -k 20 250 python3 "$root/bench/compare.py" --device gpu --rust-case "$work/bench_case" \
  ${python:+--python $python} "${compare[@]}" --json "$out/compare.json" | tee "$out/compare.md"
elapsed

echo "== 3. ResNet-18 on a CIFAR-10 subset"
runs=$work/runs
rm -rf "$runs"
fig6=(--set data.name=image_folder --set data.dir="$work/cifar10-small" --set train.checkpoint_every=100
  --set eval.hessian_every=$gpu_steps --set eval.hessian_probes=2 --set eval.hessian_subset=500 "${resnet[@]}")
# 100 steps with evaluations and the Hessian trace: 111 s on the H200 (2026-11-30).
timeout -k 20 150 "$bin" -q run "$root/configs/fig6_resnet18_cifar10.toml" "${fig6[@]}" \
  --set train.steps=$gpu_steps --device gpu --out "$runs/resnet18_gpu"
elapsed
[ "${CPU_RESNET:-1}" = 0 ] || timeout -k 20 60 "$bin" -q run "$root/configs/fig6_resnet18_cifar10.toml" "${fig6[@]}" \
  --set train.steps=$cpu_steps --set eval.hessian_every=0 --device cpu --out "$runs/resnet18_cpu"
elapsed

echo "== 4. MLP 1, Fashion-MNIST (compiled-in subset)"
mlp=(--set data.name=fashion_mnist_embedded --set data.subset=1024 --set train.steps=$mlp_steps
  --set train.log_every=$((mlp_steps / 4)) --set eval.hessian_every=$mlp_steps --set eval.hessian_subset=1024)
for device in gpu cpu; do
  timeout -k 20 40 "$bin" -q run "$root/configs/fmnist_mlp1.toml" "${mlp[@]}" --device $device \
    --out "$runs/mlp1_$device"
done
elapsed

# Side by side: the metrics both devices logged at the same steps.
python3 - "$runs" <<'EOF' | tee "$out/train.md"
import csv, json, os, sys
runs = sys.argv[1]
def rows(name):
    path = os.path.join(runs, name, "metrics.csv")
    return {r["step"]: r for r in csv.DictReader(open(path))} if os.path.exists(path) else {}
for model in ("resnet18", "mlp1"):
    gpu, cpu = rows(model + "_gpu"), rows(model + "_cpu")
    summary = os.path.join(runs, model + "_gpu", "summary.json")
    if os.path.exists(summary):
        s = json.load(open(summary))
        print(f"\n{model} on the GPU: {s.get('device')}; {s.get('seconds', 0):.1f} s in all")
    print(f"| {model} step | metric | GPU | CPU |\n|---:|---|---:|---:|")
    for step in sorted(set(gpu) | set(cpu), key=int):
        for key in ("train_loss", "test_loss", "test_accuracy", "hessian_trace"):
            g, c = gpu.get(step, {}).get(key, ""), cpu.get(step, {}).get(key, "")
            if g or c:
                print(f"| {step} | {key} | {g} | {c} |")
EOF
tar -C "$work" --exclude=checkpoint.bin -czf "$out/runs.tar.gz" runs
echo "== done"; elapsed
