//! The local certificate authority. The Azure SDKs refuse a non-https authority and a
//! non-https vault, and rustls/webpki refuse a CA certificate used as a server leaf
//! (`../shared/spec/sdk-wire.md` §5.4), so wif makes a CA once per data directory and signs a
//! fresh leaf for the served host names at every start. Users trust the CA through each SDK's
//! own knob (`wif env` prints them). Private keys are written 0600 and refused when group- or
//! world-readable.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use wif_core::UnixTime;

/// A failure to create, load or use the local CA.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A private key file is readable by group or others.
    #[error(
        "refusing to use {path}: it is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    KeyFileTooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// rcgen could not build or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A PEM file did not contain what was expected.
    #[error("{path} does not contain a valid {what}")]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
}

/// Paths of the CA and the server leaf inside a data directory.
#[derive(Clone, Debug)]
pub struct PkiPaths {
    /// CA certificate (PEM), what clients trust.
    pub ca_cert: PathBuf,
    /// CA private key (PEM, 0600).
    pub ca_key: PathBuf,
    /// Server leaf certificate chain (PEM: leaf then CA).
    pub server_cert: PathBuf,
    /// Server leaf private key (PEM, 0600).
    pub server_key: PathBuf,
}

impl PkiPaths {
    /// The standard layout under `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            ca_cert: data_dir.join("ca").join("ca.pem"),
            ca_key: data_dir.join("ca").join("ca.key"),
            server_cert: data_dir.join("tls").join("server.pem"),
            server_key: data_dir.join("tls").join("server.key"),
        }
    }
}

/// The server certificate and key, ready for rustls.
#[derive(Debug)]
pub struct ServerIdentity {
    /// Leaf first, then the CA.
    pub chain_pem: String,
    /// The leaf's private key (PKCS#8 PEM).
    pub key_pem: String,
}

const CA_COMMON_NAME: &str = "wif local CA";

fn ca_params(now: UnixTime) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, "wif");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = to_offset(now.minus_secs(3600));
    params.not_after = to_offset(now.plus_secs(10 * 365 * 86_400));
    Ok(params)
}

fn to_offset(t: UnixTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.as_secs())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Loads the CA from `paths`, creating it on first use, then signs a new leaf for `hosts`
/// (DNS names or IP addresses) and writes it. Returns the leaf for the TLS listener.
pub fn ensure(
    paths: &PkiPaths,
    hosts: &[String],
    now: UnixTime,
) -> Result<ServerIdentity, PkiError> {
    let ca_key = if paths.ca_key.exists() {
        check_private_file(&paths.ca_key)?;
        let pem = read(&paths.ca_key)?;
        KeyPair::from_pem(&pem).map_err(|_| PkiError::BadPem {
            path: paths.ca_key.clone(),
            what: "private key",
        })?
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params(now)?.self_signed(&key)?;
        write_private(&paths.ca_key, key.serialize_pem().as_bytes())?;
        write_public(&paths.ca_cert, cert.pem().as_bytes())?;
        key
    };
    if !paths.ca_cert.exists() {
        // The key survived but the certificate was removed: issue a new CA certificate for it.
        let cert = ca_params(now)?.self_signed(&ca_key)?;
        write_public(&paths.ca_cert, cert.pem().as_bytes())?;
    }
    let ca_pem = read(&paths.ca_cert)?;
    // Re-creating the issuer from the same name and key yields the same issuer DN and
    // authority key id as the stored CA certificate, so no certificate parser is needed.
    let issuer = Issuer::new(ca_params(now)?, &ca_key);

    let ServerIdentity { chain_pem, key_pem } = issue_leaf(hosts, now, &issuer, &ca_pem)?;
    write_private(&paths.server_key, key_pem.as_bytes())?;
    write_public(&paths.server_cert, chain_pem.as_bytes())?;
    Ok(ServerIdentity { chain_pem, key_pem })
}

/// A serving certificate for `hosts` (the first is the common name), signed by `issuer`, valid
/// from an hour ago for 397 days; the chain is the leaf then `ca_pem`.
fn issue_leaf(
    hosts: &[String],
    now: UnixTime,
    issuer: &Issuer<'_, &KeyPair>,
    ca_pem: &str,
) -> Result<ServerIdentity, PkiError> {
    let mut leaf = CertificateParams::new(hosts.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        hosts.first().map(String::as_str).unwrap_or("localhost"),
    );
    leaf.distinguished_name = dn;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = to_offset(now.minus_secs(3600));
    leaf.not_after = to_offset(now.plus_secs(397 * 86_400));
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, issuer)?;
    Ok(ServerIdentity {
        chain_pem: format!("{}{}", leaf_cert.pem(), ca_pem),
        key_pem: leaf_key.serialize_pem(),
    })
}

/// A new CA (kept nowhere) and a serving certificate for `hosts` signed by it: the CA's PEM
/// and the leaf, for `wif install webhook --certs self-signed`.
pub fn ephemeral_ca_and_leaf(
    hosts: &[String],
    now: UnixTime,
) -> Result<(String, ServerIdentity), PkiError> {
    let ca_key = KeyPair::generate()?;
    let ca_pem = ca_params(now)?.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca_params(now)?, &ca_key);
    let leaf = issue_leaf(hosts, now, &issuer, &ca_pem)?;
    Ok((ca_pem, leaf))
}

/// Loads a user-supplied certificate chain and key (for example from cert-manager), refusing
/// a key file that other users can read.
pub fn load_files(cert: &Path, key: &Path) -> Result<ServerIdentity, PkiError> {
    check_private_file(key)?;
    Ok(ServerIdentity {
        chain_pem: read(cert)?,
        key_pem: read(key)?,
    })
}

/// Refuses a private key file whose mode grants any permission to group or others.
pub fn check_private_file(path: &Path) -> Result<(), PkiError> {
    let meta = fs::metadata(path).map_err(|source| PkiError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PkiError::KeyFileTooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_atomic(path, bytes, 0o644)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_atomic(path, bytes, 0o600)
}

/// Writes `bytes` to a temporary file created with `mode`, then renames it over `path`, so a
/// reader never sees a partial file and a key is never briefly world-readable.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PkiError> {
    let io = |action, source| PkiError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| io("creating", e))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| io("setting permissions on", e))?;
    f.write_all(bytes).map_err(|e| io("writing", e))?;
    f.sync_all().map_err(|e| io("syncing", e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io("replacing", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_ca_once_and_reissues_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::in_data_dir(dir.path());
        let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let now = UnixTime::from_secs(1_800_000_000);
        let a = ensure(&paths, &hosts, now).unwrap();
        let ca1 = fs::read_to_string(&paths.ca_cert).unwrap();
        let b = ensure(&paths, &hosts, now).unwrap();
        let ca2 = fs::read_to_string(&paths.ca_cert).unwrap();
        assert_eq!(ca1, ca2, "the CA survives restarts");
        assert_ne!(a.key_pem, b.key_pem, "each start signs a fresh leaf");
        for key in [&paths.ca_key, &paths.server_key] {
            let mode = fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
    }

    #[test]
    fn refuses_world_readable_key() {
        let dir = tempfile::tempdir().unwrap();
        let paths = PkiPaths::in_data_dir(dir.path());
        let now = UnixTime::from_secs(1_800_000_000);
        ensure(&paths, &["localhost".to_owned()], now).unwrap();
        fs::set_permissions(&paths.ca_key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ensure(&paths, &["localhost".to_owned()], now).unwrap_err();
        assert!(matches!(err, PkiError::KeyFileTooOpen { .. }), "{err}");
        assert!(err.to_string().contains("chmod 600"));
    }
}
