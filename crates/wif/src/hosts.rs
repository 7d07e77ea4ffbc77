//! `wif hosts`: the hosts-file entries for every name wif serves, as a clearly marked block that
//! `--apply` writes into the hosts file (replacing this data directory's earlier block in place)
//! and `--remove` takes out again, leaving every other line as it was.

use std::path::Path;

use crate::cli::HostsArgs;
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};

fn begin_marker(tag: &str) -> String {
    format!("# BEGIN wif {tag}")
}

fn end_marker(tag: &str) -> String {
    format!("# END wif {tag}")
}

/// The block for `entries` (address, name), marked with `tag` (the data directory).
pub fn block(tag: &str, entries: &[(String, String)]) -> String {
    let mut out = begin_marker(tag);
    out.push('\n');
    out.push_str(&format!(
        "# Names served by wif; remove with `wif --data-dir {tag} hosts --remove`.\n"
    ));
    for (addr, name) in entries {
        out.push_str(&format!("{addr} {name}\n"));
    }
    out.push_str(&end_marker(tag));
    out.push('\n');
    out
}

/// `text` with the block for `tag` replaced by `new` (or removed when `None`); a new block is
/// appended at the end. Other lines are kept byte for byte. A block whose end marker is missing
/// is an error rather than a reason to drop the rest of the file.
pub fn splice(text: &str, tag: &str, new: Option<&str>) -> Result<String, String> {
    let begin = begin_marker(tag);
    let end = end_marker(tag);
    let mut out = String::with_capacity(text.len() + new.map_or(0, str::len));
    let mut inside = false;
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if !inside && bare == begin {
            inside = true;
            continue;
        }
        if inside {
            if bare == end {
                inside = false;
                if let Some(new) = new
                    && !replaced
                {
                    out.push_str(new);
                    replaced = true;
                }
            }
            continue;
        }
        out.push_str(line);
    }
    if inside {
        return Err(format!(
            "the hosts file has '{begin}' without '{end}'; fix the file by hand (nothing was changed)"
        ));
    }
    if let Some(new) = new
        && !replaced
    {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(new);
    }
    Ok(out)
}

/// Writes `text` to `path`: a temporary file renamed over it (keeping its mode), or, where
/// rename is refused (a bind-mounted /etc/hosts in a container), a rewrite in place.
fn write_hosts(path: &Path, text: &str) -> CliResult {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let tmp = path.with_file_name(format!(
        ".{}.wif-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "hosts".into())
    ));
    let renamed = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
        std::fs::write(path, text)
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// `wif hosts [--apply|--remove]`
pub async fn hosts(data: &DataDir, args: HostsArgs) -> CliResult {
    let root = std::fs::canonicalize(data.root()).unwrap_or_else(|_| data.root().to_owned());
    let tag = root.display().to_string();
    let file = &args.file;
    if args.remove {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(CliError::msg(format!(
                    "cannot read {}: {e}",
                    file.display()
                )));
            }
        };
        let out = splice(&text, &tag, None).map_err(CliError::msg)?;
        if out != text {
            write_hosts(file, &out)?;
        }
        return Ok(());
    }
    let (store, _) = crate::up::open_store(data).await?;
    let dir = store.load_directory().await?;
    let info = data.read_server_info();
    let azure = args.azure_names || info.as_ref().is_some_and(|i| i.azure_names);
    let local_addr = args
        .address
        .clone()
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let azure_addr = args.address.clone().unwrap_or_else(|| {
        info.as_ref()
            .and_then(|i| i.azure_address.as_deref())
            .and_then(|a| {
                a.rsplit_once(':')
                    .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
            })
            .unwrap_or_else(|| "127.0.0.1".to_owned())
    });
    let mut entries: Vec<(String, String)> = dir
        .vaults
        .iter()
        .map(|v| (local_addr.clone(), format!("{}.vault.localhost", v.name)))
        .collect();
    if azure {
        entries.push((azure_addr.clone(), "login.microsoftonline.com".into()));
        entries.push((azure_addr.clone(), "login.windows.net".into()));
        for v in &dir.vaults {
            entries.push((azure_addr.clone(), format!("{}.vault.azure.net", v.name)));
        }
    }
    let new = block(&tag, &entries);
    if !args.apply {
        print!("{new}");
        return Ok(());
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CliError::msg(format!(
                "cannot read {}: {e}",
                file.display()
            )));
        }
    };
    let out = splice(&text, &tag, Some(&new)).map_err(CliError::msg)?;
    if out != text {
        write_hosts(file, &out)?;
    }
    eprintln!(
        "{} names in {} (remove with `wif hosts --remove`)",
        entries.len(),
        file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<(String, String)> {
        vec![("127.0.0.1".into(), "kv.vault.localhost".into())]
    }

    #[test]
    fn apply_appends_then_replaces_in_place() {
        let base = "127.0.0.1 localhost\n::1 localhost\n";
        let b = block("/d", &entries());
        let once = splice(base, "/d", Some(&b)).unwrap();
        assert!(once.starts_with(base));
        assert!(once.contains("127.0.0.1 kv.vault.localhost\n"));
        assert_eq!(splice(&once, "/d", Some(&b)).unwrap(), once, "idempotent");
        let other = block("/d", &[("127.0.0.1".into(), "x.vault.localhost".into())]);
        let twice = splice(&format!("{once}10.0.0.1 after\n"), "/d", Some(&other)).unwrap();
        assert!(twice.contains("x.vault.localhost") && !twice.contains("kv.vault.localhost"));
        assert!(
            twice.ends_with("10.0.0.1 after\n"),
            "the block stays where it was: {twice}"
        );
        assert_eq!(
            splice(&twice, "/d", None).unwrap(),
            format!("{base}10.0.0.1 after\n")
        );
    }

    #[test]
    fn other_blocks_crlf_and_missing_newline() {
        let mine = block("/d", &entries());
        let theirs = block("/other", &entries());
        let text = format!("a\r\nb{}", "");
        let out = splice(&text, "/d", Some(&mine)).unwrap();
        assert!(out.starts_with("a\r\nb\n"), "{out:?}");
        let with_other = format!("{theirs}{out}");
        let removed = splice(&with_other, "/d", None).unwrap();
        assert_eq!(removed, format!("{theirs}a\r\nb\n"));
        let crlf = mine.replace('\n', "\r\n");
        assert_eq!(
            splice(&format!("x\r\n{crlf}"), "/d", None).unwrap(),
            "x\r\n"
        );
    }

    #[test]
    fn a_truncated_block_is_an_error() {
        let text = "a\n# BEGIN wif /d\n1.2.3.4 x\n";
        assert!(splice(text, "/d", None).unwrap_err().contains("without"));
        assert!(splice("", "/d", None).unwrap().is_empty());
    }
}
