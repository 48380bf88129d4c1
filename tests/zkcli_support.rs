//! zkCli.sh and zkcli side by side: the same script through Apache ZooKeeper 3.8's shell (a
//! process) and zk-server's (in this process), their outputs, and the comparison of them.

use std::io::Write;
use std::process::{Command, Stdio};

use zk_server::cli::{Console, Outcome, Shell};

/// Debian's zkCli.sh.
pub const ZKCLI_SH: &str = "/usr/share/zookeeper/bin/zkCli.sh";

/// A stat line's value that legitimately differs between two runs (its times and zxids),
/// replaced by a placeholder; None for any other line.
pub fn normalized_stat_line(line: &str) -> Option<String> {
    for key in ["ctime", "mtime"] {
        if line.starts_with(&format!("{key} = ")) {
            return Some(format!("{key} = TIME"));
        }
    }
    for key in ["cZxid", "mZxid", "pZxid"] {
        if line.starts_with(&format!("{key} = ")) {
            return Some(format!("{key} = ZXID"));
        }
    }
    None
}

/// Splits stdout into its watch events (sorted) and the rest: events are printed by another
/// thread (zkCli.sh) or task (zkcli), so where they land between command outputs is timing.
pub fn split_events(stdout: &str) -> (String, Vec<String>) {
    let lines: Vec<&str> = stdout.lines().collect();
    let mut rest = Vec::new();
    let mut events = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "WATCHER::" {
            // "", "WATCHER::", "", "WatchedEvent ...": the blank before was already pushed.
            if rest.last() == Some(&"") {
                rest.pop();
            }
            // zkCli.sh prints the block from its event thread in pieces, so a line of the
            // main thread (such as "Not connected") can land inside it: keep such lines.
            let mut j = i + 1;
            while j < lines.len() && j <= i + 3 && !lines[j].starts_with("WatchedEvent ") {
                if !lines[j].is_empty() {
                    rest.push(lines[j]);
                }
                j += 1;
            }
            if let Some(e) = lines.get(j).filter(|l| l.starts_with("WatchedEvent ")) {
                events.push((*e).to_owned());
                j += 1;
            }
            i = j;
            continue;
        }
        rest.push(lines[i]);
        i += 1;
    }
    events.sort();
    (rest.join("\n"), events)
}

/// Runs `script` through zkCli.sh against `server`: its stdout (without the banner lines) and
/// stderr (without SLF4J's).
pub fn run_zkcli_sh(server: &str, script: &str) -> (String, String) {
    let mut child = Command::new(ZKCLI_SH)
        .args(["-server", server])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkCli.sh");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    let out = child.wait_with_output().expect("zkCli.sh output");
    let stdout = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| *l != "Welcome to ZooKeeper!" && *l != "JLine support is disabled")
        .collect::<Vec<_>>()
        .join("\n");
    let stderr = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("SLF4J:"))
        .collect::<Vec<_>>()
        .join("\n");
    (stdout, stderr)
}

/// Runs `script` through zkcli's shell against `server`: its stdout and stderr.
pub async fn run_zkcli(server: &str, script: &[String]) -> (String, String) {
    let (console, out, err) = Console::buffers();
    let mut shell = Shell::new(console);
    assert!(shell.open(server).await, "zkcli connects");
    shell.announce();
    for line in script {
        if shell.run_line(line).await == Outcome::Quit {
            break;
        }
    }
    // Every event the server sent is printed before the output is compared.
    shell.settle().await;
    // The script ends without `quit`: zkCli.sh exits at the end of its input without closing.
    shell.disconnect_quietly().await;
    (out.contents(), err.contents())
}

/// Panics, showing where, when zkcli's output (`rust`) and zkCli.sh's (`java`) differ.
pub fn assert_same(what: &str, rust: &str, java: &str) {
    let (r, j): (Vec<&str>, Vec<&str>) = (rust.lines().collect(), java.lines().collect());
    if r == j {
        return;
    }
    let at = r.iter().zip(&j).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(3);
    panic!(
        "{what} differs at line {at}\n--- zkcli:\n{}\n--- zkCli.sh:\n{}",
        r[from..(at + 8).min(r.len())].join("\n"),
        j[from..(at + 8).min(j.len())].join("\n")
    );
}
