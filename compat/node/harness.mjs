// Harness for the Node compatibility suite: start one real `wif up`, mint service-account tokens with
// `wif token`, and run the real @azure/identity in a child `node` per case.
//
// The binary comes from WIF_BIN (scripts/test.sh builds wif and sets it). Without WIF_BIN the suite is
// skipped, except under CI=true, where a missing binary is a failure.
//
// Each SDK call runs in a fresh `node` (clients/get_token.mjs) because NODE_EXTRA_CA_CERTS is read only at
// Node startup, and because the credential must get its whole configuration from the environment the
// workload identity webhook injects. That environment is all the child gets, plus HOME = an empty directory.

import { execFile, spawn } from "node:child_process";
import { createPublicKey, verify } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TOPOLOGY = path.resolve(HERE, "..", "python", "topology.yaml");
const CLIENT = path.join(HERE, "clients", "get_token.mjs");

// Upper bounds for waits on a condition. None of them is an assertion about speed.
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 20_000;
const CLI_TIMEOUT_MS = 60_000;
const CLIENT_TIMEOUT_MS = 120_000;
const HTTP_TIMEOUT_MS = 10_000;
const STDERR_TAIL_CHARS = 8000;

export const VAULT = "https://vault.azure.net";
export const VAULT_SCOPE = `${VAULT}/.default`;

function inCi() {
  const value = (process.env.CI ?? "").trim().toLowerCase();
  return !["", "0", "false", "no"].includes(value);
}

/**
 * Where the wif binary is: `{ path }`, or `{ skip: reason }` when WIF_BIN is unset outside CI.
 * Under CI=true a missing or unusable binary throws, so the suite fails instead of skipping.
 */
export function locateWif() {
  const given = (process.env.WIF_BIN ?? "").trim();
  if (!given) {
    const message =
      "WIF_BIN is not set, so there is no wif binary to test. Run ./scripts/test.sh --only node " +
      "(it builds wif and sets WIF_BIN), or set WIF_BIN=/path/to/target/debug/wif.";
    if (inCi()) return { error: `${message} Under CI=true the compatibility suite must run.` };
    return { skip: message };
  }
  const resolved = path.resolve(given);
  try {
    fs.accessSync(resolved, fs.constants.X_OK);
    if (!fs.statSync(resolved).isFile()) throw new Error("not a file");
  } catch {
    return { error: `WIF_BIN=${given} is not an executable file.` };
  }
  return { path: resolved };
}

function tail(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    return `<could not read ${file}: ${err.message}>`;
  }
  if (text.length > STDERR_TAIL_CHARS) text = `...\n${text.slice(-STDERR_TAIL_CHARS)}`;
  return text || "<empty>";
}

function readReady(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") return null;
    throw err;
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null; // not complete yet
  }
}

function byName(items, name, what) {
  const found = (items ?? []).find((item) => item.name === name);
  if (!found) {
    throw new Error(`ready file has no ${what} named ${name}: ${JSON.stringify((items ?? []).map((i) => i.name))}`);
  }
  return found;
}

/** Resolves with { code, signal } once the child has exited, or null after `ms`. */
function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** A running `wif up`. Create with `startWif`; always `stop()` it. */
export class Wif {
  constructor({ binary, root, dataDir, scratch, home, stderrLog, child, ready }) {
    Object.assign(this, { binary, root, dataDir, scratch, home, stderrLog, child, ready });
    this.ca = fs.readFileSync(ready.ca_path);
    this.counter = 0;
  }

  get authority() {
    return this.ready.authority.replace(/\/+$/, "");
  }

  tenant(name) {
    return byName(this.ready.tenants, name, "tenant");
  }

  cluster(name) {
    return byName(this.ready.clusters, name, "cluster");
  }

  identity(name) {
    return byName(this.ready.identities, name, "identity");
  }

  serverStderr() {
    return tail(this.stderrLog);
  }

  /** `wif token ... --out FILE`; returns the file's path. */
  async mintToken({
    cluster = "aks-eastus",
    namespace = "default",
    serviceAccount = "workload",
    audience,
    expiration,
    backdate,
  } = {}) {
    this.counter += 1;
    const out = path.join(this.scratch, `sa-token-${String(this.counter).padStart(3, "0")}-${cluster}-${serviceAccount}`);
    const argv = [
      "token",
      "--data-dir", this.dataDir,
      "--cluster", cluster,
      "--namespace", namespace,
      "--service-account", serviceAccount,
      "--out", out,
    ];
    if (audience !== undefined) argv.push("--audience", audience);
    if (expiration !== undefined) argv.push("--expiration", expiration);
    if (backdate !== undefined) argv.push("--backdate", backdate);
    try {
      await execFileAsync(this.binary, argv, { timeout: CLI_TIMEOUT_MS, killSignal: "SIGKILL" });
    } catch (err) {
      throw new Error(`wif ${argv.join(" ")} failed (${err.code ?? err.signal}):\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    }
    const jwt = fs.readFileSync(out, "utf8");
    if (jwt !== jwt.trim() || jwt.split(".").length !== 3) {
      throw new Error(`wif token --out must write one compact JWS with no surrounding whitespace: ${JSON.stringify(jwt.slice(0, 200))}`);
    }
    return out;
  }

  /** The whole environment of an SDK process: what the webhook injects, plus CA trust. */
  sdkEnv(tokenFile, { identity = "id-workload", clientId, tenantId } = {}) {
    const who = this.identity(identity);
    return {
      AZURE_CLIENT_ID: clientId ?? who.client_id,
      AZURE_TENANT_ID: tenantId ?? who.tenant_id,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_AUTHORITY_HOST: this.authority,
      NODE_EXTRA_CA_CERTS: this.ready.ca_path,
      HOME: this.home,
    };
  }

  /** Run clients/get_token.mjs with exactly `env`; returns its JSON report. */
  async getToken(credential, env, scope = VAULT_SCOPE) {
    let stdout = "";
    let stderr = "";
    let failure = null;
    try {
      ({ stdout, stderr } = await execFileAsync(process.execPath, [CLIENT, credential, scope], {
        env,
        cwd: this.home,
        timeout: CLIENT_TIMEOUT_MS,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (err) {
      failure = err;
      stdout = err.stdout ?? "";
      stderr = err.stderr ?? "";
    }
    const lines = stdout.split("\n").filter((line) => line.trim());
    let report = null;
    if (!failure && lines.length) {
      try {
        report = JSON.parse(lines[lines.length - 1]);
      } catch {
        report = null;
      }
    }
    if (!report || typeof report.ok !== "boolean") {
      const why = failure ? `${failure.code ?? ""} ${failure.signal ?? ""} ${failure.message}` : "no JSON report";
      throw new Error(
        `SDK client broke (${why})\nstdout:\n${stdout}\nstderr:\n${stderr}\nwif stderr:\n${this.serverStderr()}`,
      );
    }
    return report;
  }

  /** GET over TLS trusting only wif's CA; resolves with the parsed JSON of a 200 answer. */
  getJson(url) {
    return new Promise((resolve, reject) => {
      const request = https.get(url, { ca: this.ca, timeout: HTTP_TIMEOUT_MS }, (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (response.statusCode !== 200) {
            reject(new Error(`GET ${url} -> ${response.statusCode}: ${body.slice(0, 2000)}`));
            return;
          }
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(new Error(`GET ${url}: not JSON (${err.message}): ${body.slice(0, 2000)}`));
          }
        });
        response.on("error", reject);
      });
      request.on("timeout", () => request.destroy(new Error(`GET ${url}: no answer within ${HTTP_TIMEOUT_MS} ms`)));
      request.on("error", reject);
    });
  }

  /**
   * SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. Resolves with { code, signal, killed }.
   * Removes the temporary directory unless WIF_KEEP_TMP is set.
   */
  async stop() {
    let exit = await waitForExit(this.child, 0);
    let killed = false;
    if (exit === null) {
      this.child.kill("SIGTERM");
      exit = await waitForExit(this.child, STOP_TIMEOUT_MS);
      if (exit === null) {
        killed = true;
        this.child.kill("SIGKILL");
        exit = await waitForExit(this.child, STOP_TIMEOUT_MS);
      }
    }
    const stderr = this.serverStderr();
    if (!process.env.WIF_KEEP_TMP) fs.rmSync(this.root, { recursive: true, force: true });
    return { ...(exit ?? { code: null, signal: null }), killed, stderr };
  }
}

/** Start `wif up` on 127.0.0.1:0 and wait (bounded) for its ready file. */
export async function startWif(binary) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "wif-compat-node-"));
  const dataDir = path.join(root, "data");
  const scratch = path.join(root, "scratch");
  const home = path.join(root, "home");
  for (const dir of [dataDir, scratch, home]) fs.mkdirSync(dir);
  const readyFile = path.join(root, "ready.json");
  const stdoutLog = path.join(root, "wif-up.stdout");
  const stderrLog = path.join(root, "wif-up.stderr");

  const argv = ["up", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--ready-file", readyFile, "-f", TOPOLOGY];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("AZURE_")));
  const out = fs.openSync(stdoutLog, "w");
  const err = fs.openSync(stderrLog, "w");
  let child;
  try {
    child = spawn(binary, argv, { stdio: ["ignore", out, err], env });
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  // Whatever happens to this test process, the server does not outlive it.
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", reap);
  const spawnError = new Promise((_, reject) => child.once("error", reject));
  spawnError.catch(() => {});

  const command = `${binary} ${argv.join(" ")}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = null;
  try {
    for (;;) {
      await Promise.race([sleep(READY_POLL_MS), spawnError]);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `\`${command}\` exited (${child.exitCode ?? child.signalCode}) before writing its ready file.\nstderr:\n${tail(stderrLog)}`,
        );
      }
      ready = readReady(readyFile);
      if (ready) break;
      if (Date.now() > deadline) {
        throw new Error(`\`${command}\` wrote no ready file within ${READY_TIMEOUT_MS} ms.\nstderr:\n${tail(stderrLog)}`);
      }
    }
    for (const key of ["authority", "port", "ca_path", "tenants", "clusters", "identities"]) {
      if (!(key in ready)) throw new Error(`ready file lacks ${key}: ${JSON.stringify(ready)}`);
    }
    if (!ready.authority.startsWith("https://")) throw new Error(`authority must be https: ${ready.authority}`);
    return new Wif({ binary, root, dataDir, scratch, home, stderrLog, child, ready });
  } catch (error) {
    reap();
    await waitForExit(child, STOP_TIMEOUT_MS);
    throw error;
  }
}

/** The decoded header and payload of a compact JWS, unverified. */
export function decodeJwt(token) {
  const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")));
  return { header, payload };
}

/** Whether the RS256 signature of `token` verifies with the JWK `jwk`. */
export function verifyRs256(token, jwk) {
  const [header, payload, signature] = token.split(".");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"));
}
