"""A Key Vault read with ManagedIdentityCredential, as an app written for a VM or App Service has it.

Usage: mi_keyvault.py VAULT_URL SECRET [CLIENT_ID]. The credential finds the endpoint the usual way:
IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST moves it off 169.254.169.254) or App Service
(IDENTITY_ENDPOINT + IDENTITY_HEADER). Prints "Secret value: …" or the SDK's error on stderr.
"""

import sys

from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

url, name = sys.argv[1], sys.argv[2]
client_id = sys.argv[3] if len(sys.argv) > 3 else None
credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
try:
    secret = SecretClient(vault_url=url, credential=credential).get_secret(name)
except Exception as exc:  # noqa: BLE001 - the test reads the SDK's own message
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
print(f"Secret value: {secret.value}")
