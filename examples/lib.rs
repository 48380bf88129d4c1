//! Runnable programs (run them with `cargo run --release --example NAME` from the workspace root)
//! and the library code they share, so tests can run the same logic in-process.
//!
//! - [`embedded`]: an in-process zk-server on a free loopback port, or `--connect HOSTS`.
//! - [`master_worker`]: the ZooKeeper book's master-worker system, with failures injected.
//! - [`recipes`]: one small program per recipe family.
//!
//! The programs themselves are in `examples/`: `master_worker`, and one per recipe family:
//! `leader_latch`, `lock`, `semaphore`, `shared_count` (see README.md).

#![forbid(unsafe_code)]

pub mod embedded;
pub mod master_worker;
pub mod recipes;
