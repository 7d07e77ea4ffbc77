//! Running the real `wif` binary: one-shot commands with a bounded wait, and `wif up` as a child
//! process started the way `compat/python/conftest.py` starts it (`--listen 127.0.0.1:0
//! --ready-file`), waited for by polling its ready file, and stopped by a guard (SIGTERM, then
//! SIGKILL) however the test ends.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;
use tempfile::TempDir;
use wif_core::{Clock, SystemClock};

/// The binary Cargo built for these tests.
pub const WIF: &str = env!("CARGO_BIN_EXE_wif");

// Upper bounds of waits on a condition; none of them is an assertion about speed. A fresh
// `wif up` generates RSA keys, which is slow in an unoptimised build on a busy machine.
/// Longest wait for a ready file.
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for `wif up` to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a one-shot command.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a running server to serve a store change (it polls the store every second)
/// or for the sign-in writer to append a record.
pub const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between two checks of a condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The topology most tests apply: one tenant with a fixed id, two clusters in two regions, one
/// identity trusting `default/workload` of the first cluster.
pub const TOPOLOGY: &str = "\
apiVersion: wif/v1
tenants:
  - name: contoso
    id: 72f988bf-86f1-41af-91ab-2d7cd011db47
    domain: contoso.onmicrosoft.com
regions:
  - name: eastus
  - name: westeurope
clusters:
  - name: aks-eastus
    tenant: contoso
    region: eastus
    resourceGroup: rg-aks
  - name: aks-untrusted
    tenant: contoso
    region: westeurope
    resourceGroup: rg-aks
identities:
  - name: id-workload
    tenant: contoso
    resourceGroup: rg-identity
    location: eastus
    federatedCredentials:
      - name: fic-aks-eastus
        cluster: aks-eastus
        subject: system:serviceaccount:default:workload
        audiences: [api://AzureADTokenExchange]
";
/// The tenant id [`TOPOLOGY`] fixes.
pub const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The tenant's domain.
pub const TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
/// The cluster the identity trusts.
pub const CLUSTER: &str = "aks-eastus";
/// The identity.
pub const IDENTITY: &str = "id-workload";
/// Its federated credential.
pub const CREDENTIAL: &str = "fic-aks-eastus";
/// The scope every exchange asks for.
pub const SCOPE: &str = "https://vault.azure.net/.default";

/// Now, in seconds since the epoch (through the one sanctioned wall clock).
pub fn now() -> i64 {
    SystemClock.now().as_secs()
}

#[expect(
    clippy::disallowed_methods,
    reason = "the interval between two checks of a condition in a bounded poll; nothing is timed"
)]
fn pause() {
    std::thread::sleep(POLL_INTERVAL);
}

/// The async twin of [`pause`], for polls inside a Tokio test.
pub async fn pause_async() {
    tokio::time::sleep(POLL_INTERVAL).await;
}

/// Checks `check` until it gives a value; panics naming `what` once `limit` has passed.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        pause();
    }
}

/// A child process that is stopped when the guard goes away, even when the test panics.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    fn spawn(cmd: &mut Command, argv: &str) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{argv}`: {e}"));
        Self { child }
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot poll child {}: {e}", self.child.id()))
    }

    /// SIGTERM, then up to [`STOP_TIMEOUT`] for it to exit, then SIGKILL. Returns the exit
    /// status and whether SIGKILL was needed. Never panics (it runs in `Drop`).
    fn terminate(&mut self) -> io::Result<(ExitStatus, bool)> {
        // `Child` caches the status once reaped, so an exited child is never signalled again
        // (its pid may have been reused).
        if let Some(status) = self.child.try_wait()? {
            return Ok((status, false));
        }
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status, false));
            }
            pause();
        }
        self.child.kill()?;
        Ok((self.child.wait()?, true))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// What a finished command did.
pub struct Run {
    /// The command line, for messages.
    pub argv: String,
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed to stdout.
    pub stdout: String,
    /// Everything it printed to stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts it exited 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(self.status.success(), "expected success: {self}");
        self
    }

    /// Asserts it exited non-zero (and was not killed by a signal).
    #[track_caller]
    pub fn failure(self) -> Self {
        assert!(
            self.status.code().is_some_and(|c| c != 0),
            "expected a non-zero exit: {self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.argv, self.status, self.stdout, self.stderr
        )
    }
}

/// A running `wif up` and what its ready file said.
pub struct Server {
    guard: ChildGuard,
    argv: String,
    stderr_path: PathBuf,
    /// The ready file's exact text.
    pub ready_text: String,
    /// The ready file, parsed.
    pub ready: Value,
}

impl Server {
    /// `https://localhost:<port>`
    pub fn authority(&self) -> &str {
        str_at(&self.ready, "authority")
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        let port = self.ready["port"].as_u64().expect("ready file has a port");
        u16::try_from(port).expect("port fits u16")
    }

    /// The CA certificate clients trust.
    pub fn ca_path(&self) -> PathBuf {
        PathBuf::from(str_at(&self.ready, "ca_path"))
    }

    /// A cluster's issuer URL from the ready file.
    pub fn issuer(&self, cluster: &str) -> String {
        str_at(by_name(&self.ready, "clusters", cluster), "issuer").to_owned()
    }

    /// An identity's client id from the ready file.
    pub fn client_id(&self, identity: &str) -> String {
        str_at(by_name(&self.ready, "identities", identity), "client_id").to_owned()
    }

    /// What it has logged so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// An HTTPS client trusting only this server's CA and reaching `localhost` at 127.0.0.1.
    pub fn client(&self) -> reqwest::Client {
        https_client(&self.ca_path(), self.port())
    }

    /// SIGTERM; asserts it exits by itself within [`STOP_TIMEOUT`] and returns its status.
    pub fn stop(&mut self) -> ExitStatus {
        let (status, killed) = self
            .guard
            .terminate()
            .unwrap_or_else(|e| panic!("cannot stop `{}`: {e}", self.argv));
        assert!(
            !killed,
            "`{}` did not exit within {STOP_TIMEOUT:?} of SIGTERM and was killed\nstderr:\n{}",
            self.argv,
            self.stderr()
        );
        status
    }

    /// [`Self::stop`], asserting exit status 0.
    pub fn stop_cleanly(&mut self) {
        let status = self.stop();
        assert!(
            status.success(),
            "`{}` exited {status} after SIGTERM\nstderr:\n{}",
            self.argv,
            self.stderr()
        );
    }
}

/// A string member of a JSON object; panics naming it when absent.
pub fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string '{key}' in {v}"))
}

/// The element named `name` of the array `list` in a ready file.
pub fn by_name<'a>(ready: &'a Value, list: &str, name: &str) -> &'a Value {
    ready[list]
        .as_array()
        .unwrap_or_else(|| panic!("ready file has no array '{list}': {ready}"))
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("ready file has no {list} entry named {name}: {ready}"))
}

/// The `name` members of the array `list` in a ready file, sorted.
pub fn names(ready: &Value, list: &str) -> Vec<String> {
    let mut out: Vec<String> = ready[list]
        .as_array()
        .unwrap_or_else(|| panic!("ready file has no array '{list}': {ready}"))
        .iter()
        .map(|x| str_at(x, "name").to_owned())
        .collect();
    out.sort();
    out
}

/// The ready file, once it exists as a complete JSON object.
fn read_ready(path: &Path) -> Option<(String, Value)> {
    let text = fs::read_to_string(path).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value.is_object().then_some((text, value))
}

/// One test's scratch space: a temporary directory holding the data directory (`data/`), the
/// files the test writes, and the logs of every process it starts.
pub struct Workspace {
    root: TempDir,
    counter: AtomicUsize,
}

impl Workspace {
    /// A fresh, empty workspace.
    pub fn new() -> Self {
        Self {
            root: tempfile::Builder::new()
                .prefix("wif-it-")
                .tempdir()
                .expect("create a temporary directory"),
            counter: AtomicUsize::new(0),
        }
    }

    /// The data directory (`--data-dir`); `wif` creates it.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A path in the workspace, outside the data directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Writes a file into the workspace and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// `wif --data-dir <data> <args…>` with its output going to log files of the workspace.
    fn command(&self, args: &[OsString]) -> (Command, String, PathBuf, PathBuf) {
        let n = self.next();
        let stdout_path = self.path(&format!("run-{n:03}.stdout"));
        let stderr_path = self.path(&format!("run-{n:03}.stderr"));
        let stdout = fs::File::create(&stdout_path).expect("create stdout log");
        let stderr = fs::File::create(&stderr_path).expect("create stderr log");
        let mut cmd = Command::new(WIF);
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("WIF_DATA_DIR")
            .env_remove("WIF_LOG")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_ENVIRONMENT")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let argv = std::iter::once(OsStr::new("wif"))
            .chain(args.iter().map(OsString::as_os_str))
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        (cmd, argv, stdout_path, stderr_path)
    }

    /// Runs a one-shot command to its end (at most [`CLI_TIMEOUT`]).
    pub fn wif<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Run {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let (mut cmd, argv, stdout_path, stderr_path) = self.command(&args);
        let mut child = ChildGuard::spawn(&mut cmd, &argv);
        let status = wait_for(&format!("`{argv}` to exit"), CLI_TIMEOUT, || {
            child.try_wait()
        });
        Run {
            argv,
            status,
            stdout: fs::read_to_string(stdout_path).expect("read stdout log"),
            stderr: fs::read_to_string(stderr_path).expect("read stderr log"),
        }
    }

    fn up_args(&self, file: Option<&Path>) -> (Vec<OsString>, PathBuf) {
        let ready = self.path(&format!("ready-{:03}.json", self.next()));
        let mut args: Vec<OsString> = ["up", "--listen", "127.0.0.1:0", "--ready-file"]
            .iter()
            .map(OsString::from)
            .collect();
        args.push(ready.clone().into());
        if let Some(file) = file {
            args.push("-f".into());
            args.push(file.into());
        }
        (args, ready)
    }

    /// Starts `wif up [-f file]` and waits for its ready file.
    pub fn up(&self, file: Option<&Path>) -> Server {
        let (args, ready_file) = self.up_args(file);
        self.serve(&args, &ready_file)
    }

    /// Starts a long-running `wif <args…>` and waits for it to write `ready_file` (JSON).
    pub fn serve(&self, args: &[OsString], ready_file: &Path) -> Server {
        let ready_file = ready_file.to_owned();
        let (mut cmd, argv, _, stderr_path) = self.command(args);
        let mut guard = ChildGuard::spawn(&mut cmd, &argv);
        let (ready_text, ready) = wait_for("the ready file", READY_TIMEOUT, || {
            if let Some(status) = guard.try_wait() {
                panic!(
                    "`{argv}` exited {status} before writing its ready file\nstderr:\n{}",
                    fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            read_ready(&ready_file)
        });
        Server {
            guard,
            argv,
            stderr_path,
            ready_text,
            ready,
        }
    }

    /// Runs `wif up [-f file]` that is expected to refuse to start: waits for it to exit and
    /// panics if it writes a ready file first.
    pub fn up_refused(&self, file: Option<&Path>) -> Run {
        let (args, ready_file) = self.up_args(file);
        let (mut cmd, argv, stdout_path, stderr_path) = self.command(&args);
        let mut guard = ChildGuard::spawn(&mut cmd, &argv);
        let status = wait_for(&format!("`{argv}` to exit"), READY_TIMEOUT, || {
            assert!(
                read_ready(&ready_file).is_none(),
                "`{argv}` started although it should have refused\nstderr:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
            guard.try_wait()
        });
        Run {
            argv,
            status,
            stdout: fs::read_to_string(stdout_path).expect("read stdout log"),
            stderr: fs::read_to_string(stderr_path).expect("read stderr log"),
        }
        .failure()
    }

    /// `wif token --cluster <cluster> --namespace default --service-account <sa> --out <f> <extra…>`,
    /// asserting success; returns the token file's content.
    pub fn mint(&self, cluster: &str, service_account: &str, extra: &[&str]) -> String {
        let out = self.path(&format!("token-{:03}.jwt", self.next()));
        let mut args: Vec<OsString> = [
            "token",
            "--cluster",
            cluster,
            "--namespace",
            "default",
            "--service-account",
            service_account,
            "--out",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(out.clone().into());
        args.extend(extra.iter().map(OsString::from));
        self.wif(&args).success();
        fs::read_to_string(&out).unwrap_or_else(|e| panic!("read {}: {e}", out.display()))
    }
}

/// An HTTPS client trusting only the CA in `ca_pem`, connecting to 127.0.0.1:`port` for
/// `localhost` so the certificate's name matches while only loopback is used.
pub fn https_client(ca_pem: &Path, port: u16) -> reqwest::Client {
    https_client_alpn(ca_pem, port, &[])
}

/// Like [`https_client`], offering `alpn` protocols in the TLS handshake (`b"h2"` for HTTP/2).
pub fn https_client_alpn(ca_pem: &Path, port: u16, alpn: &[&[u8]]) -> reqwest::Client {
    let pem = fs::read(ca_pem).unwrap_or_else(|e| panic!("read {}: {e}", ca_pem.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a usable CA certificate");
    }
    assert!(
        !roots.is_empty(),
        "{} holds no certificate",
        ca_pem.display()
    );
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .resolve("localhost", SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .timeout(Duration::from_secs(15))
        .build()
        .expect("build the HTTPS client")
}

/// GET, asserting 200 and a JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let resp = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    let status = resp.status();
    let text = resp.text().await.expect("read the body");
    assert_eq!(status.as_u16(), 200, "GET {url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"))
}

/// A client-credentials request with a federated assertion, as azure-identity sends it: the
/// HTTP status and the JSON body.
pub async fn exchange(
    client: &reqwest::Client,
    authority: &str,
    tenant: &str,
    client_id: &str,
    assertion: &str,
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("scope", SCOPE)
        .append_pair(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .append_pair("client_assertion", assertion)
        .finish();
    let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
    let resp = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("read the body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("POST {url} -> {status}: not JSON ({e}): {text}"));
    (status, json)
}

/// A compact JWS split into its decoded header and claims.
pub struct Jwt {
    /// The protected header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
}

/// Decodes a compact JWS, asserting three strict base64url parts and JSON header and claims.
pub fn decode_jwt(token: &str) -> Jwt {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token:?}");
    let decode = |part: &str| {
        wif_jose::b64::decode(part).unwrap_or_else(|e| panic!("not base64url ({e}): {part:?}"))
    };
    let json = |part: &str| -> Value {
        serde_json::from_slice(&decode(part)).unwrap_or_else(|e| panic!("not JSON ({e}): {part}"))
    };
    assert!(!decode(parts[2]).is_empty(), "empty signature: {token}");
    Jwt {
        header: json(parts[0]),
        claims: json(parts[1]),
    }
}

/// The `kid` of a token's header.
pub fn kid(token: &str) -> String {
    str_at(&decode_jwt(token).header, "kid").to_owned()
}

/// Verifies a token's signature against a JWKS (only the signature: claims are the test's).
pub fn verify_with(token: &str, jwks: &Value) -> Result<(), String> {
    let jwks: wif_jose::Jwks = serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let keys = wif_jose::KeySet::from_jwks(&jwks);
    wif_jose::UnverifiedJwt::parse(token)
        .map_err(|e| e.to_string())?
        .verify(&keys)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The `kid`s of a JWKS.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("not a JWKS: {jwks}"))
        .iter()
        .map(|k| str_at(k, "kid").to_owned())
        .collect()
}

/// Polls a JWKS URL until it lists `n` keys (a running server reloads the store every second).
pub async fn wait_for_key_count(client: &reqwest::Client, url: &str, n: usize) -> Value {
    let deadline = Instant::now() + CHANGE_TIMEOUT;
    loop {
        let jwks = get_json(client, url).await;
        if kids(&jwks).len() == n {
            return jwks;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not list {n} keys within {CHANGE_TIMEOUT:?}: {jwks}"
        );
        pause_async().await;
    }
}
