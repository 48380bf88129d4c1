//! Curator-compatible recipes (work in progress).

#![forbid(unsafe_code)]

pub mod error;
pub mod naming;
pub mod retry;
pub mod state;

pub use error::{Error, Result};
pub mod fence;
pub mod framework;
pub mod leader_latch;
pub mod leader_selector;
mod lock_internals;
pub mod multi_lock;
pub mod mutex;
mod protected;
pub mod rwlock;
pub mod semaphore;
pub mod shared_count;

pub use fence::{Fence, Validity};
pub use framework::{Framework, FrameworkBuilder};
pub use leader_latch::{CloseMode, LeaderLatch, LeaderLatchBuilder, Participant};
pub use leader_selector::{LeaderSelector, LeaderSelectorBuilder, Leadership};
pub use multi_lock::InterProcessMultiLock;
pub use mutex::InterProcessMutex;
pub use rwlock::InterProcessReadWriteLock;
pub use semaphore::{InterProcessSemaphoreMutex, InterProcessSemaphoreV2, Lease, MaxLeases};
pub use shared_count::SharedCount;
pub use state::{ConnectionState, ConnectionStateMachine, ErrorPolicy};
