"""The seeds' Key Vault snippets, run unmodified against wif by the real SDKs.

One `wif up --azure-names` serves both host-name modes: local names (`https://kv-demo.vault.localhost:<port>/`,
authority `https://localhost:<port>`) on its ephemeral port, and Azure names (`https://kv-demo.vault.azure.net/`,
`login.microsoftonline.com`) on 127.0.0.1:443. `wif hosts --apply` maps the names to this machine for the length
of the module and `wif hosts --remove` takes them out again, as the issue asks of the test command.

Every workload runs under `wif run` (the projected token, the webhook's variables, CA trust), in a
fresh process, with HOME pointing at an empty directory. Python is driven for every case; Node
(@azure/keyvault-secrets) and Rust (azure_security_keyvault_secrets) read the secret and hit one denial.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CLIENTS, HERE, _await_ready, _stop, _tail, _wif_binary

TOPOLOGY = HERE.parent / "keyvault" / "topology.yaml"
NODE_DIR = HERE.parent / "node"
AZURE_VAULT = "https://kv-demo.vault.azure.net/"
RUN_TIMEOUT_S = 120.0


class KeyVaultWif:
    def __init__(
        self, binary: str, data_dir: Path, ready: dict, stderr_log: Path, home: Path, cluster: str = "aks-kv"
    ) -> None:
        self.cluster = cluster
        self.binary = binary
        self.data_dir = data_dir
        self.ready = ready
        self.stderr_log = stderr_log
        self.home = home

    @property
    def local_vault(self) -> str:
        return next(v["url"] for v in self.ready["vaults"] if v["name"] == "kv-demo")

    def wif(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [self.binary, "--data-dir", str(self.data_dir), *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )  # fmt: skip
        if check and done.returncode != 0:
            pytest.fail(f"wif {' '.join(args)} exited {done.returncode}\n{done.stderr}", pytrace=False)
        return done

    def run(self, service_account: str, *command: str, token_expiration: str | None = None):
        """`wif run --cluster aks-kv --service-account default/<sa> -- command…` with a clean environment."""
        argv = [self.binary, "--data-dir", str(self.data_dir), "run", "--cluster", self.cluster,
                "--service-account", f"default/{service_account}"]  # fmt: skip
        if token_expiration:
            argv += ["--token-expiration", token_expiration]
        argv += ["--", *command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home)}
        try:
            return subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{argv} did not finish\n{exc.stderr}\nwif:\n{_tail(self.stderr_log)}", pytrace=False)

    def python_seed(self, service_account: str, url: str = AZURE_VAULT, secret: str = "my-secret"):
        return self.run(service_account, sys.executable, "-I", str(CLIENTS / "seed_keyvault.py"), url, secret)


def _serve(
    tmp_path_factory: pytest.TempPathFactory, azure_names: bool, topology: Path = TOPOLOGY, cluster: str = "aks-kv"
):
    """`wif up -f compat/keyvault/topology.yaml` (with the Azure names on 127.0.0.1:443 when asked), its hosts
    block applied for the module and removed afterwards, whatever happens."""
    binary = _wif_binary()
    root = tmp_path_factory.mktemp("wif-kv-azure" if azure_names else "wif-kv-local")
    data_dir, home = root / "data", root / "home"
    data_dir.mkdir()
    home.mkdir()
    ready_file, stderr_log = root / "ready.json", root / "wif-up.stderr"
    argv = [binary, "up", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0",
            "--ready-file", str(ready_file), "-f", str(topology)]  # fmt: skip
    if azure_names:
        argv += ["--azure-names", "--azure-listen", "127.0.0.1:443"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    with open(root / "wif-up.stdout", "wb") as out, open(stderr_log, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    hosts_applied = False
    try:
        ready = _await_ready(proc, ready_file, stderr_log, "wif up")
        assert ready["azure_names"] is azure_names, ready
        server = KeyVaultWif(binary, data_dir, ready, stderr_log, home, cluster)
        hosts_applied = True
        server.wif("hosts", "--apply")
        yield server
    finally:
        if hosts_applied:
            subprocess.run([binary, "--data-dir", str(data_dir), "hosts", "--remove"], timeout=60, check=False)
        _stop(proc)


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory):
    """A server with the Azure names (and the local names)."""
    yield from _serve(tmp_path_factory, azure_names=True)


@pytest.fixture(scope="module")
def kv_local(tmp_path_factory: pytest.TempPathFactory):
    """A server with local names only: AZURE_AUTHORITY_HOST is https://localhost:<port>/."""
    yield from _serve(tmp_path_factory, azure_names=False)


def _ok(done: subprocess.CompletedProcess, expected: str = "Secret value: hello from wif") -> None:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.strip() == expected, done.stdout


def _denied(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode != 0, f"expected a failure, got:\n{done.stdout}"
    for needle in needles:
        assert needle in done.stderr, f"{needle!r} not in:\n{done.stderr[-4000:]}"


# --- the seeds' snippets, unmodified ---------------------------------------------------------------------------


def test_python_seed_with_azure_names(kv: KeyVaultWif) -> None:
    _ok(kv.python_seed("workload"))


def test_python_seed_with_local_names_only_the_url_changes(kv: KeyVaultWif) -> None:
    assert kv.local_vault.startswith("https://kv-demo.vault.localhost:")
    _ok(kv.python_seed("workload", kv.local_vault))


def test_local_names_only_server_the_url_is_the_only_change(kv_local: KeyVaultWif) -> None:
    # No Azure names anywhere: the authority is https://localhost:<port>/ and the vault *.vault.localhost.
    _ok(kv_local.python_seed("workload", kv_local.local_vault))
    _denied(kv_local.python_seed("no-access", kv_local.local_vault), "ForbiddenByRbac")
    # Node's DefaultAzureCredential reaches wif through its managed-identity fallback here (spec §0.2).
    script = str(NODE_DIR / "clients" / "seed_keyvault.mjs")
    _ok(kv_local.run("workload", "node", script, kv_local.local_vault))
    binary = os.environ.get("WIF_COMPAT_RUST_BIN", "")
    if binary:
        _ok(kv_local.run("workload", binary, kv_local.local_vault, "my-secret"))


def test_node_seed_with_azure_names_and_local_names(kv: KeyVaultWif) -> None:
    script = str(NODE_DIR / "clients" / "seed_keyvault.mjs")
    if not (NODE_DIR / "node_modules" / "@azure" / "keyvault-secrets").is_dir():
        pytest.fail("compat/node/node_modules lacks @azure/keyvault-secrets; run ./scripts/test.sh", pytrace=False)
    _ok(kv.run("workload", "node", script))
    _ok(kv.run("workload", "node", script, kv.local_vault))
    _denied(kv.run("no-access", "node", script), "ForbiddenByRbac")


def test_rust_sdk_reads_the_secret(kv: KeyVaultWif) -> None:
    binary = os.environ.get("WIF_COMPAT_RUST_BIN", "")
    if not binary:
        message = "WIF_COMPAT_RUST_BIN is not set; ./scripts/test.sh builds compat/rust and sets it"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    _ok(kv.run("workload", binary, AZURE_VAULT, "my-secret"))
    _ok(kv.run("workload", binary, kv.local_vault, "my-secret"))
    _denied(kv.run("no-access", binary, AZURE_VAULT, "my-secret"), "403")


# --- every way the chain breaks, through the real Python SDK ------------------------------------------------------


def test_no_role_assignment_is_forbidden_by_rbac(kv: KeyVaultWif) -> None:
    done = kv.python_seed("no-access")
    _denied(done, "HttpResponseError", "ForbiddenByRbac", "Caller is not authorized to perform action on resource",
            "DeniedWithNoValidRBAC", "Microsoft.KeyVault/vaults/secrets/getSecret/action")  # fmt: skip


def test_reader_on_the_vault_is_a_management_role(kv: KeyVaultWif) -> None:
    _denied(kv.python_seed("mgmt-reader"), "ForbiddenByRbac")


def test_assignment_on_the_resource_group_is_inherited(kv: KeyVaultWif) -> None:
    _ok(kv.python_seed("rg-user"))
    _ok(kv.python_seed("rg-user", secret="other-secret"), "Secret value: the other one")


def test_assignment_on_one_secret_covers_that_secret_only(kv: KeyVaultWif) -> None:
    _ok(kv.python_seed("one-secret"))
    _denied(kv.python_seed("one-secret", secret="other-secret"), "ForbiddenByRbac", "/secrets/other-secret")


def test_wrong_service_account_is_aadsts700213(kv: KeyVaultWif) -> None:
    _denied(kv.python_seed("stranger"), "AADSTS700213")


def test_denials_are_in_the_audit_log(kv: KeyVaultWif) -> None:
    kv.python_seed("no-access")
    deadline = time.monotonic() + 10
    while True:
        rows = json.loads(kv.wif("keyvault", "audit", "list", "--denied", "-o", "json").stdout)
        if any(r["reason"] == "DeniedWithNoValidRBAC" and r["operation"] == "SecretGet" for r in rows):
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    assert all("hello from wif" not in json.dumps(r) for r in rows), "no secret value in the audit log"


def test_long_running_child_keeps_working_across_token_refreshes(kv: KeyVaultWif) -> None:
    # 15 s tokens (an expiry drill); wif run refreshes them at 80 % (12 s). The child reads the secret every
    # 2 s for 40 s, each time with a fresh credential, so it re-reads the token file and exchanges it again.
    done = kv.run("workload", sys.executable, "-I", str(CLIENTS / "keyvault_loop.py"), kv.local_vault, "40", "2",
                  token_expiration="15s")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) >= 10, lines
    errors = [line for line in lines if "error" in line]
    assert not errors, errors
    assert all(line["value"] == "hello from wif" for line in lines)
    first_exp = lines[0]["exp"]
    assert any(line["now"] > first_exp for line in lines), "the run outlived the first token"
    assert len({line["iat"] for line in lines}) >= 3, "the token file was replaced as it aged"
    # The file the SDK read was always current: never past its expiry.
    assert all(line["now"] <= line["exp"] for line in lines), lines
