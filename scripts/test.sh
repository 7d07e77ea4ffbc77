#!/usr/bin/env bash
# Run every test of the project: Rust checks and tests, then the real-client compatibility suites.
#
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh --fast          skip cargo fmt and clippy
#   ./scripts/test.sh --only rust     fmt, clippy, cargo test
#   ./scripts/test.sh --only python   build wif, then compat/python (real azure-identity and, for Key
#                                     Vault, azure-keyvault-secrets, @azure/keyvault-secrets and the Rust
#                                     azure_security_keyvault_secrets; the azure-mgmt-* SDKs; the az CLI
#                                     from compat/azcli/.venv; it edits /etc/hosts via `wif hosts` and
#                                     serves the Azure names on 127.0.0.1:443, so it needs root)
#   ./scripts/test.sh --only node     build wif, then compat/node (real @azure/identity)
#
# It installs what the suites need itself: a venv in compat/python/.venv from compat/python/requirements.txt,
# one for the az CLI in compat/azcli/.venv from compat/azcli/requirements.txt
# and compat/node/node_modules from package-lock.json, each re-installed only when its pins change.
# Stops at the first failing step and names it. Works from any directory.
set -euo pipefail

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

fast=0
only=""
while (($#)); do
  case "$1" in
    --fast) fast=1 ;;
    --only)
      [[ $# -ge 2 ]] || { echo "test.sh: --only needs rust, python or node" >&2; exit 2; }
      only="$2"
      shift
      ;;
    --only=*) only="${1#--only=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$only" in
  "" | rust | python | node) ;;
  *) echo "test.sh: --only takes rust, python or node, not '$only'" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

# ---- step bookkeeping --------------------------------------------------------------------------------------

declare -a summary=()
current=""
started_at=$SECONDS

finish() {
  local status=$?
  if [[ -n "$current" ]]; then
    summary+=("FAIL  $current")
  fi
  echo
  echo "==> summary ($((SECONDS - started_at)) s)"
  local line
  for line in "${summary[@]}"; do
    echo "    $line"
  done
  if [[ -n "$current" ]]; then
    echo "test.sh: FAILED at step: $current" >&2
  elif ((status == 0)); then
    echo "test.sh: all steps passed"
  fi
}
trap finish EXIT

step() { # step NAME: announce a step; its commands follow, and `pass` closes it.
  current="$1"
  step_started=$SECONDS
  echo
  echo "==> [$current]"
}

pass() {
  summary+=("ok    $current ($((SECONDS - step_started)) s)")
  current=""
}

skip() { # skip NAME WHY
  summary+=("skip  $1 ($2)")
}

wants() { # wants GROUP: whether GROUP runs under --only
  [[ -z "$only" || "$only" == "$1" ]]
}

# ---- Rust --------------------------------------------------------------------------------------------------

locked=()
if [[ -f Cargo.lock ]]; then
  locked=(--locked)
fi

if wants rust; then
  if ((fast)); then
    skip "cargo fmt" "--fast"
    skip "cargo clippy" "--fast"
  else
    step "cargo fmt"
    cargo fmt --all -- --check
    pass

    step "cargo clippy"
    cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings
    pass
  fi

  step "cargo test"
  cargo test --workspace "${locked[@]}"
  pass
fi

# ---- the wif binary for the compatibility suites -----------------------------------------------------------

if wants python || wants node; then
  step "cargo build wif"
  cargo build -p wif "${locked[@]}"
  # cargo metadata knows the target directory whatever set it (CARGO_TARGET_DIR, .cargo/config.toml).
  target_dir="$(cargo metadata --format-version 1 --no-deps "${locked[@]}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  WIF_BIN="$target_dir/debug/wif"
  [[ -x "$WIF_BIN" ]] || { echo "test.sh: cargo build -p wif produced no $WIF_BIN" >&2; exit 1; }
  export WIF_BIN
  echo "WIF_BIN=$WIF_BIN"
  pass
fi

# ---- Node packages (the Node suite, and the Key Vault tests of the Python suite) ----------------------------

if wants python || wants node; then
  step "node compat: npm ci"
  command -v node >/dev/null || { echo "test.sh: node not found; the Node suite needs Node.js 20+" >&2; exit 1; }
  command -v npm >/dev/null || { echo "test.sh: npm not found" >&2; exit 1; }
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  ((node_major >= 20)) || { echo "test.sh: Node.js $(node --version) is too old; need 20+" >&2; exit 1; }
  modules="compat/node/node_modules"
  want_stamp="$(
    {
      cat compat/node/package.json compat/node/package-lock.json
      node --version
    } | sha256sum | cut -d' ' -f1
  )"
  stamp_file="$modules/.wif-lock.sha256"
  if [[ -d "$modules/@azure/identity" ]] && [[ "$(cat "$stamp_file" 2>/dev/null)" == "$want_stamp" ]]; then
    echo "up to date ($modules)"
  else
    (cd compat/node && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want_stamp" >"$stamp_file"
  fi
  pass

fi

# ---- the Rust SDK client (compat/rust: azure_identity + azure_security_keyvault_secrets) --------------------

if wants python; then
  step "rust compat: cargo build compat/rust"
  # Its own lock file and target directory: a client of wif, not part of the workspace.
  cargo build --release --manifest-path compat/rust/Cargo.toml "${locked[@]}" \
    --target-dir "$target_dir/compat-rust"
  WIF_COMPAT_RUST_BIN="$target_dir/compat-rust/release/wif-compat-rust"
  [[ -x "$WIF_COMPAT_RUST_BIN" ]] || { echo "test.sh: no $WIF_COMPAT_RUST_BIN" >&2; exit 1; }
  export WIF_COMPAT_RUST_BIN
  pass
fi

# ---- Python compatibility: the real azure-identity ---------------------------------------------------------

if wants python; then
  python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || { echo "test.sh: $python not found; the Python suite needs CPython 3.9+" >&2; exit 1; }

  # ensure_venv DIR REQUIREMENTS IMPORT-CHECK: (re)creates DIR from REQUIREMENTS when the pins or the
  # interpreter changed, or when IMPORT-CHECK no longer runs in it.
  ensure_venv() {
    local venv="$1" requirements="$2" check="$3"
    local want_stamp stamp_file="$1/.requirements.sha256"
    want_stamp="$(
      {
        cat "$requirements"
        "$python" -c 'import sys; print(sys.version)'
      } | sha256sum | cut -d' ' -f1
    )"
    if [[ -x "$venv/bin/python" ]] && [[ "$(cat "$stamp_file" 2>/dev/null)" == "$want_stamp" ]] &&
      "$venv/bin/python" -c "$check" 2>/dev/null; then
      echo "up to date ($venv)"
    else
      echo "installing $requirements into $venv"
      rm -rf "$venv"
      "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
      echo "$want_stamp" >"$stamp_file"
    fi
  }

  step "python compat: venv"
  venv="compat/python/.venv"
  ensure_venv "$venv" compat/python/requirements.txt \
    'import azure.identity, azure.mgmt.msi, azure.mgmt.authorization, jwt, pytest, requests, kubernetes_validate'
  pass

  # azure-cli pins its own azure-mgmt-* versions, so the real az lives in a venv of its own.
  step "python compat: az CLI venv"
  ensure_venv compat/azcli/.venv compat/azcli/requirements.txt 'import azure.cli.core'
  WIF_AZ="$ROOT/compat/azcli/.venv/bin/az"
  export WIF_AZ
  pass

  step "python compat: pytest"
  set +e
  "$venv/bin/python" -m pytest compat/python -q
  rc=$?
  set -e
  if ((rc == 5)); then
    echo "test.sh: pytest collected no tests (exit 5); that is a failure" >&2
  fi
  ((rc == 0)) || exit "$rc"
  pass
fi

# ---- Node compatibility: the real @azure/identity ----------------------------------------------------------

if wants node; then
  step "node compat: node --test"
  shopt -s nullglob
  node_tests=(compat/node/*.test.mjs)
  shopt -u nullglob
  ((${#node_tests[@]})) || { echo "test.sh: no compat/node/*.test.mjs files; that is a failure" >&2; exit 1; }
  node --test "${node_tests[@]}"
  pass
fi

if [[ ${#summary[@]} -eq 0 ]]; then
  echo "test.sh: no step ran" >&2
  exit 1
fi
