//! The shell: runs parsed commands against a [`zk_client::Client`] and prints what zkCli.sh
//! prints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, Error, SessionState};
use zk_core::{EventType, KeeperState};

mod exec;
mod printer;

use printer::Printer;

use super::command::{parse, usage_text, Command, ParseError};
use super::console::Console;
use super::format;

/// How a command ended; [`Outcome::exit_code`] is zkCli.sh's exit status for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command succeeded (or the line was empty).
    Success,
    /// The command failed; its message was printed.
    Failure,
    /// No such command; the usage was printed.
    NotFound,
    /// `quit`: the shell should stop.
    Quit,
}

impl Outcome {
    /// The process exit status zkCli.sh uses for this outcome in one-command mode.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Success | Outcome::Quit => 0,
            Outcome::Failure => 1,
            Outcome::NotFound => 127,
        }
    }
}

/// A zkCli session: the connection, the history, and the task that prints watch events.
#[derive(Debug)]
pub struct Shell {
    console: Console,
    hosts: String,
    client: Option<Client>,
    history: Vec<String>,
    print_watches: Arc<AtomicBool>,
    /// Prints the events of the current session's watches and state.
    printer: Option<Printer>,
    session_timeout: Duration,
}

fn ok_or_fail(ok: bool) -> Outcome {
    if ok {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

impl Shell {
    /// A shell writing to `console`, not connected yet.
    pub fn new(console: Console) -> Shell {
        Shell {
            console,
            hosts: String::new(),
            client: None,
            history: Vec::new(),
            print_watches: Arc::new(AtomicBool::new(true)),
            printer: None,
            session_timeout: Duration::from_secs(30),
        }
    }

    /// Sets the session timeout asked for by later connects (zkCli.sh's `-timeout`).
    pub fn set_session_timeout(&mut self, timeout: Duration) {
        self.session_timeout = timeout;
    }

    /// Closes the session without printing the Closed event (one-command mode ends this way).
    ///
    /// # Cancel safety
    ///
    /// The close is queued at the first poll; dropping the future later does not stop it.
    pub async fn disconnect_quietly(&mut self) {
        self.print_watches.store(false, Ordering::Relaxed);
        self.disconnect().await;
    }

    /// The current session's client, if connected (for tab completion).
    pub fn client(&self) -> Option<Client> {
        self.client.clone().filter(|c| !c.state().is_terminal())
    }

    /// The connect string of the last `connect`.
    pub fn hosts(&self) -> &str {
        &self.hosts
    }

    /// True while a session is open.
    pub fn is_connected(&self) -> bool {
        self.client
            .as_ref()
            .is_some_and(|c| !c.state().is_terminal())
    }

    /// Prints `Connecting to HOSTS`, as zkCli.sh does at start-up, and opens a session: see
    /// [`Shell::connect`].
    ///
    /// # Cancel safety
    ///
    /// As [`Shell::connect`].
    pub async fn open(&mut self, hosts: &str) -> bool {
        self.console.outln(&format!("Connecting to {hosts}"));
        self.connect(hosts).await
    }

    /// Opens a session (closing the current one), as the `connect` command does. On failure
    /// the message is printed and the shell stays unconnected.
    ///
    /// The connected event is printed by [`Shell::announce`], so a caller can print its banner
    /// between the two as zkCli.sh does.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the shell unconnected (a session being opened is dropped,
    /// which closes it).
    pub async fn connect(&mut self, hosts: &str) -> bool {
        self.disconnect().await;
        self.hosts = hosts.to_owned();
        let connect = Client::builder()
            .session_timeout(self.session_timeout)
            .connect(hosts);
        match connect.await {
            Ok(client) => {
                self.client = Some(client);
                true
            }
            Err(e) => {
                self.console
                    .errln(&format!("Unable to connect to {hosts}: {e}"));
                false
            }
        }
    }

    /// Prints the connected event and starts printing later session events.
    pub fn announce(&mut self) {
        let Some(client) = &self.client else {
            return;
        };
        let states = client.state_stream();
        self.print_event(KeeperState::SyncConnected, EventType::None, "");
        // The stream starts with the current state, announced above.
        let lines = futures::stream::unfold(states, |mut s| async move {
            s.next_state().await.map(|state| (state, s))
        })
        .skip(1)
        .map(|state| {
            let keeper = match state {
                SessionState::Connected => KeeperState::SyncConnected,
                SessionState::ConnectedReadOnly => KeeperState::ConnectedReadOnly,
                SessionState::Disconnected => KeeperState::Disconnected,
                SessionState::Expired => KeeperState::Expired,
                SessionState::AuthFailed => KeeperState::AuthFailed,
                _ => KeeperState::Closed,
            };
            format::watcher_event(keeper, EventType::None, "")
        });
        self.printer().add(lines);
    }

    /// The event printer of the current session, started on first use.
    fn printer(&mut self) -> &Printer {
        let (console, print) = (self.console.clone(), self.print_watches.clone());
        self.printer
            .get_or_insert_with(|| Printer::start(console, print))
    }

    /// Returns once every event the server sent before now has been printed: a round trip on
    /// the session (replies and notifications come in order), then the printer's flush. The
    /// shell prints events as they come, as zkCli.sh does; a caller that compares output (or
    /// ends) waits here rather than for some time.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only stops waiting.
    pub async fn settle(&mut self) {
        if let Some(client) = self.client() {
            let _ = client.exists("/").await;
        }
        if let Some(p) = &self.printer {
            p.flush().await;
        }
    }

    fn print_event(&self, state: KeeperState, t: EventType, path: &str) {
        if self.print_watches.load(Ordering::Relaxed) {
            self.console.out(&format::watcher_event(state, t, path));
        }
    }

    /// Closes the session, if any, printing the Closed event as zkCli.sh does.
    ///
    /// # Cancel safety
    ///
    /// The close is queued at the first poll; dropping the future later does not stop it.
    pub async fn disconnect(&mut self) {
        self.printer = None;
        if let Some(client) = self.client.take() {
            let live = !client.state().is_terminal();
            let _ = client.close().await;
            if live {
                self.print_event(KeeperState::Closed, EventType::None, "");
            }
        }
    }

    /// Runs one line: records it in the history, parses it, executes it.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the command: a request already sent still runs on the
    /// server, and its output is not printed.
    pub async fn run_line(&mut self, line: &str) -> Outcome {
        let line = line.trim();
        if line.is_empty() {
            return Outcome::Success;
        }
        self.history.push(line.to_owned());
        self.execute(line).await
    }

    async fn execute(&mut self, line: &str) -> Outcome {
        let cmd = match parse(line) {
            Ok(cmd) => cmd,
            Err(ParseError::Empty) => return Outcome::Success,
            Err(ParseError::NotFound(name)) => {
                self.console.err(&usage_text());
                self.console
                    .errln(&format!("Command not found: Command not found {name}"));
                return Outcome::NotFound;
            }
            Err(ParseError::Usage(msg)) => {
                self.console.errln(&msg);
                return Outcome::Failure;
            }
        };
        match cmd {
            Command::Quit => {
                self.disconnect().await;
                return Outcome::Quit;
            }
            Command::History => {
                let n = self.history.len() - 1;
                for i in n.saturating_sub(10)..=n {
                    self.console.outln(&format!("{i} - {}", self.history[i]));
                }
                return Outcome::Success;
            }
            Command::Redo { number } => {
                let Some(line) = number
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.history.get(i).cloned())
                else {
                    self.console.errln("Command index out of range");
                    return Outcome::Failure;
                };
                // The redone line replaces `redo N` in the history, as in zkCli.sh.
                if let Some(last) = self.history.last_mut() {
                    last.clone_from(&line);
                }
                return Box::pin(self.execute(&line)).await;
            }
            Command::PrintWatches { on } => {
                match on.as_deref() {
                    Some("on") => self.print_watches.store(true, Ordering::Relaxed),
                    Some("off") => self.print_watches.store(false, Ordering::Relaxed),
                    _ => {
                        let on = self.print_watches.load(Ordering::Relaxed);
                        self.console.outln(&format!(
                            "printwatches is {}",
                            if on { "on" } else { "off" }
                        ));
                    }
                }
                return Outcome::Success;
            }
            Command::Close => {
                self.disconnect().await;
                return Outcome::Success;
            }
            Command::Version => {
                self.console.outln(&format!(
                    "ZooKeeper CLI version: zkcli {} (zk-rs, zkCli.sh 3.8 compatible)",
                    env!("CARGO_PKG_VERSION")
                ));
                return Outcome::Success;
            }
            Command::Unsupported(name) => {
                self.console
                    .errln(&format!("{name} is not supported by zkcli"));
                return Outcome::Failure;
            }
            Command::Connect { hosts } => {
                let hosts = hosts.unwrap_or_else(|| self.hosts.clone());
                let ok = self.connect(&hosts).await;
                self.announce();
                return ok_or_fail(ok);
            }
            _ => {}
        }
        let Some(client) = self.client.clone().filter(|c| !c.state().is_terminal()) else {
            self.console.outln("Not connected");
            return Outcome::Failure;
        };
        self.run(&client, cmd).await
    }

    pub(crate) fn fail(&self, e: &Error, path: &str) -> Outcome {
        self.console.errln(&format::error(e, path));
        Outcome::Failure
    }

    pub(crate) fn spawn_oneshot(&mut self, watch: zk_client::OneshotWatch) {
        let line = futures::stream::once(watch).filter_map(|e| async move {
            e.ok()
                .map(|e| format::watcher_event(e.state, e.event_type, &e.path))
        });
        self.printer().add(line);
    }

    pub(crate) fn spawn_persistent(&mut self, watch: zk_client::PersistentWatch) {
        // The stream ends after PersistentWatchRemoved (printed) or with the session.
        let lines = futures::stream::unfold((watch, false), |(mut w, done)| async move {
            if done {
                return None;
            }
            let e = w.next_event().await?;
            let removed = e.event_type == EventType::PersistentWatchRemoved;
            Some((
                format::watcher_event(e.state, e.event_type, &e.path),
                (w, removed),
            ))
        });
        self.printer().add(lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Success.exit_code(), 0);
        assert_eq!(Outcome::Failure.exit_code(), 1);
        assert_eq!(Outcome::NotFound.exit_code(), 127);
    }

    #[tokio::test]
    async fn history_and_usage_need_no_server() {
        let (console, out, err) = Console::buffers();
        let mut shell = Shell::new(console);
        assert_eq!(shell.run_line("ls /").await, Outcome::Failure);
        assert_eq!(shell.run_line("create").await, Outcome::Failure);
        assert_eq!(shell.run_line("nope").await, Outcome::NotFound);
        assert_eq!(shell.run_line("history").await, Outcome::Success);
        assert_eq!(
            out.contents(),
            "Not connected\n0 - ls /\n1 - create\n2 - nope\n3 - history\n"
        );
        assert!(err
            .contents()
            .starts_with("create [-s] [-e] [-c] [-t ttl] path [data] [acl]\nZooKeeper -server"));
        assert!(err
            .contents()
            .ends_with("Command not found: Command not found nope\n"));
    }
}
