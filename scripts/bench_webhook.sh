#!/usr/bin/env bash
# Measure the admission webhook: AdmissionReviews per second and p50/p99 latency over HTTPS on one
# pinned core (wrk on the other), next to
# the transport floor measured in the same run (the same server answering GET /healthz over the same
# TLS connections), so the ratio says what the admission itself costs. See BENCHMARKS.md.
#
#   ./scripts/bench_webhook.sh                      10 s at 32 connections
#   ./scripts/bench_webhook.sh --duration 30 --connections 8
#
# Needs: cargo, openssl, wrk and h2load (nghttp2-client; installed with apt-get when missing and
# running as root). wrk speaks HTTP/1.1; h2load speaks HTTP/2, as the API server does to webhooks. Talks only
# to 127.0.0.1; the webhook it starts is stopped at exit. The upstream Go webhook is not measured
# beside it: building it needs Go modules from proxy.golang.org, which this machine cannot reach.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

duration=10
connections=32
while (($#)); do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    *) echo "bench_webhook.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

for pkg in wrk:wrk h2load:nghttp2-client; do
  tool=${pkg%%:*} deb=${pkg#*:}
  command -v "$tool" >/dev/null && continue
  if [[ $(id -u) == 0 ]]; then
    apt-get install -y -qq "$deb" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$deb" >/dev/null; }
  else
    echo "bench_webhook.sh: $tool is missing (apt-get install $deb)" >&2
    exit 1
  fi
done

echo "==> building wif (release)"
cargo build --release -q -p wif
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
WIF="$target_dir/release/wif"

work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$work/certs/tls.key" -out "$work/certs/tls.crt" 2>/dev/null
cat >"$work/accounts.yaml" <<'YAML'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
  namespace: shop
  annotations:
    azure.workload.identity/client-id: 11111111-1111-4111-8111-111111111111
YAML
# A Deployment-made pod as the API server sends it (the same as benches/webhook.rs).
python3 - >"$work/body" <<'PY'
import json
pod = {"apiVersion": "v1", "kind": "Pod",
  "metadata": {"generateName": "shop-7d9f8b6c5d-", "namespace": "shop",
    "labels": {"app": "shop", "azure.workload.identity/use": "true", "pod-template-hash": "7d9f8b6c5d"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d9f8b6c5d",
                         "uid": "0b1f0c9e-1111-4111-8111-111111111111", "controller": True}]},
  "spec": {"serviceAccountName": "shop", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
    "initContainers": [{"name": "migrate", "image": "shop:1.4", "command": ["/migrate"], "resources": {}}],
    "containers": [
      {"name": "web", "image": "shop:1.4", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
       "env": [{"name": "PORT", "value": "8080"}], "resources": {"requests": {"cpu": "100m"}},
       "volumeMounts": [{"name": "kube-api-access-abcde", "readOnly": True,
                         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]},
      {"name": "metrics", "image": "exporter:2", "resources": {}}],
    "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
      {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
      {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}]}}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
  "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "namespace": "shop", "operation": "CREATE",
              "kind": {"group": "", "version": "v1", "kind": "Pod"},
              "resource": {"group": "", "version": "v1", "resource": "pods"},
              "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
              "object": pod}}), end="")
PY

echo "==> starting wif webhook (release) on 127.0.0.1"
# The webhook gets one core (one runtime worker) and wrk the other, so neither preempts the other:
# the tail latency is then the server's, and admissions/s is per core.
pin_server=() pin_client=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
  pin_server=(taskset -c 1) pin_client=(taskset -c 0)
fi
WIF_LOG=warn TOKIO_WORKER_THREADS=1 "${pin_server[@]}" "$WIF" webhook --listen 127.0.0.1:0 --health-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
  --webhook-cert-dir "$work/certs" --service-account-file "$work/accounts.yaml" --tenant-id bench \
  --native-sidecars --ready-file "$work/ready.json" >"$work/webhook.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [[ -s "$work/ready.json" ]] && break; kill -0 "$pid" || { cat "$work/webhook.log"; exit 1; }; sleep 0.1; done
[[ -s "$work/ready.json" ]] || { echo "bench_webhook.sh: the webhook did not become ready" >&2; exit 1; }
listen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$work/ready.json")
base="https://$listen"

echo "==> floor: wrk GET /healthz, -t1 -c$connections -d${duration}s"
floor_out=$("${pin_client[@]}" wrk -t1 -c"$connections" -d"${duration}s" --latency "$base/healthz")
floor=$(awk '/Requests\/sec/ {print $2}' <<<"$floor_out")
floor_p99=$(awk '$1 == "99%" {print $2}' <<<"$floor_out")
echo "==> warm-up 2 s, then wrk POST /mutate-v1-pod -t1 -c$connections -d${duration}s (server and wrk share the cores)"
WIF_BODY_FILE="$work/body" WIF_EXPECT='"allowed":true|"patchType":"JSONPatch"' "${pin_client[@]}" wrk -t1 -c"$connections" -d2s -s scripts/bench/post.lua "$base/mutate-v1-pod" >/dev/null
cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
out=$(WIF_BODY_FILE="$work/body" WIF_EXPECT='"allowed":true|"patchType":"JSONPatch"' "${pin_client[@]}" wrk -t1 -c"$connections" -d"${duration}s" --latency -s scripts/bench/post.lua "$base/mutate-v1-pod")
cpu_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
line=$(grep WIF_RESULT <<<"$out")
metrics_addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"])' "$work/ready.json")
# The webhook's own view (upstream's azwi_mutation_request histogram): handler time, no network.
within_1ms=$(python3 - "http://$metrics_addr/metrics" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
def value(le):
    for l in text.splitlines():
        if l.startswith('azwi_mutation_request_bucket{outcome="mutated"') and f'le="{le}"' in l:
            return float(l.rsplit(" ", 1)[1])
    return 0.0
print(f"{100 * value('0.001') / max(value('+Inf'), 1):.3f}")
PY
)

# HTTP/2, as kube-apiserver calls webhooks: c connections × 8 streams. h2load sees only statuses, so the
# body was checked above by wrk (every answer allowed with a patch) — the same server, the same review.
h2_out=$("${pin_client[@]}" h2load -t1 -c"$connections" -m8 -D"$duration" --warm-up-time=2 \
  -H 'content-type: application/json' -d "$work/body" --log-file="$work/h2.log" "$base/mutate-v1-pod" 2>&1)
h2_rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$h2_out")
h2_line=$(python3 - "$work/h2.log" "${h2_rate:-0}" <<'PY'
import sys
durations, ok = [], 0
for row in open(sys.argv[1]):
    parts = row.split()
    if len(parts) >= 3:
        durations.append(int(parts[2]))
        ok += parts[1] == "200"
durations.sort()
pick = lambda q: durations[min(len(durations) - 1, int(q * len(durations)))] if durations else 0
print(f"{float(sys.argv[2]):.0f} {len(durations) - ok} {pick(0.5)} {pick(0.99)}")
PY
)
python3 - "$line" "$floor" "$floor_p99" "$within_1ms" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" "$duration" "$connections" "$h2_line" <<'PY'
import sys
h2_rate, h2_bad, h2_p50, h2_p99 = sys.argv[9].split()
fields = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
floor, floor_p99, within_1ms = float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ticks, hz, duration, conns = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
reqs, bad = int(fields["requests"]), int(fields["bad"])
secs = int(fields["duration_us"]) / 1e6
good = (reqs - bad) / secs
cpu_us = ticks / hz * 1e6 / max(reqs, 1)
print(f"==> results (c={conns}, {duration} s)")
print(f"    admissions/s (200, allowed, patch)  {good:10.0f}   bad answers: {bad}")
print(f"    latency p50 / p99                   {int(fields['p50_us'])/1000:.3f} / {int(fields['p99_us'])/1000:.3f} ms")
print(f"    HTTP/2 (h2load, 8 streams/conn)     {float(h2_rate):10.0f}   non-200: {h2_bad}   p50 / p99 {int(h2_p50)/1000:.3f} / {int(h2_p99)/1000:.3f} ms")
print(f"    handled within 1 ms (server view)   {within_1ms:9.3f} %   (azwi_mutation_request histogram)")
print(f"    server CPU per admission            {cpu_us:10.0f} us")
print(f"    floor: GET /healthz/s, same TLS     {floor:10.0f}   ratio {good/floor:.2f}   (floor p99 {floor_p99})")
print(f"    projected for 2 server cores        {2*good:10.0f}   (one core measured, the other ran wrk)")
print(f"    target 20 000/s on 2 cores                       ratio {2*good/20000:.2f}")
if bad:
    sys.exit("bench_webhook.sh: some answers were not allowed with a patch")
PY
