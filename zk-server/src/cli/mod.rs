//! `zkcli`, a shell compatible with Apache ZooKeeper 3.8's `zkCli.sh`: the same commands, flags,
//! output formats and exit statuses.
//!
//! - [`command`]: parsing a line into a [`Command`] (pure), with [`lex`] (words and flags),
//!   [`usage`] (usage lines) and [`acl`] (the ACL text form).
//! - [`format`](mod@format): how zkCli.sh prints stats, dates, ACLs, lists, watch events, errors (pure).
//! - [`complete`]: tab completion of command names and znode paths (pure).
//! - [`dynamic`]: the dynamic config's text as zkCli.sh reads it for `config -c` and
//!   `reconfig -file` (pure).
//! - [`console`]: the stdout/stderr pair the shell writes to (the process's or buffers).
//! - [`shell`]: [`Shell`] runs commands against a `zk_client::Client`.
//!
//! ```no_run
//! # async fn run() {
//! use zk_server::cli::{Console, Shell};
//! let mut shell = Shell::new(Console::stdio());
//! if shell.open("127.0.0.1:2181").await {
//!     shell.announce();
//!     shell.run_line("create /x hello").await;
//!     shell.run_line("get -s /x").await;
//! }
//! # }
//! ```

pub mod acl;
pub mod command;
pub mod complete;
pub mod console;
pub mod dynamic;
pub mod format;
pub mod lex;
pub mod shell;
pub mod usage;

pub use command::{parse, Command, ParseError};
pub use console::{Buffer, Console};
pub use shell::{Outcome, Shell};
