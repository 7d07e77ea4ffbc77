"""`wif proxy` (the IMDS proxy sidecar) driven by the real ManagedIdentityCredential of azure-identity
(Python) and @azure/identity (Node), each reading a Key Vault secret.

The proxy runs as the workload (`wif run --cluster aks-kv --service-account default/workload -- wif proxy`), so it
has the projected token and the webhook's variables; the application runs in a separate process that has none of
them, only the endpoint a managed-identity app finds: IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST points it at the
proxy instead of 169.254.169.254, as aad-pod-identity did) or App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import CLIENTS, _await_ready, _stop
from test_keyvault import NODE_DIR, KeyVaultWif, _serve

IDENTITY_HEADER = "a-header-only-the-app-knows"
APP_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def kv_proxy(tmp_path_factory: pytest.TempPathFactory):
    for server in _serve(tmp_path_factory, azure_names=False):
        yield server


@pytest.fixture(scope="module")
def proxy(kv_proxy: KeyVaultWif, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("proxy")
    ready_file, stderr_log = root / "ready.json", root / "proxy.stderr"
    argv = [kv_proxy.binary, "--data-dir", str(kv_proxy.data_dir), "run", "--cluster", "aks-kv",
            "--service-account", "default/workload", "--",
            kv_proxy.binary, "proxy", "--proxy-port", "0", "--imds-upstream", "none",
            "--identity-header", IDENTITY_HEADER, "--ready-file", str(ready_file)]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(kv_proxy.home)}
    with open(stderr_log, "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        ready = _await_ready(proc, ready_file, stderr_log, "wif proxy")
        yield f"http://{ready['listen']}"
    finally:
        _stop(proc)


def _app_env(kv: KeyVaultWif, **extra: str) -> dict[str, str]:
    """What a managed-identity app has: no AZURE_* workload identity variables, the CA for the vault's TLS."""
    ca = kv.wif("ca", "path").stdout.strip()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(kv.home),
        "REQUESTS_CA_BUNDLE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
        **extra,
    }


def _client_id(kv: KeyVaultWif, identity: str) -> str:
    return next(i["client_id"] for i in kv.ready["identities"] if i["name"] == identity)


def _app(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=APP_TIMEOUT_S)  # fmt: skip


def _ok(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert done.stdout.strip() == "Secret value: hello from wif", done.stdout


def _python(kv: KeyVaultWif, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return _app([sys.executable, "-I", str(CLIENTS / "mi_keyvault.py"), kv.local_vault, "my-secret", *extra], env)


def _node(kv: KeyVaultWif, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    if not (NODE_DIR / "node_modules" / "@azure" / "identity").is_dir():
        pytest.fail("compat/node/node_modules lacks @azure/identity; run ./scripts/test.sh", pytrace=False)
    return _app(["node", str(NODE_DIR / "clients" / "mi_keyvault.mjs"), kv.local_vault, "my-secret", *extra], env)


def test_python_managed_identity_credential_over_imds(kv_proxy: KeyVaultWif, proxy: str) -> None:
    env = _app_env(kv_proxy, AZURE_POD_IDENTITY_AUTHORITY_HOST=proxy)
    _ok(_python(kv_proxy, env))
    # With the identity named explicitly, as apps with several identities do.
    _ok(_python(kv_proxy, env, _client_id(kv_proxy, "id-kv-user")))


def test_python_managed_identity_credential_over_app_service(kv_proxy: KeyVaultWif, proxy: str) -> None:
    env = _app_env(kv_proxy, IDENTITY_ENDPOINT=f"{proxy}/msi/token", IDENTITY_HEADER=IDENTITY_HEADER)
    _ok(_python(kv_proxy, env))


def test_python_sees_the_entra_error_for_an_identity_the_pod_cannot_use(kv_proxy: KeyVaultWif, proxy: str) -> None:
    env = _app_env(kv_proxy, AZURE_POD_IDENTITY_AUTHORITY_HOST=proxy)
    done = _python(kv_proxy, env, _client_id(kv_proxy, "id-kv-none"))
    assert done.returncode != 0, done.stdout
    assert "AADSTS70021" in done.stderr or "AADSTS700213" in done.stderr, done.stderr[-4000:]


def test_node_managed_identity_credential_over_imds(kv_proxy: KeyVaultWif, proxy: str) -> None:
    env = _app_env(kv_proxy, AZURE_POD_IDENTITY_AUTHORITY_HOST=proxy)
    _ok(_node(kv_proxy, env))


def test_node_managed_identity_credential_over_app_service(kv_proxy: KeyVaultWif, proxy: str) -> None:
    env = _app_env(kv_proxy, IDENTITY_ENDPOINT=f"{proxy}/msi/token", IDENTITY_HEADER=IDENTITY_HEADER)
    _ok(_node(kv_proxy, env))
