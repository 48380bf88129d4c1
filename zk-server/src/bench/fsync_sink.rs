//! A stand-in durable log for benchmarking zk-server's write path with real fsyncs before the
//! persistence layer is wired into the binary: every transaction (header + body, the bytes
//! Apache ZooKeeper would log, without its checksums and framing) is appended to one file,
//! and each group-commit `sync` writes the batch and calls `fdatasync`. Like Apache
//! ZooKeeper's `FileTxnLog` (preAllocSize), the file is extended in 64 MiB steps ahead of the
//! writes, so an fdatasync does not also have to commit a new file size.
//!
//! Not recoverable and not Apache's format: it only costs what a real log costs per batch.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use zk_core::jute::Encode;
use zk_core::txn::TxnHeader;

use crate::sink::TxnSink;

/// Preallocation step (Apache ZooKeeper's default preAllocSize).
const PREALLOC: u64 = 64 << 20;

/// Appends transactions to a file and fdatasyncs once per batch.
#[derive(Debug)]
pub struct FsyncFileSink {
    file: File,
    buf: Vec<u8>,
    /// Bytes written so far.
    written: u64,
    /// Current (preallocated) file length.
    allocated: u64,
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
            written: 0,
            allocated: 0,
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
        let end = self.written + self.buf.len() as u64;
        if end > self.allocated {
            self.allocated = end.div_ceil(PREALLOC) * PREALLOC;
            self.file.set_len(self.allocated)?;
        }
        self.file.write_all(&self.buf)?;
        self.written = end;
        self.buf.clear();
        self.syncs += 1;
        self.file.sync_data()
    }
}
