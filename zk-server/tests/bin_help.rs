//! Every binary explains itself: `--help` prints its usage and exits 0, a bad option is a
//! usage error (exit 2). zkcli keeps zkCli.sh's own single-dash flags.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn zk_bench_help_and_usage_errors() {
    let bin = env!("CARGO_BIN_EXE_zk-bench");
    let help = run(bin, &["--help"]);
    assert!(help.status.success());
    for opt in [
        "--servers",
        "--sessions",
        "--mix",
        "--rate",
        "--json",
        "--threads",
    ] {
        assert!(stdout(&help).contains(opt), "{opt} in:\n{}", stdout(&help));
    }
    for bad in [&["--bogus"][..], &["--sessions", "0"], &["--mix", "frob"]] {
        let out = run(bin, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn zk_logformat_help_and_usage_errors() {
    let bin = env!("CARGO_BIN_EXE_zk-logformat");
    let help = run(bin, &["--help"]);
    assert!(help.status.success());
    for cmd in ["log", "snapshot", "recover"] {
        assert!(stdout(&help).contains(cmd), "{}", stdout(&help));
    }
    let snapshot = run(bin, &["snapshot", "--help"]);
    assert!(
        stdout(&snapshot).contains("-d, --data"),
        "{}",
        stdout(&snapshot)
    );
    assert_eq!(run(bin, &["bogus"]).status.code(), Some(2));
    assert_eq!(run(bin, &[]).status.code(), Some(2));
    // A file that is not there is a failure of the command, not of its usage.
    let missing = run(bin, &["log", "/nonexistent/log.1"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn zkcli_keeps_zkcli_sh_flags() {
    let bin = env!("CARGO_BIN_EXE_zkcli");
    let help = run(bin, &["-help"]);
    assert!(help.status.success());
    for flag in [
        "-server",
        "-timeout",
        "-r",
        "-waitforconnection",
        "-client-configuration",
    ] {
        assert!(
            stdout(&help).contains(flag),
            "{flag} in:\n{}",
            stdout(&help)
        );
    }
    assert!(run(bin, &["--help"]).status.success());
}
