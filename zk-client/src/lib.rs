//! A lean async ZooKeeper client on tokio: pipelined, multi-host, chroot, every watch kind,
//! and correct on reconnect.
//!
//! ```no_run
//! use zk_client::{AddWatchMode, Client, CreateMode, Error, Version};
//!
//! # async fn example() -> Result<(), Error> {
//! // Hosts, then an optional chroot: every path below is under /app on the server.
//! let client = Client::connect("127.0.0.1:2181,127.0.0.1:2182/app").await?;
//!
//! let (path, _stat) = client.create("/job-", b"payload", CreateMode::EphemeralSequential).await?;
//! let (data, stat, watch) = client.get_data_and_watch(&path).await?;
//! assert_eq!(data, &b"payload"[..]); // node data is a `Bytes`
//!
//! // Requests are queued in call order and pipelined on one connection.
//! let a = client.set_data(&path, b"v2", Version::Exact(stat.version));
//! let b = client.get_data(&path);
//! a.await?;
//! assert_eq!(b.await?.0, &b"v2"[..]);
//! let event = watch.await?; // NodeDataChanged on `path`
//! println!("{event:?}");
//!
//! // A transaction: all or nothing, with per-op results.
//! let results = client
//!     .multi()
//!     .check(&path, Version::Any)
//!     .create("/done", b"", CreateMode::Persistent)
//!     .commit()
//!     .await?;
//! assert_eq!(results.len(), 2);
//!
//! // A persistent-recursive watch is a stream; dropping it removes it from the server.
//! let mut events = client.watch("/", AddWatchMode::PersistentRecursive).await?;
//! client.delete("/done", Version::Any).await?;
//! println!("{:?}", events.next_event().await);
//!
//! match client.delete("/missing", Version::Any).await {
//!     Err(Error::NoNode) => {}                    // an outcome: the server said no
//!     Err(e) if e.is_retryable() => {}            // a failure: outcome unknown, may retry
//!     other => panic!("{other:?}"),
//! }
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Module map
//!
//! | item | what |
//! |---|---|
//! | [`Client`], [`ClientBuilder`] | the handle and its settings; the operations |
//! | [`OneshotWatch`], [`PersistentWatch`] | watches as values |
//! | [`MultiBuilder`], [`MultiReadBuilder`] | transactions and batched reads |
//! | [`Reconfig`], [`Client::get_config`], [`Client::update_server_list`] | dynamic reconfiguration: read and change the ensemble's membership, move sessions |
//! | [`SessionState`], [`StateStream`] | the session's state, now and as a stream |
//! | [`Version`] | the version a conditional write or check expects (`Any` or `Exact`) |
//! | [`Error`] | outcomes (NoNode, ...) apart from failures (ConnectionLoss, ...) |
//! | `session` (private) | the sans-IO state machine: xids, pending requests, watches, timers |
//! | `driver` (private) | the tokio task that owns the socket |
//!
//! # Behaviour
//!
//! * **Order**: a request's xid is taken and its frame queued when the method is called, not
//!   when the future is polled; replies are matched FIFO (pings by xid -2, auth by -4,
//!   notifications by -1).
//! * **Hosts**: shuffled once, tried one at a time with a growing pause after each full pass;
//!   a lost connection is resumed on another host with the same session id and password.
//! * **Failures**: requests in flight when the connection drops fail with
//!   [`Error::ConnectionLoss`] (their outcome is unknown); requests made while disconnected wait
//!   for the next connection. Nothing is retried silently.
//! * **Watches** are re-armed on every new connection with SetWatches (or SetWatches2 when
//!   persistent watches exist), relative to the last zxid seen in a reply, in frames of less
//!   than 128 KiB of paths, so changes made while disconnected still fire.
//! * **Expiry**: a server's "expired" answer ends the client in [`SessionState::Expired`] at
//!   once. Without one, the client declares expiry itself only when no server was heard from
//!   for the session timeout plus a grace ([`ClientBuilder::expiry_grace`],
//!   [`DEFAULT_EXPIRY_GRACE`]): an ensemble expires no session while it elects a leader, and
//!   its new leader gives every session a fresh timeout, so giving up at the timeout would
//!   abandon a live session. Either way it is reported once; [`SessionState::Disconnected`]
//!   comes as soon as the connection drops.
//! * **Timers**: a ping after a third of the session timeout without sending, a reconnect
//!   after two thirds without receiving, and a connection attempt timeout of the session
//!   timeout divided by the number of hosts.
//!
//! # Limitations
//!
//! * No TLS, no SASL.
//! * Apache ZooKeeper 3.8 keeps one watch mode per connection and path: a one-shot watch set
//!   on a path that has a persistent watch turns the server's watch into a one-shot one. 3.9
//!   keeps them apart. Removing only a persistent watch while other watches share its path
//!   needs 3.9 (watcher types 4 and 5); 3.8 refuses it, and its events then reach nobody.
//! * Null node data reads as empty.
//!
//! Reads hand out node data as [`Bytes`] (cheap to clone and slice): each value is copied
//! once out of the reply frame into its own buffer, so holding one keeps only that value
//! alive, not the frame it came in.

#![forbid(unsafe_code)]

mod builder;
mod client;
mod config;
mod create;
mod driver;
mod error;
mod multi;
mod ops;
mod session;
mod state;
mod version;
mod watch;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_EXPIRY_GRACE, DEFAULT_SESSION_TIMEOUT,
};
pub use bytes::Bytes;
pub use client::Client;
pub use config::Reconfig;
pub use create::CreateOptions;
pub use error::{Error, Result};
pub use multi::{MultiBuilder, MultiReadBuilder, OpResult, ReadResult};
pub use state::{SessionState, StateStream};
pub use version::Version;
pub use watch::{OneshotWatch, PersistentWatch};
pub use zk_core::auth::{digest_id, digest_id_for};
pub use zk_core::data::ClientInfo;
pub use zk_core::{
    Acl, AddWatchMode, CreateMode, ErrorCode, EventType, Id, KeeperState, PathError, Perms,
    SessionId, Stat, WatchedEvent, WatcherType, Zxid,
};
