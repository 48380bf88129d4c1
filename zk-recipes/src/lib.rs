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
mod lock_internals;
pub mod mutex;
mod protected;

pub use fence::{Fence, Validity};
pub use framework::{Framework, FrameworkBuilder};
pub use leader_latch::{CloseMode, LeaderLatch, LeaderLatchBuilder, Participant};
pub use mutex::InterProcessMutex;
pub use state::{ConnectionState, ConnectionStateMachine, ErrorPolicy};
