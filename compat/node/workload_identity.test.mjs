// The real @azure/identity 4.13.1 (msal-node 5.6.0) against wif, the way a pod mutated by the workload
// identity webhook uses it. Unlike Python, MSAL does OIDC discovery of the authority first and validates the
// published issuer (sdk-wire.md §4.3), so a token here also proves wif's tenant discovery document.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { VAULT, VAULT_SCOPE, decodeJwt, locateWif, startWif, verifyRs256 } from "./harness.mjs";

const located = locateWif();

describe("@azure/identity against wif", { skip: located.skip ?? false }, () => {
  let wif;

  before(async () => {
    if (located.error) throw new Error(located.error);
    wif = await startWif(located.path);
  });

  after(async () => {
    if (!wif) return;
    const exit = await wif.stop();
    assert.equal(exit.killed, false, `wif up did not exit after SIGTERM and was killed.\nstderr:\n${exit.stderr}`);
    assert.equal(exit.code, 0, `wif up exited ${exit.code ?? exit.signal} after SIGTERM.\nstderr:\n${exit.stderr}`);
  });

  async function assertVaultToken(report) {
    assert.equal(report.ok, true, `expected a token, the SDK threw ${report.name}: ${report.message}`);
    const identity = wif.identity("id-workload");
    const { header, payload } = decodeJwt(report.token);

    assert.equal(header.alg, "RS256");
    const { keys } = await wif.getJson(`${wif.authority}/${identity.tenant_id}/discovery/v2.0/keys`);
    const jwk = keys.find((key) => key.kid === header.kid);
    assert.ok(jwk, `kid ${header.kid} is not among the tenant's keys ${JSON.stringify(keys.map((k) => k.kid))}`);
    assert.equal(verifyRs256(report.token, jwk), true, "access token signature does not verify");

    assert.equal(payload.aud, VAULT);
    assert.equal(payload.tid, identity.tenant_id);
    assert.equal(payload.oid, identity.principal_id);
    assert.equal(payload.appid, identity.client_id);
    assert.equal(payload.ver, "1.0");
    const now = Date.now();
    assert.ok(report.expiresOnTimestamp > now, `expiresOnTimestamp ${report.expiresOnTimestamp} is not after ${now}`);
    assert.ok(payload.exp * 1000 > now, `exp ${payload.exp} is not in the future`);
  }

  test("WorkloadIdentityCredential gets a Key Vault token", async () => {
    const tokenFile = await wif.mintToken();
    const report = await wif.getToken("workload", wif.sdkEnv(tokenFile), VAULT_SCOPE);
    await assertVaultToken(report);
  });

  test("DefaultAzureCredential gets a Key Vault token through workload identity", async () => {
    const tokenFile = await wif.mintToken();
    const report = await wif.getToken("default", wif.sdkEnv(tokenFile), VAULT_SCOPE);
    await assertVaultToken(report);
  });

  test("a wrong subject fails with AADSTS700213", async () => {
    const tokenFile = await wif.mintToken({ serviceAccount: "not-the-workload" });
    const report = await wif.getToken("workload", wif.sdkEnv(tokenFile), VAULT_SCOPE);
    assert.equal(report.ok, false, "expected AADSTS700213, the SDK got a token");
    // MSAL's message: "Error(s): 700213 - ... - Description: AADSTS700213: No matching ...". The colon keeps
    // 700213 from matching 7002138.
    assert.match(report.message, /AADSTS700213: /, `${report.name}: ${report.message}`);
  });
});
