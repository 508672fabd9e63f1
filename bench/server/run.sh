#!/usr/bin/env bash
# Server throughput beside llama.cpp, same file, same machine, same run: aggregate generation tokens/s and
# time to first token at 1, 4, 8 and 16 concurrent streams. Sovra: `sovra serve` with continuous batching,
# driven over HTTP (streamed /v1/completions). llama.cpp: node-llama-cpp, N sequences in one context, each with
# the same 1024 positions as Sovra's -c 1024; both get a warm-up. ttft_ratio < 1 means Sovra answers first.
# Usage: bench/server/run.sh [MODEL.gguf] [--tokens 64] [--threads N] [--streams "1 4 8 16"]
# Without a model it writes a synthetic Qwen3-0.6B (Q8_0, real tokenizer) under artifacts/bench.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/server"
model=""; tokens=64; threads=$(nproc); streams="1 4 8 16"
while [ $# -gt 0 ]; do
  case "$1" in
    --tokens) tokens="$2"; shift 2;; --threads) threads="$2"; shift 2;; --streams) streams="$2"; shift 2;;
    *) model="$1"; shift;;
  esac
done
node_modules="${SOVRA_NODE_MODULES:-$root/tools/reference/node_modules}"
mkdir -p "$root/artifacts/bench"
if [ -z "$model" ]; then
  model="$root/artifacts/bench/qwen3-0.6b-q8_0.gguf"
  [ -f "$model" ] || "$root/sovra" synth --preset qwen3-0.6b --type Q8_0 -o "$model" >/dev/null
fi
id="$(basename "$model" .gguf)"
max=$(for s in $streams; do echo "$s"; done | sort -n | tail -1)
port=$((20000 + RANDOM % 20000))
log="$root/artifacts/bench/serve.log"
"$root/sovra" serve --model "$model" --models-dir "$root/artifacts/bench/empty" --port "$port" --parallel "$max" -c 1024 --threads "$threads" >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { echo "the server did not become ready; see $log" >&2; exit 1; }
node "$here/load.mjs" --url "http://127.0.0.1:$port" --model "$id" --streams 1 --tokens 8 >/dev/null # warm-up
declare -A sovra llama
for s in $streams; do sovra[$s]="$(node "$here/load.mjs" --url "http://127.0.0.1:$port" --model "$id" --streams "$s" --tokens "$tokens")"; echo "${sovra[$s]}"; done
kill -TERM $server; wait $server 2>/dev/null || true; trap - EXIT
for s in $streams; do llama[$s]="$(node "$here/llamacpp.mjs" --model "$model" --streams "$s" --tokens "$tokens" --threads "$threads" --context 1024 --node-modules "$node_modules")"; echo "${llama[$s]}"; done
echo
printf '%-8s %12s %12s %8s %14s %14s %10s\n' streams sovra_t/s llama_t/s ratio sovra_ttft_ms llama_ttft_ms ttft_ratio
for s in $streams; do
  node -e '
    const a = JSON.parse(process.argv[1]), b = JSON.parse(process.argv[2]);
    console.log([String(a.streams).padEnd(8), a.tps.toFixed(1).padStart(12), b.tps.toFixed(1).padStart(12), (a.tps / b.tps).toFixed(2).padStart(8),
      a.ttft_ms_mean.toFixed(0).padStart(14), b.ttft_ms_mean.toFixed(0).padStart(14),
      (a.ttft_ms_mean / b.ttft_ms_mean).toFixed(2).padStart(10)].join(" "));' "${sovra[$s]}" "${llama[$s]}"
done
