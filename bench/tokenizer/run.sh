#!/usr/bin/env bash
# Encode MB/s, one thread, warm: Sovra vs Hugging Face's Rust tokenizers (npm `tokenizers`) on UDHR.
# usage: bench/tokenizer/run.sh [SECONDS [NAMES...]]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$here/Sovra.Bench.Tokenizer.csproj" -c Release -v q -clp:ErrorsOnly -o "$here/../../.build/bench-tokenizer" >/dev/null
exec dotnet "$here/../../.build/bench-tokenizer/Sovra.Bench.Tokenizer.dll" "$@"
