"""Harness for the Python compatibility suite: one real `wif up` per session, real azure-identity per case.

The binary comes from WIF_BIN (scripts/test.sh builds wif and sets it). Without WIF_BIN the suite is
skipped, except under CI=true, where a missing binary is a failure.

Every SDK call runs in its own interpreter (clients/get_token.py) whose environment holds only the variables
the workload identity webhook would inject, plus REQUESTS_CA_BUNDLE for the local CA and HOME pointing at an
empty directory. azure-identity reads the environment when a credential is built and keeps a token cache per
credential, so a fresh process per case is both the faithful and the isolated way to drive it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

HERE = Path(__file__).resolve().parent
TOPOLOGY = HERE / "topology.yaml"
CLIENTS = HERE / "clients"

# Upper bounds for waits on a condition. None of them is an assertion about speed.
READY_TIMEOUT_S = 60.0
READY_POLL_S = 0.05
STOP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 60.0
CLIENT_TIMEOUT_S = 120.0
HTTP_TIMEOUT_S = 10.0

STDERR_TAIL_CHARS = 8000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _wif_binary() -> str:
    path = os.environ.get("WIF_BIN", "").strip()
    if not path:
        message = (
            "WIF_BIN is not set, so there is no wif binary to test. Run ./scripts/test.sh --only python "
            "(it builds wif and sets WIF_BIN), or set WIF_BIN=/path/to/target/debug/wif."
        )
        if _in_ci():
            pytest.fail(f"{message} Under CI=true the compatibility suite must run.", pytrace=False)
        pytest.skip(message)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"WIF_BIN={path!r} is not an executable file.", pytrace=False)
    return os.path.abspath(path)


def _tail(path: Path, limit: int = STDERR_TAIL_CHARS) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return text or "<empty>"


def _read_ready(path: Path) -> dict[str, Any] | None:
    """The ready file's JSON, or None while it is absent or not yet a complete JSON object."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _await_ready(proc: subprocess.Popen, ready_file: Path, stderr_log: Path, what: str) -> dict[str, Any]:
    """Polls (at most READY_TIMEOUT_S) until `proc` writes its ready file; fails with its stderr if it exits first."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while (ready := _read_ready(ready_file)) is None:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited {proc.returncode}:\n{_tail(stderr_log)}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{what} wrote no ready file:\n{_tail(stderr_log)}", pytrace=False)
        time.sleep(READY_POLL_S)
    return ready


def _stop(proc: subprocess.Popen) -> tuple[int, bool]:
    """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_S. Returns (exit status, was killed)."""
    if proc.poll() is not None:
        return proc.returncode, False
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_TIMEOUT_S), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), True


def _by_name(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return item
    raise AssertionError(f"ready file has no {what} named {name!r}: {[i.get('name') for i in items]}")


@dataclass
class ClientResult:
    """What clients/get_token.py printed: a token, or the exception the SDK raised."""

    ok: bool
    raw: dict[str, Any]

    @property
    def token(self) -> str:
        assert self.ok, f"expected a token, the SDK raised {self.raw.get('type')}: {self.raw.get('message')}"
        return self.raw["token"]

    @property
    def expires_on(self) -> int:
        assert self.ok
        return int(self.raw["expires_on"])

    @property
    def error_type(self) -> str:
        assert not self.ok, "expected the SDK to raise, it returned a token"
        return self.raw["type"]

    @property
    def message(self) -> str:
        assert not self.ok, "expected the SDK to raise, it returned a token"
        return self.raw["message"]

    @property
    def status_code(self) -> int | None:
        return self.raw.get("status_code")


@dataclass
class Wif:
    """A running `wif up` and what its ready file said."""

    binary: str
    data_dir: Path
    scratch: Path
    ready: dict[str, Any]
    stderr_log: Path
    client_home: Path
    _counter: list[int] = field(default_factory=lambda: [0])

    @property
    def authority(self) -> str:
        return self.ready["authority"].rstrip("/")

    @property
    def ca_path(self) -> str:
        return self.ready["ca_path"]

    def tenant(self, name: str) -> dict[str, Any]:
        return _by_name(self.ready["tenants"], name, "tenant")

    def cluster(self, name: str) -> dict[str, Any]:
        return _by_name(self.ready["clusters"], name, "cluster")

    def identity(self, name: str) -> dict[str, Any]:
        return _by_name(self.ready["identities"], name, "identity")

    def server_stderr(self) -> str:
        return _tail(self.stderr_log)

    def get_json(self, url: str) -> Any:
        """GET over TLS trusting only wif's CA; asserts a 200 JSON answer."""
        response = requests.get(url, verify=self.ca_path, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, f"GET {url} -> {response.status_code}: {response.text[:2000]}"
        return response.json()

    def mint_token(
        self,
        *,
        cluster: str = "aks-eastus",
        namespace: str = "default",
        service_account: str = "workload",
        audience: str | None = None,
        expiration: str | None = None,
        backdate: str | None = None,
    ) -> Path:
        """`wif token ... --out FILE`: a projected service-account token file, as kubelet would write it."""
        self._counter[0] += 1
        out = self.scratch / f"sa-token-{self._counter[0]:03d}-{cluster}-{service_account}"
        argv = [
            self.binary, "token",
            "--data-dir", str(self.data_dir),
            "--cluster", cluster,
            "--namespace", namespace,
            "--service-account", service_account,
            "--out", str(out),
        ]  # fmt: skip
        if audience is not None:
            argv += ["--audience", audience]
        if expiration is not None:
            argv += ["--expiration", expiration]
        if backdate is not None:
            argv += ["--backdate", backdate]
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
        )
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}",
                pytrace=False,
            )
        assert out.is_file(), f"wif token did not write {out}"
        jwt_text = out.read_text()
        # azure-identity sends the file unstripped, so a trailing newline would corrupt the assertion.
        assert jwt_text == jwt_text.strip(), "wif token --out must write the JWT with no surrounding whitespace"
        assert jwt_text.count(".") == 2, f"wif token --out did not write a compact JWS: {jwt_text[:200]!r}"
        return out

    def sdk_env(
        self,
        token_file: Path,
        *,
        identity: str = "id-workload",
        client_id: str | None = None,
        tenant_id: str | None = None,
    ) -> dict[str, str]:
        """The whole environment of an SDK process: what the webhook injects, plus CA trust."""
        who = self.identity(identity)
        return {
            "AZURE_CLIENT_ID": client_id if client_id is not None else who["client_id"],
            "AZURE_TENANT_ID": tenant_id if tenant_id is not None else who["tenant_id"],
            "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
            "AZURE_AUTHORITY_HOST": self.authority,
            "REQUESTS_CA_BUNDLE": self.ca_path,
            # An empty home, so nothing from a developer's ~/.azure can take part.
            "HOME": str(self.client_home),
        }

    def get_token(
        self, credential: str, env: dict[str, str], scope: str = "https://vault.azure.net/.default"
    ) -> ClientResult:
        """Run clients/get_token.py with exactly `env` and return what the SDK did."""
        argv = [sys.executable, "-I", str(CLIENTS / "get_token.py"), credential, scope]
        try:
            done = subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"SDK client did not finish within {CLIENT_TIMEOUT_S:.0f} s\nstderr:\n{exc.stderr}\n"
                f"wif stderr:\n{self.server_stderr()}",
                pytrace=False,
            )
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            raw = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        except json.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict) or "ok" not in raw:
            pytest.fail(
                f"SDK client broke (exit {done.returncode})\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                f"wif stderr:\n{self.server_stderr()}",
                pytrace=False,
            )
        return ClientResult(ok=bool(raw["ok"]), raw=raw)


@pytest.fixture(scope="session")
def wif(tmp_path_factory: pytest.TempPathFactory):
    """Start `wif up` on 127.0.0.1:0, wait for its ready file, stop it at the end and insist it exits 0."""
    binary = _wif_binary()
    root = tmp_path_factory.mktemp("wif")
    data_dir = root / "data"
    scratch = root / "scratch"
    client_home = root / "home"
    for directory in (data_dir, scratch, client_home):
        directory.mkdir()
    ready_file = root / "ready.json"
    stdout_log = root / "wif-up.stdout"
    stderr_log = root / "wif-up.stderr"

    argv = [
        binary, "up",
        "--data-dir", str(data_dir),
        "--listen", "127.0.0.1:0",
        "--ready-file", str(ready_file),
        "-f", str(TOPOLOGY),
    ]  # fmt: skip
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    with open(stdout_log, "wb") as out, open(stderr_log, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=server_env)

    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            status = proc.poll()
            if status is not None:
                pytest.fail(
                    f"`{' '.join(argv)}` exited with status {status} before writing its ready file.\n"
                    f"stderr:\n{_tail(stderr_log)}",
                    pytrace=False,
                )
            ready = _read_ready(ready_file)
            if ready is not None:
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`{' '.join(argv)}` wrote no ready file within {READY_TIMEOUT_S:.0f} s.\n"
                    f"stderr:\n{_tail(stderr_log)}",
                    pytrace=False,
                )
            time.sleep(READY_POLL_S)

        for key in ("authority", "port", "ca_path", "tenants", "clusters", "identities"):
            assert key in ready, f"ready file lacks {key!r}: {ready}"
        assert ready["authority"].startswith("https://"), f"authority must be https: {ready['authority']}"
        assert Path(ready["ca_path"]).is_file(), f"ready file names a CA that is not there: {ready['ca_path']}"

        yield Wif(
            binary=binary,
            data_dir=data_dir,
            scratch=scratch,
            ready=ready,
            stderr_log=stderr_log,
            client_home=client_home,
        )
    finally:
        status, killed = _stop(proc)

    # Reached only on a normal teardown: the server must shut down cleanly on SIGTERM.
    if killed:
        pytest.fail(
            f"wif up did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM and was killed.\n"
            f"stderr:\n{_tail(stderr_log)}",
            pytrace=False,
        )
    if status != 0:
        pytest.fail(f"wif up exited with status {status} after SIGTERM.\nstderr:\n{_tail(stderr_log)}", pytrace=False)
