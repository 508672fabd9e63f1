#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (npm reference packages,
# PostgreSQL for the gateway's shared-database tests), builds, runs every test project, and ends with
# one line 'N passed, N failed, N skipped'.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

for setup in scripts/setup/*.sh; do
  [ -e "$setup" ] || continue
  echo "== setup: $setup"
  bash "$setup"
done

echo "== build"
dotnet build Sovra.slnx -c Release --nologo -v q -clp:ErrorsOnly

results="$PWD/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
status=0
run_tests() { # name, project, extra args...
  local name="$1" project="$2"; shift 2
  echo "== test: $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" "$@" || status=1
}

for project in tests/*.Tests/*.csproj; do
  run_tests "$(basename "$project" .csproj)" "$project"
done
# Every SIMD kernel is checked again with AVX-512 switched off, so the AVX2 / Vector128 paths run too.
DOTNET_EnableAVX512F=0 run_tests "Sovra.Kernels.Tests-noavx512" tests/Sovra.Kernels.Tests/Sovra.Kernels.Tests.csproj

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  line=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$line"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
