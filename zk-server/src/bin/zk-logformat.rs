//! `zk-logformat`: prints Apache ZooKeeper / zk-server transaction logs and snapshots readably,
//! as Apache ZooKeeper's `LogFormatter` and `SnapshotFormatter` do. It never modifies a file.
//!
//! ```text
//! zk-logformat log <version-2/log.N>
//! zk-logformat snapshot [-d] <version-2/snapshot.N>     (-d: print node data too)
//! zk-logformat recover <dataDir> [<dataLogDir>]         (what start-up recovery would load)
//! ```

#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

use zk_server::persist::{
    dump_log, dump_snapshot, list, read_snapshot, scan_log_file, DataDirs, LogEnd, LOG_PREFIX,
    SNAPSHOT_PREFIX,
};

const USAGE: &str =
    "usage: zk-logformat log <file> | snapshot [-d] <file> | recover <dataDir> [<dataLogDir>]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match argv.as_slice() {
        ["log", file] => dump_log(Path::new(file)).map(|s| print!("{s}")),
        ["snapshot", file] => dump_snapshot(Path::new(file), false).map(|s| print!("{s}")),
        ["snapshot", "-d", file] => dump_snapshot(Path::new(file), true).map(|s| print!("{s}")),
        ["recover", data] => summary(&DataDirs::new(Path::new(data), None)),
        ["recover", data, log] => summary(&DataDirs::new(Path::new(data), Some(Path::new(log)))),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zk-logformat: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Lists every snapshot and log file with what a read-only check finds in it.
fn summary(dirs: &DataDirs) -> zk_server::persist::Result<()> {
    println!("snapshots in {}:", dirs.snap_dir.display());
    for (_, p) in list(&dirs.snap_dir, SNAPSHOT_PREFIX)? {
        match read_snapshot(&p) {
            Ok(s) => println!(
                "  {}: {} nodes, {} sessions, {} ACL lists",
                p.display(),
                s.nodes.len(),
                s.sessions.len(),
                s.acls.len()
            ),
            Err(e) => println!("  {}: UNREADABLE: {e}", p.display()),
        }
    }
    println!("logs in {}:", dirs.log_dir.display());
    for (_, p) in list(&dirs.log_dir, LOG_PREFIX)? {
        match scan_log_file(&p) {
            Ok(s) => {
                let range = match (s.entries.first(), s.entries.last()) {
                    (Some(a), Some(b)) => {
                        format!("zxid {} to {}", a.1.header.zxid, b.1.header.zxid)
                    }
                    _ => "empty".into(),
                };
                let end = match s.end {
                    LogEnd::Clean { offset } => format!("ends cleanly at byte {offset}"),
                    LogEnd::Torn { offset, reason } => format!("TORN at byte {offset}: {reason}"),
                };
                println!(
                    "  {}: {} txns, {range}, {end}",
                    p.display(),
                    s.entries.len()
                );
            }
            Err(e) => println!("  {}: CORRUPT: {e}", p.display()),
        }
    }
    Ok(())
}
