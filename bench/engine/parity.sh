#!/usr/bin/env bash
# Next-token parity with llama.cpp at the Qwen3-0.6B shape for each type (see bench/engine/parity/Program.cs).
# Usage: bench/engine/parity.sh [TYPE ...]     (models are written once to $SOVRA_BENCH_MODELS, default /tmp/sovra-bench-models)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dotnet build "$root/bench/engine/parity/Sovra.Engine.Parity.csproj" -c Release -v q -clp:ErrorsOnly -o "$root/.build/engine-parity" >/dev/null
exec dotnet "$root/.build/engine-parity/Sovra.Engine.Parity.dll" "$@"
