//! Encryption at rest for signing keys (ARCHITECTURE §3, "Keys"). Private keys are sealed
//! with AES-256-GCM under a key-encryption key (KEK) that lives in a file of its own, outside
//! the database, so a copy of the database (a backup, a replica) cannot sign tokens.
//!
//! Sealed format, version 1: `0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)`. The
//! associated data binds a ciphertext to its row (callers pass the kid), so a sealed key moved
//! to another row does not open. Nonces are random: a KEK seals a handful of keys in its life,
//! far below the 2^32 messages where random 96-bit nonces start to risk a collision.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Length of a key-encryption key in bytes (AES-256).
pub const KEK_LEN: usize = 32;

/// The version byte that starts every sealed value.
const SEALED_VERSION: u8 = 1;

/// Length of the AES-GCM authentication tag.
const TAG_LEN: usize = 16;

/// Why a key file could not be used, or a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The file could not be read or written.
    #[error("cannot use key file {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The path exists but is not a regular file.
    #[error("key file {} is not a regular file", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file grants permissions to the group or to other users.
    #[error(
        "key file {} is accessible to other users (mode {mode:04o}); run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold exactly 32 bytes.
    #[error(
        "key file {} holds {len} bytes, but a key-encryption key is exactly 32; restore the \
         original file (keys sealed with another key cannot be opened)",
        .path.display()
    )]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Sealing failed.
    #[error("sealing failed")]
    Seal,
    /// A sealed value did not open: another KEK sealed it, it belongs to another row, or it
    /// was altered.
    #[error(
        "sealed data does not open with this key-encryption key (wrong key, wrong row or altered)"
    )]
    Open,
    /// A sealed value of an unknown format version.
    #[error("sealed data has unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// A sealed value too short to hold a nonce and a tag.
    #[error("sealed data is truncated ({0} bytes)")]
    Truncated(usize),
}

/// The key-encryption key: 32 random bytes. Its `Debug` never shows them.
pub struct KeyEncryptionKey {
    bytes: [u8; KEK_LEN],
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

impl KeyEncryptionKey {
    /// Loads the KEK from `path`, or creates it if the file is absent. A new file gets mode
    /// 0600 and appears atomically (written under a temporary name, then linked into place
    /// without replacing a file another process created meanwhile). Refuses a file that grants
    /// any group or other permission, naming the fix (`chmod 600 <path>`), and a file whose
    /// length is not 32 bytes.
    pub fn load_or_create(path: &Path) -> Result<Self, KekError> {
        match fs::metadata(path) {
            Ok(_) => Self::load(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path),
            Err(source) => Err(KekError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// A KEK from its bytes (tests, or production keys supplied from the environment).
    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Self {
        Self { bytes }
    }

    /// Seals `plaintext` with AES-256-GCM and a fresh random nonce. `aad` binds the result to
    /// its row: [`KeyEncryptionKey::open`] must be given the same bytes.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KekError::Random)?;
        let mut in_out = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| KekError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens a value made by [`KeyEncryptionKey::seal`]. A wrong key, wrong `aad` or any
    /// altered byte is an error, never a panic.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(KekError::Truncated(0));
        };
        if version != SEALED_VERSION {
            return Err(KekError::UnsupportedVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(KekError::Truncated(sealed.len()));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Open)?;
        let mut in_out = ciphertext.to_vec();
        let plain_len = self
            .key()?
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| KekError::Open)?
            .len();
        in_out.truncate(plain_len);
        Ok(in_out)
    }

    fn key(&self) -> Result<LessSafeKey, KekError> {
        // A 32-byte key always suits AES-256-GCM; map the impossible failure rather than panic.
        UnboundKey::new(&AES_256_GCM, &self.bytes)
            .map(LessSafeKey::new)
            .map_err(|_| KekError::Seal)
    }

    fn load(path: &Path) -> Result<Self, KekError> {
        check_private_file(path)?;
        let io_err = |source| KekError::Io {
            path: path.to_owned(),
            source,
        };
        let file = fs::File::open(path).map_err(io_err)?;
        // Read one byte past the expected length so an over-long file is noticed.
        let mut buf = Vec::with_capacity(KEK_LEN + 1);
        Read::take(&file, u64::try_from(KEK_LEN + 1).unwrap_or(u64::MAX))
            .read_to_end(&mut buf)
            .map_err(io_err)?;
        let bytes: [u8; KEK_LEN] = buf.as_slice().try_into().map_err(|_| {
            let len = file
                .metadata()
                .map(|m| m.len())
                .unwrap_or(u64::try_from(buf.len()).unwrap_or(u64::MAX));
            KekError::WrongLength {
                path: path.to_owned(),
                len,
            }
        })?;
        Ok(Self { bytes })
    }

    fn create(path: &Path) -> Result<Self, KekError> {
        let io_err = |source| KekError::Io {
            path: path.to_owned(),
            source,
        };
        let mut bytes = [0u8; KEK_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KekError::Random)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir).map_err(io_err)?;
        let mut suffix = [0u8; 8];
        aws_lc_rs::rand::fill(&mut suffix).map_err(|_| KekError::Random)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kek".to_owned());
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{name}.{suffix}.tmp"));

        let written = write_private(&tmp, &bytes);
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(KekError::Io { path: tmp, source });
        }
        // A hard link publishes the file without replacing one that another process created
        // since we looked; the loser then uses the winner's key, so both seal with the same KEK.
        let linked = fs::hard_link(&tmp, path);
        let outcome = match linked {
            Ok(()) => Ok(Self { bytes }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(path),
            // Some file systems have no hard links; fall back to a plain rename.
            Err(_) => fs::rename(&tmp, path)
                .map(|()| Self { bytes })
                .map_err(io_err),
        };
        let _ = fs::remove_file(&tmp);
        if outcome.is_ok() {
            // Make the new directory entry durable; failure here only risks losing a key that
            // nothing has used yet, so it is not an error.
            if let Ok(d) = fs::File::open(&dir) {
                let _ = d.sync_all();
            }
        }
        outcome
    }
}

/// Writes `bytes` to a new file at `path` with mode 0600 and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Checks that `path` is a regular file with no group or other permission bits, as a file
/// holding a private key must be (the KEK here, TLS keys in the server).
pub fn check_private_file(path: &Path) -> Result<(), KekError> {
    let meta = fs::metadata(path).map_err(|source| KekError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_file() {
        return Err(KekError::NotAFile {
            path: path.to_owned(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KekError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes([byte; KEK_LEN])
    }

    #[test]
    fn seal_open_round_trip() {
        let k = kek(1);
        let sealed = k.seal(b"private key", b"kid-1").unwrap();
        assert_eq!(sealed.first(), Some(&SEALED_VERSION));
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 11 + TAG_LEN);
        assert_eq!(k.open(&sealed, b"kid-1").unwrap(), b"private key");
        // A fresh nonce each time: the same plaintext seals differently.
        assert_ne!(k.seal(b"private key", b"kid-1").unwrap(), sealed);
        assert_eq!(k.open(&k.seal(b"", b"").unwrap(), b"").unwrap(), b"");
    }

    #[test]
    fn open_rejects_wrong_key_aad_and_tampering() {
        let k = kek(1);
        let sealed = k.seal(b"private key", b"kid-1").unwrap();
        assert!(matches!(
            kek(2).open(&sealed, b"kid-1"),
            Err(KekError::Open)
        ));
        assert!(matches!(k.open(&sealed, b"kid-2"), Err(KekError::Open)));
        for i in 1..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(k.open(&bad, b"kid-1"), Err(KekError::Open)),
                "byte {i}"
            );
        }
        let mut bad = sealed.clone();
        bad[0] = 9;
        assert!(matches!(
            k.open(&bad, b"kid-1"),
            Err(KekError::UnsupportedVersion(9))
        ));
        for len in 0..(1 + NONCE_LEN + TAG_LEN) {
            assert!(k.open(&sealed[..len], b"kid-1").is_err(), "len {len}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", kek(7)), "KeyEncryptionKey(<redacted>)");
    }

    #[test]
    fn created_file_has_mode_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("kek.bin");
        let created = KeyEncryptionKey::load_or_create(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let sealed = created.seal(b"x", b"a").unwrap();
        let loaded = KeyEncryptionKey::load_or_create(&path).unwrap();
        assert_eq!(loaded.open(&sealed, b"a").unwrap(), b"x");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn refuses_group_or_world_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        fs::write(&path, [0u8; 32]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyEncryptionKey::load_or_create(&path).unwrap_err();
        assert!(matches!(
            err,
            KekError::InsecurePermissions { mode: 0o644, .. }
        ));
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(check_private_file(&path).is_err());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(KeyEncryptionKey::load_or_create(&path).is_ok());
    }

    #[test]
    fn refuses_file_of_wrong_length() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 31, 33, 64] {
            let path = dir.path().join(format!("kek-{len}"));
            fs::write(&path, vec![1u8; len]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            match KeyEncryptionKey::load_or_create(&path) {
                Err(KekError::WrongLength { len: got, .. }) => {
                    assert_eq!(got, u64::try_from(len).unwrap())
                }
                other => panic!("{len}: {other:?}"),
            }
        }
    }

    #[test]
    fn check_private_file_rejects_missing_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_private_file(&dir.path().join("absent")),
            Err(KekError::Io { .. })
        ));
        assert!(matches!(
            check_private_file(dir.path()),
            Err(KekError::NotAFile { .. })
        ));
    }
}
