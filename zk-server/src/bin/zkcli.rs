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

struct Args {
    server: String,
    timeout_ms: Option<u64>,
    command: Vec<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        server: "localhost:2181".to_owned(),
        timeout_ms: None,
        command: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-server" => {
                args.server = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-server needs HOST:PORT"))?
            }
            "-timeout" => {
                let t = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-timeout needs milliseconds"))?;
                args.timeout_ms = Some(t.parse()?);
            }
            "-r" | "-waitforconnection" => {}
            "-h" | "--help" | "-help" => {
                println!(
                    "usage: zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] [cmd args]"
                );
                std::process::exit(0);
            }
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
    let args = parse_args()?;
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
