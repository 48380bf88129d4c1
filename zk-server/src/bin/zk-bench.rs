//! `zk-bench [options]`: a load generator for any ZooKeeper-protocol server (zk-server,
//! Apache ZooKeeper, ...). `zk-bench --help` lists the options; see [`zk_server::bench`].

#![forbid(unsafe_code)]

use clap::{CommandFactory, Parser};
use zk_server::bench::config::BenchArgs;
use zk_server::bench::run;

fn main() -> anyhow::Result<()> {
    let (cfg, extras) = match BenchArgs::parse().into_config() {
        Ok(x) => x,
        // A value clap accepted but the workload's limits refuse: usage error, exit 2.
        Err(e) => BenchArgs::command()
            .error(clap::error::ErrorKind::ValueValidation, e)
            .exit(),
    };
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
