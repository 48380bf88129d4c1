//! The replicated ensemble: Apache ZooKeeper 3.8's quorum protocol as sans-IO state machines.
//!
//! | module | Apache ZooKeeper | what |
//! |---|---|---|
//! | [`zab`] | `Leader`'s packet types | the quorum-port messages, typed |
//! | [`disk`] | `FileTxnSnapLog`, `ZKDatabase.committedLog` | what a peer asks of its disk |
//! | [`plan`] | `LearnerHandler.syncFollower` | DIFF, TRUNC or SNAP |
//! | [`leader`] | `Leader`, `LearnerHandler` | discovery, sync, broadcast (leader side) |
//! | [`learner`] | `Learner`, `Follower`, `Observer` | registration, sync, broadcast (learner side) |
//!
//! Nothing here reads a clock, draws random numbers or does IO: time comes in as arguments,
//! messages and disk completions as calls, and everything to do comes out as values.

pub mod ctx;
pub mod disk;
pub mod leader;
pub mod learner;
pub mod plan;
pub mod zab;
