//! The ZooKeeper-compatible server (work in progress).
