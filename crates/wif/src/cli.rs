//! Command-line definitions (clap). Every command has an example in its help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::OutputArgs;

/// wif: Workload Identity Federation, wire-compatible with Microsoft Entra Workload ID.
///
/// Start everything locally with `wif up`, then point unmodified Azure SDKs at it with
/// `eval "$(wif env)"`.
#[derive(Debug, Parser)]
#[command(name = "wif", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The data directory (store, keys, CA).
    #[arg(long, global = true, env = "WIF_DATA_DIR", default_value = ".wif")]
    pub data_dir: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the issuers and the token service on the embedded store.
    ///
    /// Example: wif up -f topology.yaml
    Up(UpArgs),
    /// Mint a projected service-account token signed by a cluster's issuer.
    ///
    /// Example: wif token --cluster aks-eastus --namespace default --service-account workload --out /tmp/token
    Token(TokenArgs),
    /// Manage signing keys.
    ///
    /// Example: wif keys rotate --cluster aks-eastus
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Query the sign-in log.
    ///
    /// Example: wif signins list --failed --since 10m -o table
    #[command(subcommand)]
    Signins(SigninsCommand),
    /// The local certificate authority.
    ///
    /// Example: wif ca path
    #[command(subcommand)]
    Ca(CaCommand),
    /// Print the environment variables the Azure SDKs need to use this wif.
    ///
    /// Example: eval "$(wif env)"
    Env(EnvArgs),
}

/// `wif up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// A topology file declaring tenants, regions, clusters, identities and credentials.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Host name clients use; it goes into every URL and issuer wif creates.
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// More names for the TLS certificate.
    #[arg(long = "extra-host")]
    pub extra_hosts: Vec<String>,
    /// Write the server summary (JSON) to this file once ready.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Lifetime of issued access tokens.
    #[arg(long, default_value = "24h")]
    pub token_lifetime: String,
    /// Extra CA certificates (PEM) to trust when fetching the keys of external issuers.
    #[arg(long = "trust-ca")]
    pub trust_ca: Vec<PathBuf>,
}

/// `wif token`
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Cluster name.
    #[arg(long)]
    pub cluster: String,
    /// Namespace of the service account.
    #[arg(long, short = 'n')]
    pub namespace: String,
    /// Service account name.
    #[arg(long)]
    pub service_account: String,
    /// Audience (repeat for several).
    #[arg(long = "audience", default_value = "api://AzureADTokenExchange")]
    pub audiences: Vec<String>,
    /// Token lifetime (10m to 48h).
    #[arg(long, default_value = "1h")]
    pub expiration: String,
    /// Move iat/nbf this far into the past (to rehearse expiry: --backdate 2h --expiration 1h).
    #[arg(long, default_value = "0s")]
    pub backdate: String,
    /// Bind the token to a pod of this name (a uid is generated).
    #[arg(long)]
    pub pod: Option<String>,
    /// Write the token to this file (atomically, 0600, no trailing newline) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `wif keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; the old one stays published until its tokens have expired.
    ///
    /// Example: wif keys rotate --tenant contoso.onmicrosoft.com
    Rotate(RotateArgs),
    /// List signing keys.
    ///
    /// Example: wif keys list -o table
    List(OutputArgs),
}

/// `wif keys rotate`
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RotateArgs {
    /// Rotate this cluster issuer's key.
    #[arg(long, group = "owner")]
    pub cluster: Option<String>,
    /// Rotate this tenant's token-signing key (id or domain).
    #[arg(long, group = "owner")]
    pub tenant: Option<String>,
}

/// `wif signins …`
#[derive(Debug, Subcommand)]
pub enum SigninsCommand {
    /// List sign-ins, newest first.
    ///
    /// Example: wif signins list --identity id-workload --since 1h -o table
    List(SigninsListArgs),
}

/// `wif signins list`
#[derive(Debug, Args)]
pub struct SigninsListArgs {
    /// Only failed requests.
    #[arg(long)]
    pub failed: bool,
    /// Only this identity (client id or name).
    #[arg(long)]
    pub identity: Option<String>,
    /// Only this recent (for example 10m, 2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub top: usize,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif ca …`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the path of the CA certificate (PEM) clients must trust.
    Path,
}

/// `wif env`
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Tenant to put in AZURE_TENANT_ID (id, domain or name); the first tenant by default.
    #[arg(long)]
    pub tenant: Option<String>,
}
