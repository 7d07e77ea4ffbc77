//! The data directory (`./.wif` or `WIF_DATA_DIR`): the SQLite store, the key-encryption key,
//! the local CA and TLS files, and `server.json`, which a running server writes so other
//! commands (`wif env`) know where it listens.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Paths inside one data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory (not created yet).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Creates the directory, private to the user (0700).
    pub fn create(&self) -> std::io::Result<()> {
        fs::create_dir_all(&self.root)?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("wif.db")
    }

    /// The key-encryption key (0600).
    pub fn kek(&self) -> PathBuf {
        self.root.join("keys").join("kek")
    }

    /// What a running server wrote about itself.
    pub fn server_info(&self) -> PathBuf {
        self.root.join("server.json")
    }

    /// Reads `server.json`, if a server has run here.
    pub fn read_server_info(&self) -> Option<ServerInfo> {
        let text = fs::read_to_string(self.server_info()).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// What `wif up` publishes about itself (also the `--ready-file` content).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `https://localhost:8443`
    pub authority: String,
    /// The port it listens on.
    pub port: u16,
    /// The CA certificate clients must trust.
    pub ca_path: PathBuf,
    /// Tenants.
    pub tenants: Vec<TenantInfo>,
    /// Clusters and their issuers.
    pub clusters: Vec<ClusterInfo>,
    /// Managed identities.
    pub identities: Vec<IdentityInfo>,
    /// Whether wif also answers as login.microsoftonline.com and `<vault>.vault.azure.net`.
    #[serde(default)]
    pub azure_names: bool,
    /// Where the Azure names are served (`127.0.0.1:443`).
    #[serde(default)]
    pub azure_address: Option<String>,
    /// Vault URLs, by vault name.
    #[serde(default)]
    pub vaults: Vec<VaultInfo>,
}

/// A vault in [`ServerInfo`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VaultInfo {
    /// Name.
    pub name: String,
    /// The vault URL with local names.
    pub url: String,
    /// The vault URL with Azure names, when they are served.
    #[serde(default)]
    pub azure_url: Option<String>,
}

/// A tenant in [`ServerInfo`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantInfo {
    /// Display name.
    pub name: String,
    /// Tenant id.
    pub id: String,
    /// Domain.
    pub domain: String,
}

/// A cluster in [`ServerInfo`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Issuer URL.
    pub issuer: String,
}

/// An identity in [`ServerInfo`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdentityInfo {
    /// Name.
    pub name: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client id.
    pub client_id: String,
    /// Principal id.
    pub principal_id: String,
    /// ARM resource id.
    pub resource_id: String,
}
