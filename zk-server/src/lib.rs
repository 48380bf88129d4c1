//! The ZooKeeper-compatible server (work in progress).

pub mod persist;
