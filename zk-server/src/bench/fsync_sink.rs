//! A stand-in durable log for benchmarking zk-server's write path with real fsyncs before the
//! persistence layer is wired into the binary: every transaction (header + body, the bytes
//! Apache ZooKeeper would log, without its checksums and framing) is appended to one file,
//! and each group-commit `sync` writes the batch and calls `fdatasync`.
//!
//! Not recoverable and not Apache's format: it only costs what a real log costs per batch.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use zk_core::jute::Encode;
use zk_core::txn::TxnHeader;

use crate::sink::TxnSink;

/// Appends transactions to a file and fdatasyncs once per batch.
#[derive(Debug)]
pub struct FsyncFileSink {
    file: File,
    buf: Vec<u8>,
    /// Number of fdatasync calls so far.
    pub syncs: u64,
}

impl FsyncFileSink {
    /// Creates (truncates) `dir/bench-log`.
    pub fn create(dir: &Path) -> io::Result<FsyncFileSink> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(dir.join("bench-log"))?;
        Ok(FsyncFileSink {
            file,
            buf: Vec::with_capacity(1 << 20),
            syncs: 0,
        })
    }
}

impl TxnSink for FsyncFileSink {
    fn append(&mut self, header: &TxnHeader, body: &[u8]) -> io::Result<()> {
        header.encode(&mut self.buf);
        self.buf.extend_from_slice(body);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        self.syncs += 1;
        self.file.sync_data()
    }
}
