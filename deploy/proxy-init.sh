#!/bin/sh
# proxy-init: in the pod's network namespace, send TCP to the instance metadata endpoint to the
# IMDS proxy sidecar, except the proxy's own traffic (its UID), which must reach the real IMDS.
# The webhook runs this as root with NET_ADMIN. Safe to run twice: rules are flushed first.
set -eu

PROXY_PORT="${PROXY_PORT:-8000}"
METADATA_IP="${METADATA_IP:-169.254.169.254}"
METADATA_PORT="${METADATA_PORT:-80}"
PROXY_UID="${PROXY_UID:-1501}"

for chain in WIF_PROXY_OUTPUT WIF_PROXY_REDIRECT; do
  iptables -t nat -N "$chain" 2>/dev/null || iptables -t nat -F "$chain"
done
iptables -t nat -A WIF_PROXY_REDIRECT -p tcp -j REDIRECT --to-port "$PROXY_PORT"
iptables -t nat -A WIF_PROXY_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
iptables -t nat -A WIF_PROXY_OUTPUT -j WIF_PROXY_REDIRECT
rule="-p tcp -d $METADATA_IP --dport $METADATA_PORT -j WIF_PROXY_OUTPUT"
# shellcheck disable=SC2086
iptables -t nat -C OUTPUT $rule 2>/dev/null || iptables -t nat -A OUTPUT $rule
iptables -t nat -L -n
