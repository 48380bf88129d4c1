//! `zkcli`: a shell compatible with Apache ZooKeeper's `zkCli.sh`.
//!
//! `zkcli [-server HOST:PORT[,...][/chroot]] [-timeout MS]` starts an interactive shell with
//! line editing and history; `zkcli -server HOST:PORT CMD ARGS` runs one command and exits with
//! zkCli.sh's status (0 success, 1 failure, 127 unknown command).

#![forbid(unsafe_code)]

use std::io::IsTerminal;

use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use tokio::io::AsyncBufReadExt;
use zk_client::Client;
use zk_server::cli::complete::{word_at, Word};
use zk_server::cli::{Console, Outcome, Shell};

/// Completes command names and znode paths (the children come from the server), as zkCli.sh's
/// JLine completer does.
struct ZkHelper {
    client: Option<Client>,
}

impl Completer for ZkHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(match word_at(line, pos) {
            Word::Command { start, candidates } => (start, candidates),
            Word::Path(w) => {
                let Some(client) = &self.client else {
                    return Ok((pos, Vec::new()));
                };
                // readline runs inside block_in_place, so blocking on the runtime is allowed.
                let children = tokio::runtime::Handle::current().block_on(async {
                    tokio::time::timeout(Duration::from_secs(2), client.get_children(&w.parent))
                        .await
                });
                match children {
                    Ok(Ok(children)) => (w.start, w.candidates(&children)),
                    _ => (pos, Vec::new()),
                }
            }
            Word::None => (pos, Vec::new()),
        })
    }
}

impl Hinter for ZkHelper {
    type Hint = String;
}

impl Highlighter for ZkHelper {}

impl Validator for ZkHelper {}

impl Helper for ZkHelper {}

/// zkCli.sh's usage line for its own flags.
const USAGE: &str = "usage: zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] \
[-r] [-waitforconnection] [-client-configuration file] [cmd args]

Flags are zkCli.sh's own (single dash). With no command it starts an interactive shell;
`zkcli -server HOST:PORT CMD ARGS` runs one command (exit status 0, 1, or 127 for an unknown
command). `help` in the shell lists the commands.";

/// The command line, as zkCli.sh reads it (`ZooKeeperMain.MyCommandOptions`): its flags
/// first, then the command and its arguments.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    server: String,
    timeout_ms: Option<u64>,
    client_configuration: Option<String>,
    help: bool,
    command: Vec<String>,
}

/// zkCli.sh keeps its own flags (`-server`, not `--server`), so they are parsed here rather
/// than with clap, as zkCli.sh parses them.
fn parse_args(argv: impl IntoIterator<Item = String>) -> anyhow::Result<Args> {
    let mut args = Args {
        server: "localhost:2181".to_owned(),
        timeout_ms: None,
        client_configuration: None,
        help: false,
        command: Vec::new(),
    };
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-server" => {
                args.server = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-server needs HOST:PORT\n{USAGE}"))?
            }
            "-timeout" => {
                let t = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-timeout needs milliseconds\n{USAGE}"))?;
                args.timeout_ms = Some(
                    t.parse()
                        .map_err(|_| anyhow::anyhow!("-timeout: bad milliseconds {t:?}"))?,
                );
            }
            "-client-configuration" => {
                args.client_configuration = Some(it.next().ok_or_else(|| {
                    anyhow::anyhow!("-client-configuration needs a file\n{USAGE}")
                })?)
            }
            // Read-only mode and waiting for the connection: zkcli connects read-write and
            // always waits for the first connection.
            "-r" | "-waitforconnection" => {}
            "-h" | "--help" | "-help" => args.help = true,
            _ => {
                args.command.push(a);
                args.command.extend(it.by_ref());
            }
        }
    }
    Ok(args)
}

/// Quotes an argument that has spaces, so the shell's tokenizer gives it back whole.
fn quote(a: &str) -> String {
    if a.is_empty() || a.contains(char::is_whitespace) {
        if a.contains('"') {
            format!("'{a}'")
        } else {
            format!("\"{a}\"")
        }
    } else {
        a.to_owned()
    }
}

fn prompt(shell: &Shell, n: usize) -> String {
    let state = if shell.is_connected() {
        "CONNECTED"
    } else {
        "CLOSED"
    };
    format!("[zk: {}({state}) {n}] ", shell.hosts())
}

async fn interactive(shell: &mut Shell) -> anyhow::Result<i32> {
    let console = Console::stdio();
    console.outln("Welcome to ZooKeeper!");
    if !std::io::stdin().is_terminal() {
        // Input is a script: read it line by line, as zkCli.sh does without JLine.
        console.outln("JLine support is disabled");
        shell.announce();
        // Each line runs as soon as it arrives, not at the end of the input.
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = lines.next_line().await? {
            if shell.run_line(&line).await == Outcome::Quit {
                break;
            }
        }
        return Ok(0);
    }
    console.outln("JLine support is enabled");
    shell.announce();
    let mut editor: Editor<ZkHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(ZkHelper { client: None }));
    // Line history survives sessions, in ~/.zkcli_history (as JLine keeps ~/.zookeeper).
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".zkcli_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut n = 0;
    loop {
        if let Some(h) = editor.helper_mut() {
            h.client = shell.client();
        }
        let p = prompt(shell, n);
        let line = tokio::task::block_in_place(|| editor.readline(&p));
        match line {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(h) = &history {
                        let _ = editor.save_history(h);
                    }
                    n += 1;
                }
                if shell.run_line(&line).await == Outcome::Quit {
                    return Ok(0);
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                shell.disconnect().await;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    if args.help {
        println!("{USAGE}");
        return Ok(());
    }
    if let Some(file) = &args.client_configuration {
        // TLS and SASL settings, which zkcli does not support.
        eprintln!("zkcli: -client-configuration {file} is ignored (no TLS or SASL support)");
    }
    let mut shell = Shell::new(Console::stdio());
    if let Some(ms) = args.timeout_ms {
        shell.set_session_timeout(std::time::Duration::from_millis(ms));
    }
    let connected = shell.open(&args.server).await;
    let code = if args.command.is_empty() {
        interactive(&mut shell).await?
    } else {
        if connected {
            shell.announce();
        }
        let line: Vec<String> = args.command.iter().map(|a| quote(a)).collect();
        let outcome = shell.run_line(&line.join(" ")).await;
        shell.disconnect_quietly().await;
        outcome.exit_code()
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Args {
        parse_args(line.split(' ').filter(|a| !a.is_empty()).map(str::to_owned)).unwrap()
    }

    #[test]
    fn zkcli_sh_flags_then_the_command() {
        let a = parse("-server h:1,h:2/app -timeout 500 -r -waitforconnection ls -w /");
        assert_eq!(a.server, "h:1,h:2/app");
        assert_eq!(a.timeout_ms, Some(500));
        assert_eq!(a.command, ["ls", "-w", "/"]);
        let b = parse("-client-configuration zk.conf get /x");
        assert_eq!(b.client_configuration.as_deref(), Some("zk.conf"));
        assert_eq!(b.server, "localhost:2181");
        assert_eq!(b.command, ["get", "/x"]);
        assert!(parse("-help").help);
        // After the command starts, dashes belong to it.
        assert_eq!(
            parse("create -e /x -server").command,
            ["create", "-e", "/x", "-server"]
        );
    }

    #[test]
    fn missing_values_are_usage_errors() {
        for line in ["-server", "-timeout", "-timeout x", "-client-configuration"] {
            let argv = line.split(' ').map(str::to_owned);
            assert!(parse_args(argv).is_err(), "{line}");
        }
    }
}
