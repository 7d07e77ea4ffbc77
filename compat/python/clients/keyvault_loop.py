# A long-running workload: for DURATION seconds, every PERIOD seconds, a fresh credential and client
# read the secret (so the SDK re-reads the projected token file and exchanges it again each time).
# Prints one JSON line per read: time, the token file's iat/exp, and the value or the error.
import base64
import json
import os
import sys
import time

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

vault_url, duration, period = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + duration
while time.time() < deadline:
    token = open(os.environ["AZURE_FEDERATED_TOKEN_FILE"]).read()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    line = {"now": int(time.time()), "iat": claims["iat"], "exp": claims["exp"]}
    try:
        client = SecretClient(vault_url=vault_url, credential=DefaultAzureCredential())
        line["value"] = client.get_secret("my-secret").value
    except Exception as exc:  # noqa: BLE001 - report whatever the SDK raised
        line["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(line), flush=True)
    time.sleep(period)
