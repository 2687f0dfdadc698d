#!/usr/bin/env bash
# Prepares bench/device/ for bench/device_check.sh, on the CPU machine (x86-64, Rust toolchain):
#   - noisegd and bench_case, release builds with the `gpu` feature, stripped, xz-compressed
#     (the GPU machine has no Rust toolchain; what travels there is limited to 64 MiB);
#   - a CIFAR-10 subset as an ImageFolder tree (500 training and 100 test images per class,
#     the first files of each class of ../shared/data/cifar10-jpeg), for the short training runs;
#   - Debian's Vulkan loader and libglvnd packages in .gl/ (the GPU machine's driver has neither).
#
#   bash bench/prepare_device_check.sh [CIFAR_JPEG_DIR]     # ~21 min for the release build, alone on 2 cores
#   PROFILE=dev bash bench/prepare_device_check.sh           # for SMOKE=1 runs of the check here
#
# Then, with the device tool: carry [".gl", "bench/device"], command:
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; bash bench/device_check.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cifar=${1:-$root/../shared/data/cifar10-jpeg}
out=$root/bench/device
mkdir -p "$out"
cd "$root"

profile=${PROFILE:-release}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
cargo build --profile "$profile" --locked --features gpu -p noisegd-cli -p noisegd --example bench_case --bin noisegd
for bin in "target/$dir/noisegd" "target/$dir/examples/bench_case"; do
  name=$(basename "$bin")
  strip -o "$out/$name" "$bin"
  xz -6 -T2 -f "$out/$name"
done

# The training runs' data: a prefix of every class, train and test.
rm -rf "$out/cifar10-small"
for split in train:500 test:100; do
  dir=${split%%:*}; count=${split##*:}
  for class in "$cifar/$dir"/*/; do
    class=$(basename "$class")
    mkdir -p "$out/cifar10-small/$dir/$class"
    files=("$cifar/$dir/$class"/*)   # sorted by the glob
    cp "${files[@]:0:$count}" "$out/cifar10-small/$dir/$class/"
  done
done
tar -C "$out" -cf "$out/cifar10-small.tar" cifar10-small
rm -rf "$out/cifar10-small"

# The Vulkan loader and libglvnd from Debian, unpacked there by the command above: NVIDIA's Vulkan
# driver is its libGLX_nvidia.so.0, which needs libglvnd (without it, on 2026-11-30, wgpu found
# no adapter on the H200 machine). These are the packages the device tool's README names.
packages="libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2"
if [ ! -d .gl ] || ! ls .gl/libvulkan1_*.deb .gl/libglvnd0_*.deb >/dev/null 2>&1; then
  grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download $packages)
fi
du -sh "$out" .gl
