//! `zk-bench [options]`: a load generator for any ZooKeeper-protocol server (zk-server,
//! Apache ZooKeeper, ...). `zk-bench --help` lists the options; see [`zk_server::bench`].

#![forbid(unsafe_code)]

use zk_server::bench::config::USAGE;
use zk_server::bench::{run, BenchConfig};

fn main() -> anyhow::Result<()> {
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
