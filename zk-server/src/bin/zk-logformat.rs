//! `zk-logformat`: prints Apache ZooKeeper / zk-server transaction logs and snapshots readably,
//! as Apache ZooKeeper's `LogFormatter` and `SnapshotFormatter` do. It never modifies a file.
//!
//! ```text
//! zk-logformat log <version-2/log.N>
//! zk-logformat snapshot [-d] <version-2/snapshot.N>     (-d: print node data too)
//! zk-logformat recover <dataDir> [<dataLogDir>]         (what start-up recovery would load)
//! ```

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zk_server::persist::{
    dump_log, dump_snapshot, list, read_snapshot, scan_log_file, DataDirs, LogEnd, LOG_PREFIX,
    SNAPSHOT_PREFIX,
};

/// Prints Apache ZooKeeper / zk-server transaction logs and snapshots readably (as Apache
/// ZooKeeper's LogFormatter and SnapshotFormatter do). Never modifies a file.
#[derive(Debug, Parser)]
#[command(name = "zk-logformat", version)]
struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Prints every transaction of a log file (`version-2/log.N`).
    Log {
        /// The log file.
        file: PathBuf,
    },
    /// Prints a snapshot file (`version-2/snapshot.N`): sessions, ACLs and nodes.
    Snapshot {
        /// Print each node's data too.
        #[arg(short = 'd', long = "data")]
        data: bool,
        /// The snapshot file.
        file: PathBuf,
    },
    /// Lists every snapshot and log file with what a read-only check finds in it: what
    /// start-up recovery would load.
    Recover {
        /// The data directory (`dataDir`).
        data_dir: PathBuf,
        /// The transaction log directory (`dataLogDir`), when it is not the data directory.
        data_log_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let result = match Args::parse().what {
        What::Log { file } => dump_log(&file).map(|s| print!("{s}")),
        What::Snapshot { data, file } => dump_snapshot(&file, data).map(|s| print!("{s}")),
        What::Recover {
            data_dir,
            data_log_dir,
        } => summary(&DataDirs::new(&data_dir, data_log_dir.as_deref())),
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
