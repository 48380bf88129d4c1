//! The config on disk after a reconfig, as Apache ZooKeeper writes it
//! (`QuorumPeer.setQuorumVerifier(qv, true)`): the members go to `<static file>.dynamic.<hex
//! version>` (`QuorumPeerConfig.writeDynamicConfig`: the QV text's lines without `version`,
//! sorted, joined by newlines), and the static file loses its member lines and points at that
//! file (`editStaticConfig`). A member restarted after a reconfig starts from the new config.
//!
//! One difference: Apache rewrites the static file from a `Properties` (its comments gone, its
//! keys in hash order); here its other lines stay as they were, in place.

use std::path::Path;

use super::verifier::QuorumVerifier;

/// The dynamic file's name for `version` next to the static file `config_file`.
pub fn file_name(config_file: &str, version: i64) -> String {
    format!("{config_file}.dynamic.{:x}", version as u64)
}

/// The dynamic file's text: every member line of `qv`, sorted, no version line.
pub fn dynamic_text(qv: &QuorumVerifier) -> String {
    let mut lines: Vec<String> = qv
        .to_qv_text()
        .lines()
        .filter(|l| !l.trim_start().starts_with("version"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines.join("\n")
}

/// The static file's text once it points at `dynamic`: member, `group`, `weight`, `peerType`
/// and `dynamicConfigFile` lines dropped (and `clientPort`/`clientPortAddress` when the new
/// config names this member's client address), `dynamicConfigFile=<dynamic>` appended.
pub fn edited_static_text(text: &str, dynamic: &str, erase_client_port: bool) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split(['=', ':']).next().unwrap_or("").trim();
        let drop = [
            "server.",
            "group",
            "weight",
            "dynamicConfigFile",
            "peerType",
        ]
        .iter()
        .any(|p| key.starts_with(p))
            || (erase_client_port && key.starts_with("clientPort"));
        if !drop {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("dynamicConfigFile={dynamic}\n"));
    out
}

/// Writes `qv` as the active config of member `my_id` whose static file is `config_file`.
///
/// # Errors
/// The files cannot be read or written.
pub fn write(config_file: &str, qv: &QuorumVerifier, my_id: i64) -> std::io::Result<()> {
    let static_path = Path::new(config_file);
    let dynamic = file_name(config_file, qv.version());
    atomic_write(Path::new(&dynamic), &dynamic_text(qv))?;
    let dynamic_abs = std::fs::canonicalize(&dynamic)?;
    let text = std::fs::read_to_string(static_path)?;
    let erase = qv
        .member(my_id)
        .is_some_and(|m| m.client_addr.is_some() && !m.client_addr_from_static);
    let edited = edited_static_text(&text, &dynamic_abs.to_string_lossy(), erase);
    atomic_write(static_path, &edited)?;
    tracing::info!(file = %dynamic, version = qv.version(), "wrote the new dynamic config");
    Ok(())
}

/// Writes `path` through a temporary file and a rename (`AtomicFileWritingIdiom`).
fn atomic_write(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-zk");
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_text_is_sorted_without_version() {
        let qv = QuorumVerifier::parse_qv_text(
            "server.2=127.0.0.1:2002:3002:participant;0.0.0.0:4002\n\
             server.10=127.0.0.1:2010:3010:observer;0.0.0.0:4010\n\
             server.1=127.0.0.1:2001:3001:participant;0.0.0.0:4001\nversion=100000003",
            false,
        )
        .unwrap();
        // Java's String order: "server.10=" sorts before "server.1=" ('0' < '=').
        assert_eq!(
            dynamic_text(&qv),
            "server.10=127.0.0.1:2010:3010:observer;0.0.0.0:4010\n\
             server.1=127.0.0.1:2001:3001:participant;0.0.0.0:4001\n\
             server.2=127.0.0.1:2002:3002:participant;0.0.0.0:4002"
        );
        assert_eq!(
            file_name("/d/zoo.cfg", 0x1_0000_0003),
            "/d/zoo.cfg.dynamic.100000003"
        );
    }

    #[test]
    fn the_static_file_loses_its_members_and_points_at_the_dynamic_file() {
        let text = "tickTime=2000\nserver.1=a:1:2\nclientPort=2181\ndataDir=/d\nserver.2=b:1:2\n";
        assert_eq!(
            edited_static_text(text, "/d/zoo.cfg.dynamic.5", false),
            "tickTime=2000\nclientPort=2181\ndataDir=/d\ndynamicConfigFile=/d/zoo.cfg.dynamic.5\n"
        );
        assert_eq!(
            edited_static_text(text, "/x", true),
            "tickTime=2000\ndataDir=/d\ndynamicConfigFile=/x\n"
        );
    }
}
