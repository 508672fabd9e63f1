#!/usr/bin/env bash
# Gateway overhead: in one run, the stand-in upstream directly, nginx as a plain reverse proxy, and
# `sovra gateway` with keys, routing and the SQLite ledger on; wrk at 16 connections, non-streaming and
# streaming. Prints req/s, p99 and the ratios against nginx. Not a test: run it by hand.
#   bench/gateway/run.sh [seconds per run, default 10] [connections, default 16]
# Two loads per target and mode: saturated (wrk as fast as it goes: throughput, and a p99 that follows from it,
# since a closed loop's latency is connections / throughput times its tail), and paced at an equal offered load
# (each connection pauses BENCH_PACED_DELAY_MS, default 2, after every answer: about the same req/s for all three,
# well below any one's saturation), where the p99 over the direct upstream's is the latency each proxy adds.
# A p99 on a small shared machine moves with whatever else ran in that second, so the paced load runs in
# BENCH_PACED_ROUNDS rounds (default 5), each of direct, nginx and gateway in turn, BENCH_PACED_SECONDS each
# (default: the seconds per run); each target's figure is its median over the rounds, and every round is printed.
# The latency a proxy adds is its p99 minus the direct p99 of the same round, and the verdict takes the median
# of those per-round differences.
# BENCH_LEGS=1: after the paced rounds of each mode, one more paced gateway run (not counted; paced runs of 6 s
# or more) in which 3 s of loopback packets (tcpdump, headers only) are followed by request id
# (bench/gateway/legs.py) to print, from the kernel's timestamps, how long a request spends in the gateway before
# its upstream call, at the upstream, and in the gateway after the answer.
# Soak: `bench/gateway/run.sh --soak SECONDS [connections]` (or SOAK=SECONDS) loads only the gateway (JSON and
# streaming requests, one wrk each, half the connections each) for a warm-up of SOAK_WARMUP seconds (default 120:
# tiered compilation, the thread pool, malloc's arenas and the GC's gen0 budget settle) and then SECONDS more,
# the measured window. It samples every SOAK_EVERY seconds (default 30) RSS by kind (malloc, other anonymous, JIT
# code, SQLite's shared memory, files), the GC heap, SQLite's memory, the methods compiled so far and the threads as
# the gateway reports them (GET /admin/runtime); then prints the mappings that grew most in the window, the growth
# from its first minute to its last and the slope, the same growth counted from the first minute under load
# (warm-up included, for comparison), and a verdict: flat when RSS grew by at most SOAK_FLAT_PCT (default 3) percent
# over the window; exit code 3 when it grew more.
set -euo pipefail
SOAK="${SOAK:-}"
if [ "${1:-}" = "--soak" ]; then SOAK="${2:?--soak needs seconds}"; shift 2; set -- 10 "${1:-16}"; fi
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DUR="${1:-10}"; CONN="${2:-16}"; THREADS="${BENCH_THREADS:-2}"
UP=18001; NG=18002; GW=18003
work="$(mktemp -d /tmp/sovra-gw-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; jobs -p | xargs -r kill 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || { [ -n "${BENCH_LEGS:-}" ] && ! command -v tcpdump >/dev/null; }; then
  echo "installing wrk, nginx and tcpdump from apt" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk nginx tcpdump >/dev/null
fi

echo "building" >&2
dotnet build bench/gateway/upstream -c Release -o "$work/upstream" --nologo -v q -clp:ErrorsOnly >&2
./sovra version >/dev/null # builds the CLI into .build/cli

dotnet "$work/upstream/Upstream.dll" $UP & pids+=($!)

cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$NG;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" -g "daemon off;" & pids+=($!)

export SOVRA_BENCH_ADMIN="bench-admin-key-0123456789abcdef"
cat >"$work/gateway.yaml" <<CONF
admin: { key_env: SOVRA_BENCH_ADMIN }
ledger: { sqlite: $work/ledger.db }
backends:
  - { name: up, kind: openai-compatible, base_url: "http://127.0.0.1:$UP/v1", jurisdiction: eu, models: [m-upstream], aliases: { m: m-upstream }, price: { input: 0.1, output: 0.3 } }
routes:
  - { model: m, strategy: least-outstanding, candidates: [ { backend: up } ] }
tenants:
  - { name: bench, models: [m], jurisdictions: [eu] }
CONF
# Run as a user runs it, through the launcher: the product's own runtime settings (workstation GC, MALLOC_ARENA_MAX;
# see ProcessTuning); DOTNET_* and MALLOC_* variables pass through.
./sovra gateway --config "$work/gateway.yaml" --port $GW >"$work/gateway.log" 2>&1 & pids+=($!) # the launcher execs the runtime: same pid
GWPID=$!

for port in $UP $NG $GW; do
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
# A key with a rate limit and a monthly budget far above the run, so the checks run on every request.
BENCH_KEY=$(curl -sf -X POST "http://127.0.0.1:$GW/admin/keys" -H "Authorization: Bearer $SOVRA_BENCH_ADMIN" -H 'Content-Type: application/json' \
  -d '{"tenant":"bench","name":"bench","requests_per_minute":100000000,"tokens_per_month":100000000000}' | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
export BENCH_KEY
[ -n "$BENCH_KEY" ] || { echo "could not create a key: $(cat "$work/gateway.log")" >&2; exit 1; }

if [ -n "$SOAK" ]; then
  EVERY="${SOAK_EVERY:-30}"
  # The gateway's own view (GET /admin/runtime): GC heap, SQLite's allocations and threads, in MB / count.
  runtime() {
    curl -sf "http://127.0.0.1:$GW/admin/runtime" -H "Authorization: Bearer $SOVRA_BENCH_ADMIN" |
      awk '{for (f = split($0, a, /[,{}]/); f > 0; f--) {split(a[f], kv, ":"); gsub(/"/, "", kv[1]); v[kv[1]] = kv[2]}}
           END {printf "%.1f %.1f %d %d\n", v["gc_heap_bytes"] / 1048576, v["sqlite_bytes"] / 1048576, v["threads"], v["jit_compiled_methods"]}' || echo "? ? ? ?"
  }
  rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$GWPID/status"; }
  # Resident MB by kind: malloc (glibc's [heap] and its 64 MB-aligned arenas), other anonymous memory (the GC heap,
  # thread stacks, the runtime's own), JIT code (the runtime's double-mapped memfd), SQLite's shared-memory index, files.
  kinds() {
    awk 'function hex(s,  v, i) {v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v}
         /^[0-9a-f]+-[0-9a-f]+ / {split($1, r, "-"); lo = hex(r[1]); len = hex(r[2]) - lo; n = $6
           k = n == "[heap]" ? "malloc" : n == "" ? (lo - int(lo / 67108864) * 67108864 == 0 && len <= 67108864 ? "malloc" : "anon") : n ~ /doublemapper/ ? "jit" : n ~ /-shm$/ ? "shm" : n ~ /^\// ? "files" : "anon"}
         /^Rss:/ {m[k] += $2}
         END {printf "%.1f %.1f %.1f %.1f %.1f\n", m["malloc"] / 1024, m["anon"] / 1024, m["jit"] / 1024, m["shm"] / 1024, m["files"] / 1024}' "/proc/$GWPID/smaps"
  }
  # Resident kB per mapping (address range and what it maps), to see which ones grew.
  mappings() { awk '/^[0-9a-f]+-[0-9a-f]+ / {k = $1 " " ($6 == "" ? "[anon]" : $6)} /^Rss:/ {print k, $2}' "/proc/$GWPID/smaps"; }
  half=$(( CONN / 2 > 0 ? CONN / 2 : 1 ))
  WARM="${SOAK_WARMUP:-120}"; total=$(( WARM + SOAK ))
  echo "soak: gateway only, ${WARM}s warm-up + ${SOAK}s measured, $half connections JSON + $half streaming, a sample every ${EVERY}s"
  BENCH_STREAM=0 wrk -t1 -c"$half" -d"${total}s" -s bench/gateway/post.lua "http://127.0.0.1:$GW/v1/chat/completions" >"$work/wrk-json.txt" & wj=$!
  BENCH_STREAM=1 wrk -t1 -c"$half" -d"${total}s" -s bench/gateway/post.lua "http://127.0.0.1:$GW/v1/chat/completions" >"$work/wrk-stream.txt" & ws=$!
  start=$(date +%s)
  printf "%6s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %12s %8s\n" "t s" "rss MB" "malloc" "anon" "jit" "shm" "files" "gc heap" "sqlite" "methods" "threads" "ledger rows" "wal MB"
  declare -a T RS GH
  next=0
  while :; do
    now=$(( $(date +%s) - start ))
    rows=$(sqlite3 "$work/ledger.db" 'select count(*) from requests' 2>/dev/null || echo "?")
    wal=$(stat -c %s "$work/ledger.db-wal" 2>/dev/null | awk '{printf "%.1f", $1 / 1048576}')
    r=$(rss); read -r km ka kj ks kf < <(kinds); read -r g sq th jm < <(runtime)
    T+=("$now"); RS+=("$r"); GH+=("$g")
    [ "$now" -ge "$WARM" ] && [ ! -e "$work/maps-first.txt" ] && mappings >"$work/maps-first.txt"
    printf "%6d %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %12s %8s%s\n" "$now" "$r" "$km" "$ka" "$kj" "$ks" "$kf" "$g" "$sq" "$jm" "$th" "$rows" "${wal:-0}" \
      "$([ "$now" -lt "$WARM" ] && echo "  (warm-up)")"
    [ "$now" -ge "$total" ] && break
    # Samples on a fixed grid, one of them at the end of the warm-up.
    next=$(( next + EVERY )); [ "$next" -gt "$WARM" ] && [ $(( next - EVERY )) -lt "$WARM" ] && next=$WARM
    [ "$next" -gt "$total" ] && next=$total
    s=$(( start + next - $(date +%s) )); sleep $(( s > 0 ? s : 1 ))
  done
  mappings >"$work/maps-last.txt"
  wait $wj $ws || true
  echo "mappings whose resident size changed most from the end of the warm-up to the last sample (kB):"
  awk 'NR == FNR {a[$1 " " $2] = $3; next} {k = $1 " " $2; d = $3 - a[k]; if (d != 0) printf "%+9d %9d  %s\n", d, $3, k; delete a[k]}
       END {for (k in a) printf "%+9d %9d  %s (gone)\n", -a[k], 0, k}' "$work/maps-first.txt" "$work/maps-last.txt" | sort -rn -k1,1 | head -${SOAK_MAPS:-8}
  for f in json stream; do
    if grep -q "Non-2xx" "$work/wrk-$f.txt"; then echo "soak $f: non-2xx answers" >&2; cat "$work/wrk-$f.txt" >&2; exit 1; fi
    echo "soak $f: $(awk '/Requests\/sec/ {print $2}' "$work/wrk-$f.txt") req/s"
  done
  # First minute vs last minute of the measured window: the mean of the samples in each; the slope by least squares.
  awk -v warm="$WARM" -v last="${T[${#T[@]}-1]}" -v ts="${T[*]}" -v rs="${RS[*]}" -v gs="${GH[*]}" 'BEGIN {
    n = split(ts, t, " "); split(rs, r, " "); split(gs, g, " ");
    for (i = 1; i <= n; i++) {
      if (t[i] > 0 && t[i] <= 60) { ur += r[i]; un++ }
      if (t[i] >= warm && t[i] <= warm + 60) { fr += r[i]; fn++; if (g[i] != "?") { fg += g[i]; fgn++ } }
      if (t[i] >= last - 60) { lr += r[i]; ln++; if (g[i] != "?") { lg += g[i]; lgn++ } }
      if (t[i] >= warm) { sn++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i] }
    }
    for (i = 1; i <= n && t[i] == 0; i++) ;
    printf "rss: at start %.1f MB, first sample under load %.1f MB, at the end %.1f MB\n", r[1], r[i], r[n];
    growth = 100 * (lr / ln - fr / fn) / (fr / fn);
    slope = sn > 1 && sn * sxx - sx * sx > 0 ? 60 * (sn * sxy - sx * sy) / (sn * sxx - sx * sx) : 0;
    printf "rss over the measured %d s: first minute %.1f MB, last minute %.1f MB, growth %+.1f%%, slope %+.2f MB/min\n", last - warm, fr / fn, lr / ln, growth, slope;
    if (un) printf "rss from the first minute under load (warm-up included): %.1f MB to %.1f MB, growth %+.1f%%\n", ur / un, lr / ln, 100 * (lr / ln - ur / un) / (ur / un);
    if (fgn && lgn) printf "gc heap over the measured window: first minute %.1f MB, last minute %.1f MB, growth %+.1f%%\n", fg / fgn, lg / lgn, 100 * (lg / lgn - fg / fgn) / (fg / fgn);
    limit = ENVIRON["SOAK_FLAT_PCT"] + 0 > 0 ? ENVIRON["SOAK_FLAT_PCT"] + 0 : 3;
    if (growth <= limit) printf "verdict: flat (rss growth %+.1f%% over the measured window, limit %d%%)\n", growth, limit;
    else { printf "verdict: GROWING (rss growth %+.1f%% over the measured window, limit %d%%)\n", growth, limit; exit 3 }
  }' || exit 3
  exit 0
fi

run() { # name port stream -> "rps p99_ms"
  local out
  # warm-up: long enough for the JIT to reach its optimised tier at full load
  BENCH_STREAM="$3" wrk -t"$THREADS" -c"$CONN" -d"${BENCH_WARMUP:-6}s" -s bench/gateway/post.lua "http://127.0.0.1:$2/v1/chat/completions" >/dev/null
  out=$(BENCH_STREAM="$3" wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s bench/gateway/post.lua "http://127.0.0.1:$2/v1/chat/completions")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers: $out" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

paced() { # name port stream -> "rps p50_ms p99_ms" at the paced load (targets already warm from their saturated run)
  local out
  out=$(BENCH_DELAY_MS="${BENCH_PACED_DELAY_MS:-2}" BENCH_STREAM="$3" wrk -t"$THREADS" -c"$CONN" -d"${PACED_S}s" --latency -s bench/gateway/post.lua "http://127.0.0.1:$2/v1/chat/completions")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers: $out" >&2; exit 1; fi
  awk 'function ms(v) {if (v ~ /us$/) {sub("us","",v); return v/1000} if (v ~ /ms$/) {sub("ms","",v); return v} sub("s","",v); return v*1000}
       /Requests\/sec/ {r = $2} $1=="50%" {a = ms($2)} $1=="99%" {b = ms($2)} END {print r, a, b}' <<<"$out"
}
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

ROUNDS="${BENCH_PACED_ROUNDS:-5}"; PACED_S="${BENCH_PACED_SECONDS:-$DUR}"
echo "cores: $(nproc), $CONN connections; saturated: ${DUR}s per run; paced: ${BENCH_PACED_DELAY_MS:-2} ms pause per connection after each answer, $ROUNDS rounds of ${PACED_S}s per target"
declare -A R P QR Q50 Q99
for stream in 0 1; do
  mode=$([ $stream = 1 ] && echo stream || echo json)
  for t in direct:$UP nginx:$NG gateway:$GW; do
    name=${t%%:*}; port=${t##*:}
    read -r rps p99 < <(run "$name" "$port" "$stream")
    R[$mode-$name]=$rps; P[$mode-$name]=$p99
    printf "%-6s %-8s saturated: %8.0f req/s, p99 %6.2f ms\n" "$mode" "$name" "$rps" "$p99"
  done
  for round in $(seq 1 "$ROUNDS"); do
    line=""
    for t in direct:$UP nginx:$NG gateway:$GW; do
      name=${t%%:*}; port=${t##*:}
      read -r qrps q50 q99 < <(paced "$name" "$port" "$stream")
      QR[$mode-$name]+="$qrps "; Q50[$mode-$name]+="$q50 "; Q99[$mode-$name]+="$q99 "
      line+=$(printf "  %s %5.0f req/s p50 %5.2f p99 %5.2f ms" "$name" "$qrps" "$q50" "$q99")
    done
    echo "$mode   paced round $round:$line"
  done
  if [ -n "${BENCH_LEGS:-}" ]; then
    # One more paced gateway run, not counted in the rounds (the capture costs CPU): 3 s of its packets,
    # headers only (the request ids), decoded after it.
    (sleep 2; timeout 3 tcpdump -i lo -s 300 -B 65536 -w "$work/legs-$mode.pcap" "tcp port $GW or tcp port $UP" 2>/dev/null) & cap=$!
    read -r qrps q50 q99 < <(paced gateway $GW "$stream")
    wait "$cap" || true
    tcpdump -r "$work/legs-$mode.pcap" -tt -n -A 2>/dev/null >"$work/legs-$mode.txt" || true
    { printf "%-6s legs run (gateway paced, tcpdump on): %.0f req/s, wrk p50 %.2f p99 %.2f ms\n" "$mode" "$qrps" "$q50" "$q99"
      python3 bench/gateway/legs.py "$work/legs-$mode.txt" $GW $UP | sed "s/^/$mode   /"; } >"$work/legs-$mode.out" || true
  fi
done
echo
for mode in json stream; do
  awk -v m="$mode" -v gr="${R[$mode-gateway]}" -v nr="${R[$mode-nginx]}" -v gp="${P[$mode-gateway]}" -v np="${P[$mode-nginx]}" -v dp="${P[$mode-direct]}" 'BEGIN {
    ga = gp - dp; na = np - dp;
    printf "%-6s saturated: gateway/nginx throughput %.2fx (target >= 0.5); p99 %.2fx, added over direct: gateway %.2f ms, nginx %.2f ms\n", m, gr / nr, gp / np, ga, na }'
  args=()
  for name in direct nginx gateway; do
    args+=(-v "${name}_r=$(median <<<"${QR[$mode-$name]% }")" -v "${name}_50=$(median <<<"${Q50[$mode-$name]% }")" -v "${name}_99=$(median <<<"${Q99[$mode-$name]% }")")
  done
  # What each proxy adds is taken per round (its p99 minus the direct p99 of the same round, measured seconds
  # apart), then the median over the rounds: a second of noise moves one round's pair, not the verdict.
  args+=(-v "d99=${Q99[$mode-direct]% }" -v "n99=${Q99[$mode-nginx]% }" -v "g99=${Q99[$mode-gateway]% }")
  awk -v m="$mode" "${args[@]}" 'function med(a, n,  i, j, t) {for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {t = a[j]; a[j] = a[j - 1]; a[j - 1] = t}
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2}
    BEGIN {
    printf "%-6s equal load, medians of the rounds: req/s %.0f / %.0f / %.0f, p50 %.2f / %.2f / %.2f ms, p99 %.2f / %.2f / %.2f ms (direct / nginx / gateway)\n",
      m, direct_r, nginx_r, gateway_r, direct_50, nginx_50, gateway_50, direct_99, nginx_99, gateway_99
    n = split(d99, d, " "); split(n99, x, " "); split(g99, y, " ");
    for (i = 1; i <= n; i++) { ng[i] = x[i] - d[i]; gg[i] = y[i] - d[i]; rounds = rounds sprintf(" %.2f/%.2f", gg[i], ng[i]) }
    ga = med(gg, n); na = med(ng, n);
    printf "%-6s equal load: added p99 over direct, per round (gateway/nginx, ms):%s\n", m, rounds
    printf "%-6s equal load: added p99 over direct, median of the rounds: gateway %.2f ms, nginx %.2f ms (target: gateway <= 2x nginx) -> %s\n",
      m, ga, na, (ga <= 2 * na ? "met" : na > 0 ? sprintf("%.2fx nginx, not met", ga / na) : "not met (nginx added none)") }'
done
for mode in json stream; do [ -s "$work/legs-$mode.out" ] && cat "$work/legs-$mode.out"; done
rows=$(sqlite3 "$work/ledger.db" 'select count(*) from requests' 2>/dev/null || echo "?")
echo "ledger rows written during the run: $rows"
