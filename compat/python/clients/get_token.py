"""Acquire one access token with the real azure-identity, configured from the environment only.

    python get_token.py {workload|default} SCOPE

The credential is built with no arguments, so everything it knows comes from AZURE_CLIENT_ID,
AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, and TLS trust from
REQUESTS_CA_BUNDLE, exactly as in a pod that the workload identity webhook has mutated.

Prints one JSON line on stdout and exits 0, whether the SDK returned a token or raised:
    {"ok": true, "token": "<jwt>", "expires_on": 1795499400}
    {"ok": false, "type": "azure.core.exceptions.ClientAuthenticationError", "mro": [...],
     "status_code": 401, "message": "..."}
Any other exit status means this script itself broke; its traceback is on stderr.
"""

import json
import sys


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def main() -> int:
    kind, scope = sys.argv[1], sys.argv[2]

    from azure.identity import DefaultAzureCredential, WorkloadIdentityCredential

    if kind == "workload":
        make = WorkloadIdentityCredential
    elif kind == "default":
        make = DefaultAzureCredential
    else:
        print(f"unknown credential kind {kind!r}", file=sys.stderr)
        return 2

    try:
        credential = make()
        token = credential.get_token(scope)
    except Exception as exc:  # the SDK's error is the result under test
        response = getattr(exc, "response", None)
        print(
            json.dumps(
                {
                    "ok": False,
                    "type": _qualified(type(exc)),
                    "mro": [_qualified(c) for c in type(exc).__mro__],
                    "status_code": getattr(response, "status_code", None),
                    "message": str(exc),
                }
            )
        )
        return 0
    print(json.dumps({"ok": True, "token": token.token, "expires_on": token.expires_on}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
