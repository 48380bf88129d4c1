//! The `zk-server` binary: reads a zoo.cfg, serves on the port it binds (and reports), answers
//! `srvr`, exits cleanly on SIGTERM and SIGINT, and logs without ANSI colour codes when stderr
//! is not a terminal, as text or as JSON lines.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::ServerProcess;

fn srvr(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"srvr").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A zoo.cfg with `clientPort=0` (the server binds an ephemeral port and reports it) in a
/// fresh directory.
fn zoo_cfg(dir: &tempfile::TempDir) -> PathBuf {
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\n\
             someUnknownKey=1\nserver.1=127.0.0.1:2888:3888\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    cfg
}

/// Runs the binary with `args` before the zoo.cfg and `env`, checks it serves, stops it with
/// `signal`, and returns everything it logged.
fn run_until_signal(signal: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = zoo_cfg(&dir);
    let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    argv.push(cfg.as_os_str());
    let mut server = ServerProcess::spawn(&argv, env);
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        if let Some(o) = srvr(server.addr) {
            break o;
        }
        assert!(Instant::now() < deadline, "zk-server did not serve");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(out.contains("Mode: standalone\n"), "{out}");
    let ok = std::process::Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = server.child.kill();
            panic!("zk-server did not exit on {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    // The stderr reader may still be finishing the last lines.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("shutting down") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.log()
}

#[test]
fn exits_cleanly_on_sigterm() {
    run_until_signal("-TERM", &[], &[]);
}

#[test]
fn exits_cleanly_on_sigint() {
    run_until_signal("-INT", &[], &[]);
}

/// stderr is a pipe here, as with `zk-server > log 2>&1`: plain text, no escape codes.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let log = run_until_signal("-TERM", &[], &[("RUST_LOG", "info")]);
    assert!(log.contains("zk-server serving addr=127.0.0.1:"), "{log}");
    assert!(log.contains(" INFO "), "{log}");
    assert!(
        !log.contains('\x1b'),
        "ANSI escape codes in a pipe:\n{log:?}"
    );
}

/// `--log-format json`, or `ZK_LOG_FORMAT=json`: one JSON object per line.
#[test]
fn json_logs_by_flag_or_environment() {
    for (args, env) in [
        (&["--log-format", "json"][..], &[][..]),
        (&[][..], &[("ZK_LOG_FORMAT", "json")][..]),
    ] {
        let log = run_until_signal("-TERM", args, env);
        let lines: Vec<&str> = log.lines().collect();
        assert!(lines.len() >= 2, "{log}");
        for l in &lines {
            assert!(
                l.starts_with("{\"timestamp\":\"") && l.ends_with('}'),
                "not a JSON object: {l}"
            );
            assert!(l.contains("\"level\":\""), "{l}");
        }
        assert!(
            log.contains("\"message\":\"zk-server serving\",\"addr\":\"127.0.0.1:"),
            "{log}"
        );
        assert!(!log.contains('\x1b'), "{log:?}");
    }
}

#[test]
fn a_bad_log_format_is_refused_with_usage() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zk-server"))
        .args(["--log-format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown log format \"xml\""), "{err}");
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_zk-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--log-format <FORMAT>"));
}
