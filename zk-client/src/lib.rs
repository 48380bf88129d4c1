//! The async ZooKeeper client (work in progress).
