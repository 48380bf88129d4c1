//! `zk-bench [options]`: a load generator for any ZooKeeper-protocol server (zk-server,
//! Apache ZooKeeper, ...). `zk-bench --help` lists the options; see [`zk_server::bench`].
//!
//! `zk-bench serve ZOO_CFG` runs zk-server with a stand-in log that appends every transaction
//! to a file and fdatasyncs once per group commit, until SIGTERM/SIGINT: a way to measure the
//! write path with real fsyncs until the persistence layer is wired into `zk-server`.

#![forbid(unsafe_code)]

use zk_server::bench::config::USAGE;
use zk_server::bench::{run, BenchConfig};

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("serve") {
        let cfg = argv
            .get(1)
            .ok_or_else(|| anyhow::anyhow!("serve needs a zoo.cfg"))?;
        return serve(std::path::Path::new(cfg));
    }
    let (cfg, extras) = match BenchConfig::from_args(std::env::args().skip(1)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if extras.help {
        print!("{USAGE}");
        return Ok(());
    }
    let runtime = if extras.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(extras.threads)
            .enable_all()
            .build()?
    };
    let report = runtime.block_on(run(&cfg))?;
    if extras.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

/// zk-server over [`zk_server::bench::fsync_sink::FsyncFileSink`] in `dataDir`, until SIGTERM or SIGINT.
fn serve(cfg: &std::path::Path) -> anyhow::Result<()> {
    use zk_server::bench::fsync_sink::FsyncFileSink;
    let cfg = zk_server::ServerConfig::from_file(cfg)?;
    let sink = FsyncFileSink::create(&cfg.data_dir)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let server =
            zk_server::Server::start_with(cfg, zk_server::core::DataTree::new(), Box::new(sink))
                .await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        server.shutdown().await;
        anyhow::Ok(())
    })
}
