//! `zk-server [zoo.cfg]`: a standalone ZooKeeper-compatible server.
//!
//! With no argument it serves 127.0.0.1:2181 with data in `/tmp/zk-server`. Logs go to stderr
//! through tracing (`RUST_LOG` filters). SIGINT and SIGTERM shut it down cleanly.

#![forbid(unsafe_code)]

use std::path::PathBuf;

use zk_server::{Server, ServerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = match std::env::args_os().nth(1) {
        Some(p) => ServerConfig::from_file(&PathBuf::from(p))?,
        None => {
            let mut cfg = ServerConfig::default();
            cfg.apply_env(std::env::vars());
            cfg
        }
    };
    std::fs::create_dir_all(&cfg.data_dir)?;
    let server = Server::start(cfg).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let failed = tokio::select! {
        _ = tokio::signal::ctrl_c() => false,
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
