//! A history checker for ZooKeeper that needs no search: every reply carries a zxid, which
//! places the operation in the one total order of committed transactions, so a history of n
//! operations over m transactions is checked with a few sorts and linear passes,
//! O((n + m) log(n + m)).
//!
//! What it relies on (Apache ZooKeeper's semantics, which zk-server keeps):
//!
//! * a reply's `ReplyHeader.zxid` is the server's last processed zxid right after it handled
//!   the request; for a write, that write's own transaction (a failed write, such as a
//!   BadVersion, is logged as an error transaction with its own zxid);
//! * writes are totally ordered by zxid; reads are served by the member holding the session:
//!   per-session FIFO and monotonic, possibly stale, and a read at zxid Z returns exactly the
//!   state after every transaction up to Z;
//! * the committed history (every transaction in zxid order) can be read back after the run:
//!   from a member's transaction log, or from a simulator's memory.
//!
//! The workload's contract: every set and create writes a value unique within the history
//! (so that a value names its write), keys are persistent, non-sequential znodes, and every
//! session has its own [`ClientId`].
//!
//! # Module map
//!
//! | item | what |
//! |---|---|
//! | [`Op`], [`Operation`], [`Outcome`], [`Reply`], [`History`] | what the clients did and saw (`op`) |
//! | [`Recorder`], [`Pending`] | records a history from many tasks, stamping times (`recorder`) |
//! | [`CommittedHistory`], [`Txn`], [`Change`] | what the servers committed (`committed`) |
//! | [`check()`], [`Options`] | the checker (`check`: `values`, `replay`, `order`) |
//! | [`Report`], [`Violations`], [`Violation`] | what it checked, what it found (`report`, `violation`) |
//! | `model` (private) | the sequential model: path -> data, version, children |
//!
//! # Example
//!
//! Two clients: one creates and sets a key, the other reads it from a lagging member.
//!
//! ```
//! use zk_core::{SessionId, Zxid};
//! use zk_history::*;
//!
//! let recorder = Recorder::monotonic();
//! let (writer, reader) = (recorder.client(), recorder.client());
//! let create = recorder.invoke(writer, None, Operation::Create { path: "/k".into(), data: b"a".to_vec() });
//! recorder.complete(create, Outcome::Ok { zxid: Zxid(2), reply: Reply::Created });
//! let set = recorder.invoke(writer, None, Operation::Set { path: "/k".into(), data: b"b".to_vec(), version: Some(0) });
//! recorder.complete(set, Outcome::Ok { zxid: Zxid(3), reply: Reply::Set { version: 1 } });
//! // A stale read is fine: it returns exactly the state at its zxid.
//! let read = recorder.invoke(reader, None, Operation::Read { path: "/k".into() });
//! let reply = Reply::Read { data: b"a".to_vec(), version: 0 };
//! recorder.complete(read, Outcome::Ok { zxid: Zxid(2), reply });
//!
//! let txn = |zxid, change| Txn { zxid: Zxid(zxid), session_id: None, change };
//! let mut committed = CommittedHistory::from_start(vec![
//!     txn(1, Change::Other), // the writer's createSession
//!     txn(2, Change::Create { path: "/k".into(), data: b"a".to_vec() }),
//!     txn(3, Change::SetData { path: "/k".into(), data: b"b".to_vec(), version: 1 }),
//! ]);
//! let report = check(&recorder.history(), &committed, &Options::default()).unwrap();
//! assert_eq!((report.reads_checked, report.writes_checked), (1, 2));
//!
//! // Lose the acknowledged set, and the checker says so.
//! committed.txns_mut().pop();
//! let failure = check(&recorder.history(), &committed, &Options::default()).unwrap_err();
//! assert!(matches!(failure.violations[0], Violation::LostWrite { .. }));
//! println!("{failure}");
//! ```

#![forbid(unsafe_code)]

mod check;
mod committed;
mod hash;
mod model;
mod op;
mod recorder;
mod report;
#[cfg(test)]
mod testgen;
mod violation;

pub use check::{check, Options};
pub use committed::{Change, CommittedHistory, Txn};
pub use op::{ClientId, History, Op, OpId, Operation, Outcome, Reply};
pub use recorder::{Pending, Recorder};
pub use report::{Report, Violations};
pub use violation::{OpRef, Origin, Violation};
