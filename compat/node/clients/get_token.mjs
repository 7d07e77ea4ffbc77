// Acquire one access token with the real @azure/identity, configured from the environment only.
//
//     node get_token.mjs {workload|default} SCOPE
//
// The credential gets AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST from
// the environment, exactly as in a pod that the workload identity webhook has mutated; TLS trust comes from
// NODE_EXTRA_CA_CERTS. The one code-level option is `disableInstanceDiscovery: true`, which has no environment
// variable (sdk-wire.md §4.2): without it MSAL asks login.microsoftonline.com about the authority host.
//
// Prints one JSON line on stdout and exits 0, whether the SDK returned a token or threw:
//     {"ok": true, "token": "<jwt>", "expiresOnTimestamp": 1795499400000}
//     {"ok": false, "name": "...", "message": "...", "statusCode": 401}
// Any other exit status means this script itself broke; the reason is on stderr.

import { DefaultAzureCredential, WorkloadIdentityCredential } from "@azure/identity";

const [kind, scope] = process.argv.slice(2);
const makers = {
  workload: () => new WorkloadIdentityCredential({ disableInstanceDiscovery: true }),
  default: () => new DefaultAzureCredential({ disableInstanceDiscovery: true }),
};
if (!makers[kind] || !scope) {
  console.error(`usage: get_token.mjs {${Object.keys(makers).join("|")}} SCOPE`);
  process.exit(2);
}

let report;
try {
  const token = await makers[kind]().getToken(scope);
  report = token
    ? { ok: true, token: token.token, expiresOnTimestamp: token.expiresOnTimestamp }
    : { ok: false, name: "null", message: "getToken returned null" };
} catch (err) {
  report = {
    ok: false,
    name: err?.name ?? typeof err,
    constructor: err?.constructor?.name,
    message: String(err?.message ?? err),
    statusCode: err?.statusCode,
  };
}
process.stdout.write(`${JSON.stringify(report)}\n`);
