//! `zk-server [--log-format text|json] [zoo.cfg]`: a standalone ZooKeeper-compatible server.
//!
//! With no zoo.cfg it serves 127.0.0.1:2181 with data in `/tmp/zk-server`. Logs go to stderr
//! through tracing (`RUST_LOG` filters): text, coloured only when stderr is a terminal, or
//! JSON lines with `--log-format json` (or `ZK_LOG_FORMAT=json`) for log shippers. Once it
//! listens it logs `zk-server serving` with the address it bound (`clientPort=0` binds an
//! ephemeral port, which that line reports). SIGINT and SIGTERM shut it down cleanly.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::Parser;
use zk_server::logging::{self, LogFormat, LOG_FORMAT_ENV};
use zk_server::{Server, ServerConfig};

/// A standalone ZooKeeper-compatible server: Apache ZooKeeper 3.8's protocol and files.
#[derive(Debug, Parser)]
#[command(name = "zk-server", version)]
struct Args {
    /// The zoo.cfg to read (Java-system-property overrides come from the environment). Without
    /// one: 127.0.0.1:2181, data in /tmp/zk-server.
    #[arg(value_name = "ZOO_CFG")]
    config: Option<PathBuf>,
    /// How log lines are written to stderr: `text` (coloured only on a terminal) or `json`
    /// (one object per line).
    #[arg(long, value_name = "FORMAT", env = LOG_FORMAT_ENV, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    logging::init(args.log_format, "info");
    let cfg = match &args.config {
        Some(p) => ServerConfig::from_file(p)?,
        None => {
            let mut cfg = ServerConfig::default();
            cfg.apply_env(std::env::vars());
            cfg
        }
    };
    std::fs::create_dir_all(&cfg.data_dir)?;
    // The handlers are in place before the server serves: a signal sent as soon as it
    // answers still shuts it down cleanly.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let server = Server::start(cfg).await?;
    let failed = tokio::select! {
        _ = int.recv() => false,
        _ = term.recv() => false,
        _ = server.stopped() => true,
    };
    tracing::info!("shutting down");
    server.shutdown().await;
    if failed {
        anyhow::bail!("the server stopped: its transaction log failed");
    }
    Ok(())
}
