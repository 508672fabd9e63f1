#!/usr/bin/env bash
# Engine speed against llama.cpp on the same synthetic Qwen3-0.6B files, the same threads, the same machine,
# in one run: prompt processing (pp) and generation (tg) tokens/s, the ratio Sovra / llama.cpp, Sovra's peak
# resident memory against file + KV cache + 150 MB, and the time from start to the first token of `sovra run`.
#
# Usage: bench/engine/run.sh [-t THREADS] [-r REPS] [-p PROMPT] [-n GEN] [TYPE ...]
#   defaults: -t 2 -r 3 -p 512 -n 128, types Q8_0 Q4_K_M Q4_0 Q5_K_M Q6_K F16
#   models are written once (sovra synth -p qwen3-0.6b) to $SOVRA_BENCH_MODELS (default /tmp/sovra-bench-models).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
threads=2 reps=3 pp=512 tg=128
while getopts "t:r:p:n:" o; do case $o in t) threads=$OPTARG;; r) reps=$OPTARG;; p) pp=$OPTARG;; n) tg=$OPTARG;; *) exit 2;; esac; done
shift $((OPTIND - 1))
types=("$@"); [ ${#types[@]} -eq 0 ] && types=(Q8_0 Q4_K_M Q4_0 Q5_K_M Q6_K F16)
models="${SOVRA_BENCH_MODELS:-/tmp/sovra-bench-models}"
mkdir -p "$models"
sovra="$root/sovra"
export NODE_PATH="$root/tools/reference/node_modules"

printf '%-7s %9s %9s %6s %9s %9s %6s %9s %9s %7s\n' type "pp sovra" "pp llama" ratio "tg sovra" "tg llama" ratio "RSS MiB" "limit" "1st tok"
for type in "${types[@]}"; do
  file="$models/qwen3-0.6b-$type.gguf"
  [ -f "$file" ] || "$sovra" synth -p qwen3-0.6b -t "$type" -o "$file" >/dev/null
  s=$("$sovra" bench "$file" -p "$pp" -n "$tg" -t "$threads" -r "$reps" --json)
  l=$(node "$root/tools/reference/scripts/llama-bench.mjs" "$file" "$pp" "$tg" "$threads" "$reps" | tail -1)
  first=$( { /usr/bin/time -f '%e' "$sovra" run "$file" --raw -p "Hello" -n 1 --temp 0 -t "$threads" >/dev/null; } 2>&1 | tail -1)
  node -e '
    const [s, l, type, pp, tg, first] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), process.argv[3], process.argv[4], process.argv[5], process.argv[6]];
    const get = (t) => s.results.find(r => r.test === t);
    const f = (x) => x.toFixed(1).padStart(9);
    const spp = get("pp" + pp), stg = get("tg" + tg), lpp = l.results["pp" + pp], ltg = l.results["tg" + tg];
    const limit = (s.size_bytes + s.kv_cache_bytes) / 1048576 + 150;
    console.log(type.padEnd(7), f(spp.mean_tps), f(lpp.mean_tps), (spp.mean_tps / lpp.mean_tps).toFixed(2).padStart(6),
      f(stg.mean_tps), f(ltg.mean_tps), (stg.mean_tps / ltg.mean_tps).toFixed(2).padStart(6),
      (s.peak_working_set_bytes / 1048576).toFixed(0).padStart(9), limit.toFixed(0).padStart(9), (first + " s").padStart(7));
  ' "$s" "$l" "$type" "$pp" "$tg" "$first"
done
echo "pp/tg: tokens/s (mean of $reps runs after a warm-up), $threads threads; ratio = Sovra / llama.cpp (node-llama-cpp $(node -p 'require(process.env.NODE_PATH + "/node-llama-cpp/package.json").version'))"
