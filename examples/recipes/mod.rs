//! One small program per recipe family, as library functions: the example binaries run them on
//! an embedded server (or `--connect`), and `tests/tests/app_examples.rs` runs them in CI.

pub mod leader_latch;
pub mod lock;
pub mod semaphore;
pub mod shared_count;
