#!/usr/bin/env bash
# The policy-gradient comparison of docs/algorithms.md: the embedded R1-Zero stage (configs/r1-zero.yaml) trained from one
# base model with each variant — same seed, same steps, same everything else — then a Markdown table of the held-out
# pass@1 and mean length from each run's summary.json. Not part of the test suite (hours of CPU).
#
#   scripts/compare-policy-gradients.sh [OUT_DIR] [STEPS] [VARIANT ...]
#
# OUT_DIR   run folders (default runs/compare); OUT_DIR/base is the base model, pretrained once with
#           configs/pretrain-embedded.yaml unless it exists.
# STEPS     GRPO steps per variant (default 100, configs/r1-zero.yaml's).
# VARIANT   any of grpo dapo dr_grpo gspo cispo rloo (default: all six).
# JOBS=2    runs two variants at a time; R1SHARP=path overrides the command (default: the Release build, built if missing).
# Every run uses one libtorch thread (--threads 1), so a run repeats bit for bit; an interrupted run resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/compare}
steps=${2:-100}
shift $(( $# > 2 ? 2 : $# ))
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(grpo dapo dr_grpo gspo cispo rloo)
jobs=${JOBS:-1}

if [ -z "${R1SHARP:-}" ]; then
  R1SHARP=src/R1Sharp.Cli/bin/Release/net10.0/r1sharp
  [ -x "$R1SHARP" ] || dotnet build src/R1Sharp.Cli -c Release
fi
export OMP_NUM_THREADS=1

# What each variant sets over configs/r1-zero.yaml (docs/algorithms.md). Every variant takes μ = 2 optimiser passes over
# each batch, so that the second pass is off-policy and the ratio, its clipping and the sequence-level objectives matter
# (with μ = 1 the ratio is 1: GSPO's gradient is GRPO's and CISPO's is the token-level REINFORCE of dapo).
settings() {
  case $1 in
    grpo)    echo "loss_type=grpo" ;;
    dapo)    echo "loss_type=dapo epsilon_high=0.28 dynamic_sampling=true mask_truncated_completions=true" ;;
    dr_grpo) echo "loss_type=dr_grpo scale_rewards=none" ;;
    gspo)    echo "policy_loss=gspo loss_type=grpo epsilon_low=0.0003 epsilon_high=0.0004" ;;
    cispo)   echo "policy_loss=cispo loss_type=dapo epsilon_low=1 epsilon_high=4" ;;
    rloo)    echo "advantage=rloo loss_type=dapo" ;;
    *) echo "unknown variant '$1' (grpo dapo dr_grpo gspo cispo rloo)" >&2; exit 2 ;;
  esac
}
for v in "${variants[@]}"; do settings "$v" > /dev/null; done

mkdir -p "$out"
if [ ! -f "$out/base/model/model.safetensors" ]; then
  resume=(); [ -d "$out/base" ] && resume=(--resume)
  "$R1SHARP" pretrain --config configs/pretrain-embedded.yaml --output "$out/base" --threads 1 "${resume[@]}" > "$out/base.log" 2>&1
fi

run() {
  local v=$1 sets=() resume=()
  for s in $(settings "$v"); do sets+=(--set "$s"); done
  [ -f "$out/$v/summary.json" ] && return 0
  [ -d "$out/$v" ] && resume=(--resume)
  echo "$(date +%T) $v: r1sharp grpo --model $out/base/model --config configs/r1-zero.yaml --output $out/$v --threads 1 --set steps=$steps --set iterations=2 ${sets[*]}"
  "$R1SHARP" grpo --model "$out/base/model" --config configs/r1-zero.yaml --output "$out/$v" --threads 1 \
    --set "steps=$steps" --set iterations=2 "${sets[@]}" "${resume[@]}" > "$out/$v.log" 2>&1 || { echo "$v failed: see $out/$v.log" >&2; return 1; }
  echo "$(date +%T) $v: done"
}
export -f run settings
export out steps R1SHARP
printf '%s\n' "${variants[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'

python3 - "$out" "$steps" "${variants[@]}" <<'EOF'
import json, sys
out, steps, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"| variant | pass@1 before → after | format rate after | mean length after (tokens) | mean reward, last 10 steps | minutes |")
print("|---|---|---|---|---|---|")
for v in variants:
    s = json.load(open(f"{out}/{v}/summary.json"))
    reward = {}
    for line in open(f"{out}/{v}/metrics.jsonl"):
        m = json.loads(line)
        reward[m["step"]] = m["reward"]  # a resumed run logs the steps after its checkpoint again: keep the last
    last = [reward[k] for k in sorted(reward)[-10:]]
    b, a = s["before"], s["after"]
    print(f"| {v} | {b['pass@1']:.1%} → {a['pass@1']:.1%} | {a['format_rate']:.0%} | {a['mean_length']:.1f} | "
          f"{sum(last) / len(last):.3f} | {s['seconds'] / 60:.0f} |")
EOF
