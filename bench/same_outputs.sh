#!/usr/bin/env bash
# Do two noisegd binaries give the same outputs? Runs the demo and ten small configs (every
# experiment; minibatches, augmentation, Hessian trace, regularizer, checkpoints, a divergence)
# with each binary, then compares every metrics.csv, summary.json, report.md, config.toml, SVG,
# PNG and the printed output, ignoring only timings, the run directory's path and the git commit.
#
#   cargo build -p noisegd-cli && cp target/debug/noisegd /tmp/noisegd-old   # before a change
#   ...change, build...
#   bench/same_outputs.sh /tmp/noisegd-old target/debug/noisegd
#
# Prints "same outputs" and exits 0, or lists the files that differ and exits 1. About a minute
# per binary on two cores. Checkpoints are not compared: burn draws parameter ids at random.
set -u
old=$1; new=$2; out=${3:-$(mktemp -d)}
cfg=$(cd "$(dirname "$0")/../configs" && pwd)

snapshot() {
  local bin=$1 dir=$2
  rm -rf "$dir"; mkdir -p "$dir"
  run() {
    local name=$1; shift
    "$bin" -q run "$@" --out "$dir/$name" >"$dir/$name.stdout" 2>"$dir/$name.stderr"
    echo "$name rc=$?" >>"$dir/rc.txt"
  }
  "$bin" -q demo --out "$dir/demo" >"$dir/demo.stdout" 2>&1; echo "demo rc=$?" >>"$dir/rc.txt"
  run lasso "$cfg/lasso.toml" --set train.steps=2000
  run lasso_product "$cfg/lasso.toml" --set train.steps=1000 --set lasso.parametrization=product --set noise.policy=all
  run diabetes "$cfg/diabetes.toml" --set train.steps=2000
  run group_lasso "$cfg/group_lasso.toml" --set train.steps=2000
  run nuclear "$cfg/nuclear.toml" --set train.steps=2000
  run fig2 "$cfg/fig2.toml" --set train.steps=300 --set 'fig2.widths=[5,20]' --set fig2.repeats=2
  run width "$cfg/width.toml" --set width.samples=200 --set width.slope_samples=200 --set width.relu_samples=50 --set width.deep_samples=100
  run mnist1d "$cfg/mnist1d_mlp.toml" --set train.steps=60 --set train.batch_size=256 --set train.log_every=10 --set eval.hessian_every=30 --set eval.regularizer_every=30 --set train.checkpoint_every=20
  run fmnist_augment "$cfg/demo_classify.toml" --set noise.policy=all --set train.steps=40 --set train.batch_size=200 --set data.normalize=true --set data.augment=true --set eval.hessian_every=20 --set eval.regularizer_every=20
  run diverged "$cfg/lasso.toml" --set optim.lr=50 --set train.steps=200
}

snapshot "$old" "$out/old"
snapshot "$new" "$out/new"
normalize() {
  sed -E 's/"seconds": [0-9.e-]+/"seconds": X/; s/finished in [0-9.]+ s/finished in X s/; s/Seconds: [0-9.]+/Seconds: X/; s/"git_commit": "[^"]*"/"git_commit": X/' "$1" | sed "s#$out/old/#DIR/#g; s#$out/new/#DIR/#g"
}
status=0
while IFS= read -r f; do
  if [ ! -f "$out/new/$f" ]; then echo "missing in new: $f"; status=1; continue; fi
  case "$f" in
    *.png) cmp -s "$out/old/$f" "$out/new/$f" || { echo "differs: $f"; status=1; } ;;
    *) diff -q <(normalize "$out/old/$f") <(normalize "$out/new/$f") >/dev/null || { echo "differs: $f"; status=1; } ;;
  esac
done < <(cd "$out/old" && find . -type f ! -name checkpoint.bin | sort)
while IFS= read -r f; do
  [ -f "$out/old/$f" ] || { echo "new in new: $f"; status=1; }
done < <(cd "$out/new" && find . -type f ! -name checkpoint.bin | sort)
[ $status = 0 ] && echo "same outputs ($(cd "$out/old" && find . -type f ! -name checkpoint.bin | wc -l) files; runs in $out)"
exit $status
