//! Coordination recipes over [`zk_client`] that speak Apache Curator 5.x's znode protocols, so
//! Rust and Java (Curator) processes can share one lock or one election.
//!
//! ```no_run
//! use std::time::Duration;
//! use zk_recipes::LeaderLatch;
//!
//! # async fn example() -> zk_recipes::Result<()> {
//! let client = zk_client::Client::connect("127.0.0.1:2181").await?;
//! // Curator's LeaderLatch protocol: `/master/_c_<uuid>-latch-<seq>`, first in line leads.
//! let latch = LeaderLatch::new(client.clone(), "/master").await?;
//! if latch.await_leadership(Duration::from_secs(30)).await? {
//!     // Fence the leader's writes: they commit only while our latch node exists.
//!     let fence = latch.fence().expect("leading");
//!     let write = fence.check(client.multi());
//!     let _ = write.set_data("/config", b"v2", zk_client::Version::Any).commit().await;
//!     // And step down as soon as the connection is in doubt.
//!     let mut leadership = latch.leadership();
//!     let _ = leadership.wait_for(|leading| !leading).await;
//! }
//! latch.close().await;
//! # Ok(()) }
//! ```
//!
//! # Module map
//!
//! | item | Curator | what |
//! |---|---|---|
//! | [`Framework`], [`FrameworkBuilder`] | `CuratorFramework` | a session with retry policy, connection states, error policy, namespace, parents as containers, protected creation, guaranteed delete; re-creates expired sessions when built with [`FrameworkBuilder::connect`] |
//! | [`retry`] | `org.apache.curator.retry` | exponential backoff (with Curator's jitter), bounded, N times, until elapsed, forever |
//! | [`state`] | `ConnectionState`, `ConnectionStateErrorPolicy` | CONNECTED, SUSPENDED, RECONNECTED, LOST (also simulated), READ_ONLY; the sans-IO [`ConnectionStateMachine`] |
//! | [`naming`] | `ProtectedUtils`, `StandardLockInternalsDriver` | `_c_<uuid>-` names and the contenders' sort rule |
//! | [`LeaderLatch`] | `LeaderLatch` | election by latch: `latch-` nodes, ownership check, close modes |
//! | [`LeaderSelector`] | `LeaderSelector` | election by mutex: a take-leadership future, auto-requeue, interruption |
//! | [`InterProcessMutex`], [`attempt_revoke`] | `InterProcessMutex`, `Revoker` | re-entrant mutex: `lock-` nodes, predecessor watch; cooperative revocation |
//! | [`InterProcessReadWriteLock`] | `InterProcessReadWriteLock` | `__READ__`/`__WRIT__` nodes, write-to-read downgrade |
//! | [`InterProcessSemaphoreV2`], [`Lease`] | `InterProcessSemaphoreV2`, `Lease` | `locks` mutex + `leases` nodes; maximum fixed or from a [`SharedCount`] |
//! | [`InterProcessSemaphoreMutex`] | `InterProcessSemaphoreMutex` | a one-lease semaphore |
//! | [`InterProcessMultiLock`] | `InterProcessMultiLock` | several mutexes in order |
//! | [`SharedCount`] | `SharedCount` | a 4-byte big-endian int32 |
//! | [`limits`] | | every bound and pause, in one place |
//! | [`Fence`], [`Validity`] | (none; CURATOR-689) | a check op that makes a write conditional on still holding; the loss signal |
//!
//! # Guarantees and their limits
//!
//! * **Same bytes as Curator.** Node names, modes, sort rules, what is watched (getData on
//!   the predecessor, never exists), node data and value encodings follow Curator 5.4
//!   (verified against Curator 5.4 jars in `tests/tests/recipes_curator_interop.rs`).
//! * **Nothing left behind.** Every node a recipe creates is owned by a guard: release, close,
//!   timeout, error, and dropping an acquire future all delete it with a guaranteed delete
//!   (retried in the background until it succeeds, while the client lives). A create whose
//!   reply was lost is found again by its `_c_<uuid>-` prefix; a create abandoned mid-flight
//!   is found and deleted in the background. A protected ephemeral node found after the
//!   session changed is discarded (CURATOR-498).
//! * **Loss is reported, not hidden.** A lock cannot be taken away from a holder whose session
//!   silently expired: ZooKeeper deletes the node and another client acquires, while the old
//!   holder still believes it holds. Recipes therefore tell holders (the latch's and
//!   selector's leadership, every lock's [`Validity`]) as soon as the connection state is an
//!   error under the [`ErrorPolicy`] (SUSPENDED and LOST by default), and offer a [`Fence`]
//!   that makes a write commit only while the lock node exists.
//! * **Limits.** As in Curator, locks are not revoked on SUSPENDED: the holder must act on
//!   its [`Validity`] or use fencing. Exclusion assumes every participant uses a Curator-format
//!   name under the lock path (kazoo's `__lock__` names break it; see RECIPES.md §3).
//!
//! # Cancel safety
//!
//! Every async method documents what dropping its future does. Acquire futures are safe to
//! drop at any point: their nodes are deleted in the background.

#![forbid(unsafe_code)]

pub mod error;
pub mod fence;
pub mod framework;
pub mod leader_latch;
pub mod leader_selector;
pub mod limits;
mod lock_internals;
pub mod multi_lock;
pub mod mutex;
pub mod naming;
mod protected;
pub mod retry;
pub mod rwlock;
pub mod semaphore;
pub mod shared_count;
pub mod state;

pub use error::{Error, Result};
pub use fence::{Fence, Validity};
pub use framework::{Framework, FrameworkBuilder};
pub use leader_latch::{CloseMode, LeaderLatch, LeaderLatchBuilder, Participant};
pub use leader_selector::{LeaderSelector, LeaderSelectorBuilder, Leadership};
pub use multi_lock::InterProcessMultiLock;
pub use mutex::{attempt_revoke, InterProcessMutex, REVOKE_MESSAGE};
pub use rwlock::InterProcessReadWriteLock;
pub use semaphore::{InterProcessSemaphoreMutex, InterProcessSemaphoreV2, Lease, MaxLeases};
pub use shared_count::SharedCount;
pub use state::{ConnectionState, ConnectionStateMachine, ErrorPolicy};
