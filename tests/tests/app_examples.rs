//! Each recipe example runs to completion within a minute on an embedded zk-server, and its
//! guarantee holds (each example fails otherwise).

use std::future::Future;
use std::time::Duration;

use examples::embedded::Ensemble;
use examples::recipes;

async fn within_a_minute<F, Fut>(name: &str, example: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let ensemble = Ensemble::start_or_connect(None)
        .await
        .expect("embedded zk-server");
    let hosts = ensemble.connect_string().to_owned();
    let result = tokio::time::timeout(Duration::from_secs(60), example(hosts)).await;
    ensemble.shutdown().await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{name}: {e:#}"),
        Err(_) => panic!("{name} took more than a minute"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_latch_example() {
    within_a_minute("leader_latch", |h| async move {
        recipes::leader_latch::run(&h).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_example() {
    within_a_minute("lock", |h| async move { recipes::lock::run(&h).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_example() {
    within_a_minute(
        "semaphore",
        |h| async move { recipes::semaphore::run(&h).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_count_example() {
    within_a_minute("shared_count", |h| async move {
        recipes::shared_count::run(&h).await
    })
    .await;
}

/// Every example program parses its command line with clap: `--help` describes it and its
/// options, and an unknown option is a usage error (exit 2). The programs are built first
/// (`cargo test -p tests` alone does not build the examples package's examples).
#[test]
fn every_example_has_help() {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/app_examples-<hash>
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("test binary in target/<profile>/deps");
    let mut build = std::process::Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "-p", "examples", "--examples"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        build.env("CARGO_TARGET_DIR", target);
    }
    assert!(build.status().expect("run cargo build").success());
    for (name, option) in [
        ("master_worker", "--kill-mode <KILL_MODE>"),
        ("leader_latch", "--connect <HOSTS>"),
        ("lock", "--connect <HOSTS>"),
        ("semaphore", "--connect <HOSTS>"),
        ("shared_count", "--connect <HOSTS>"),
    ] {
        let bin = profile_dir.join("examples").join(name);
        let help = std::process::Command::new(&bin)
            .arg("--help")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(help.status.success(), "{name} --help");
        assert!(text.contains(option), "{name} --help:\n{text}");
        let bad = std::process::Command::new(&bin)
            .arg("--bogus")
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2), "{name} --bogus");
    }
    // master_worker's ensemble size: a usage error out of 1..=9, a clear refusal for 2
    // members with a member kill (that ensemble would lose its quorum).
    let bin = profile_dir.join("examples").join("master_worker");
    let help = std::process::Command::new(&bin)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--members <N>"), "{text}");
    assert!(text.contains("--no-kill-member"), "{text}");
    let zero = std::process::Command::new(&bin)
        .args(["--members", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2), "--members 0");
    let two = std::process::Command::new(&bin)
        .args(["--members", "2", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(two.status.code(), Some(1), "--members 2");
    let err = String::from_utf8_lossy(&two.stderr);
    assert!(err.contains("loses its quorum"), "{err}");
}
