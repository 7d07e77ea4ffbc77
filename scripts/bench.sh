#!/usr/bin/env bash
# Measure token exchanges per second and latency, next to the crypto ceiling measured in the
# same run (see BENCHMARKS.md for how to read the output).
#
#   ./scripts/bench.sh                 criterion micro-benchmarks + a 10 s wrk load at c=64
#   ./scripts/bench.sh --duration 20   longer load
#   ./scripts/bench.sh --no-criterion  only the HTTP load and the ceiling
#
# Needs: cargo, openssl, wrk (installed with apt-get when missing and running as root). Talks
# only to 127.0.0.1; the server it starts is stopped at exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

duration=10
connections=64
criterion=1
while (($#)); do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --no-criterion) criterion=0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v wrk >/dev/null; then
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "bench.sh: wrk is missing (apt-get install wrk)" >&2
    exit 1
  fi
fi

echo "==> building wif (release)"
cargo build --release -q -p wif
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
WIF="$target_dir/release/wif"

if ((criterion)); then
  echo "==> criterion: one exchange vs one RS256 sign + verify (1 core)"
  cargo bench -q -p wif-server --bench exchange 2>&1 | grep -E '^(ceiling|exchange)/|time:' | sed 's/^/    /'
fi

echo "==> crypto ceiling: openssl speed rsa2048 (1 and 2 cores)"
speed1=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $6, $7}')
speed2=$(openssl speed -seconds 3 -multi 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $6, $7}')
read -r sign1 verify1 <<<"$speed1"
read -r sign2 verify2 <<<"$speed2"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> starting wif up (release) on 127.0.0.1"
WIF_LOG=warn "$WIF" --data-dir "$work/data" up --listen 127.0.0.1:0 --ready-file "$work/ready.json" >"$work/up.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do [[ -s "$work/ready.json" ]] && break; kill -0 "$server_pid" || { cat "$work/up.log"; exit 1; }; sleep 0.1; done
[[ -s "$work/ready.json" ]] || { echo "bench.sh: server did not become ready" >&2; exit 1; }
read -r port tenant client cluster < <(python3 - "$work/ready.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["port"], r["tenants"][0]["id"], r["identities"][0]["client_id"], r["clusters"][0]["name"])
PY
)
"$WIF" --data-dir "$work/data" token --cluster "$cluster" --namespace default --service-account workload --out "$work/token"
printf 'grant_type=client_credentials&client_id=%s&scope=https%%3A%%2F%%2Fvault.azure.net%%2F.default&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s' \
  "$client" "$(cat "$work/token")" >"$work/body"

url="https://127.0.0.1:$port/$tenant/oauth2/v2.0/token"
echo "==> warm-up 2 s, then wrk -t1 -c$connections -d${duration}s (server and wrk share the 2 cores)"
WIF_BODY_FILE="$work/body" WIF_CONTENT_TYPE=application/x-www-form-urlencoded WIF_EXPECT='"access_token":"eyJ' wrk -t1 -c"$connections" -d2s -s scripts/bench/post.lua "$url" >/dev/null
cpu_before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
out=$(WIF_BODY_FILE="$work/body" WIF_CONTENT_TYPE=application/x-www-form-urlencoded WIF_EXPECT='"access_token":"eyJ' wrk -t1 -c"$connections" -d"${duration}s" --latency -s scripts/bench/post.lua "$url")
cpu_after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
line=$(grep WIF_RESULT <<<"$out")

python3 - "$line" "$sign1" "$verify1" "$sign2" "$verify2" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" "$duration" "$connections" <<'PY'
import sys
fields = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
sign1, verify1, sign2, verify2 = map(float, sys.argv[2:6])
ticks, hz, duration, conns = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
reqs, bad = int(fields["requests"]), int(fields["bad"])
secs = int(fields["duration_us"]) / 1e6
good = (reqs - bad) / secs
ceil1 = 1 / (1 / sign1 + 1 / verify1)
ceil2 = 1 / (1 / sign2 + 1 / verify2)
cpu_us = ticks / hz * 1e6 / max(reqs, 1)
print(f"==> results (c={conns}, {duration} s)")
print(f"    exchanges/s (200 + access_token)  {good:10.0f}   bad answers: {bad}")
print(f"    latency p50 / p99                  {int(fields['p50_us'])/1000:.2f} / {int(fields['p99_us'])/1000:.2f} ms")
print(f"    server CPU per exchange            {cpu_us:10.0f} us")
print(f"    ceiling, 1 core (1 sign + 1 verify) {ceil1:9.0f}/s   ratio {good/ceil1:.2f}")
print(f"    ceiling, 2 cores                    {ceil2:9.0f}/s   ratio {good/ceil2:.2f}")
if bad:
    sys.exit("bench.sh: some answers were not access tokens")
PY
