//! The transaction log writer (`FileTxnLog`): append buffered, [`TxnLog::sync`] once per batch
//! (group commit), preallocate in `preAllocSize` blocks, roll to a new `log.<zxid>` file.
//!
//! # File layout (byte-compatible with Apache ZooKeeper 3.8)
//!
//! ```text
//! FileHeader { int magic "ZKLG"; int version 2; long dbid 0 }          16 bytes
//! repeated: long adler32; int len; byte[len] entry; byte 0x42 ('B')
//!           where entry = TxnHeader + txn record [+ TxnDigest]
//! zero padding up to the preallocated size
//! ```
//!
//! Preallocation follows `FilePadding.calculateFileSizeWithPadding`: when the write position comes
//! within 4096 bytes of the file's size, the file grows by `preAllocSize` bytes (rounded down to a
//! multiple of it if the position already passed the end). A fresh file is therefore
//! `16 + preAllocSize` bytes long: 67,108,880 with the 64 MiB default.
//!
//! # Group commit
//!
//! [`TxnLog`] is a plain blocking struct: own it on one dedicated thread (or hand it to
//! `spawn_blocking`), call [`TxnLog::append`] for every transaction in the queue, then one
//! [`TxnLog::sync`], then acknowledge the whole batch. Nothing is durable before `sync` returns.
//!
//! ```
//! # use zk_server::persist::{TxnLog, TxnLogConfig};
//! # use zk_core::{txn::{TxnHeader, CreateSessionTxn}, jute::Encode, OpCode, SessionId, Zxid};
//! let dir = tempfile::tempdir().unwrap();
//! let mut log = TxnLog::open(dir.path(), TxnLogConfig::default()).unwrap();
//! for zxid in 1..=3 {
//!     let header = TxnHeader { client_id: SessionId(zxid), cxid: 0, zxid: Zxid(zxid), time: 0,
//!                              txn_type: OpCode::CreateSession.as_i32() };
//!     let body = CreateSessionTxn { timeout_ms: 30_000 }.to_bytes();
//!     log.append(&header, &body, None).unwrap();
//! }
//! log.sync().unwrap(); // one fsync covers the three appends
//! assert!(dir.path().join("log.1").exists());
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use zk_core::jute::{Encode, WriteExt};
use zk_core::txn::{FileHeader, TxnDigest, TxnHeader};
use zk_core::Zxid;

use super::checksum::adler32;
use super::error::{IoContext, PersistError, Result};
use super::files::{fsync_dir, log_name};
use super::logscan::scan_log_file;

/// Apache ZooKeeper's default preallocation block: 64 MiB (`zookeeper.preAllocSize` is in KiB).
pub const DEFAULT_PRE_ALLOC_SIZE: u64 = 64 * 1024 * 1024;
/// The end-of-record marker that follows every entry.
pub const END_OF_RECORD: u8 = 0x42;
/// The size of the file header.
pub const FILE_HEADER_LEN: u64 = 16;
/// Buffered bytes beyond which `append` writes to the file (without fsync) to bound memory.
const WRITE_THRESHOLD: usize = 1 << 20;

/// Settings of the log writer (zoo.cfg's `preAllocSize`, `forceSync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogConfig {
    /// Preallocation block in bytes (zoo.cfg gives KiB: multiply by 1024). 0 disables it.
    pub pre_alloc_size: u64,
    /// fsync in [`TxnLog::sync`]. `false` (`forceSync=no`) is **unsafe**: an acknowledged write
    /// can be lost in a power failure or OS crash; only a process crash is survived.
    pub force_sync: bool,
    /// The dbid of the file header; Apache ZooKeeper writes 0.
    pub dbid: i64,
}

impl Default for TxnLogConfig {
    fn default() -> Self {
        TxnLogConfig {
            pre_alloc_size: DEFAULT_PRE_ALLOC_SIZE,
            force_sync: true,
            dbid: 0,
        }
    }
}

/// `FilePadding.calculateFileSizeWithPadding`: the file size after writing at `position` in a
/// file currently `file_size` long.
pub fn padded_size(position: u64, file_size: u64, pre_alloc_size: u64) -> u64 {
    if pre_alloc_size > 0 && position + 4096 >= file_size {
        if position > file_size {
            let s = position + pre_alloc_size;
            s - s % pre_alloc_size
        } else {
            file_size + pre_alloc_size
        }
    } else {
        file_size
    }
}

/// Frames one entry as a log record: `long adler32; int len; entry; 'B'`.
pub fn encode_record(entry_bytes: &[u8], out: &mut Vec<u8>) {
    out.put_i64(adler32(entry_bytes));
    out.put_i32(entry_bytes.len() as i32);
    out.extend_from_slice(entry_bytes);
    out.push(END_OF_RECORD);
}

#[derive(Debug)]
struct OpenLog {
    path: PathBuf,
    file: File,
    /// Bytes appended but not yet written to the file.
    buf: Vec<u8>,
    /// Bytes written to the file (its logical data end).
    written: u64,
    /// The file's size after preallocation (`FilePadding.currentSize`).
    size: u64,
}

impl OpenLog {
    fn write_out(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf).at(&self.path)?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

/// The transaction log writer of one log directory (`<dataLogDir>/version-2`).
#[derive(Debug)]
pub struct TxnLog {
    dir: PathBuf,
    config: TxnLogConfig,
    current: Option<OpenLog>,
    /// Rolled files whose data is written but not yet fsynced.
    rolled: Vec<OpenLog>,
    dir_dirty: bool,
    last_zxid: Option<Zxid>,
    txns_in_current: u64,
    scratch: Vec<u8>,
}

impl TxnLog {
    /// A writer for `dir` (created if missing). No file is opened until the first append, which
    /// starts `log.<its zxid>`, as Apache ZooKeeper does after every start and roll.
    pub fn open(dir: &Path, config: TxnLogConfig) -> Result<TxnLog> {
        std::fs::create_dir_all(dir).at(dir)?;
        Ok(TxnLog {
            dir: dir.to_path_buf(),
            config,
            current: None,
            rolled: Vec::new(),
            dir_dirty: false,
            last_zxid: None,
            txns_in_current: 0,
            scratch: Vec::new(),
        })
    }

    /// Appends one transaction: its header, its already encoded record (`body`, empty for types
    /// without one) and the tree digest after it, if kept. Buffered: durable after
    /// [`TxnLog::sync`]. zxids must increase.
    pub fn append(
        &mut self,
        header: &TxnHeader,
        body: &[u8],
        digest: Option<&TxnDigest>,
    ) -> Result<()> {
        if let Some(last) = self.last_zxid {
            if header.zxid <= last {
                return Err(PersistError::Misuse {
                    path: self.dir.clone(),
                    reason: format!("append of zxid {} after {}", header.zxid, last),
                });
            }
        }
        if self.current.is_none() {
            self.current = Some(self.create_file(header.zxid)?);
            self.txns_in_current = 0;
        }
        self.scratch.clear();
        header.encode(&mut self.scratch);
        self.scratch.extend_from_slice(body);
        if let Some(d) = digest {
            d.encode(&mut self.scratch);
        }
        let pre_alloc = self.config.pre_alloc_size;
        // Invariant: `current` was set just above when it was empty.
        let log = self.current.as_mut().expect("a current log file");
        let position = log.written + log.buf.len() as u64;
        let new_size = padded_size(position, log.size, pre_alloc);
        if new_size != log.size {
            log.file.set_len(new_size).at(&log.path)?;
            log.size = new_size;
        }
        encode_record(&self.scratch, &mut log.buf);
        if log.buf.len() >= WRITE_THRESHOLD {
            log.write_out()?;
        }
        self.last_zxid = Some(header.zxid);
        self.txns_in_current += 1;
        Ok(())
    }

    fn create_file(&mut self, zxid: Zxid) -> Result<OpenLog> {
        let path = self.dir.join(log_name(zxid));
        if path.exists() && !scan_log_file(&path)?.entries.is_empty() {
            return Err(PersistError::Misuse {
                path,
                reason: "log file already holds transactions: recover before appending".into(),
            });
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .at(&path)?;
        let mut buf = Vec::with_capacity(64 * 1024);
        FileHeader {
            magic: FileHeader::LOG_MAGIC,
            version: FileHeader::VERSION,
            dbid: self.config.dbid,
        }
        .encode(&mut buf);
        self.dir_dirty = true;
        Ok(OpenLog {
            path,
            file,
            buf,
            written: 0,
            size: FILE_HEADER_LEN,
        })
    }

    /// Writes everything appended and fsyncs it (`FileTxnLog.commit`), including files rolled
    /// since the last sync and the directory entry of new files. With `force_sync = false` the
    /// data reaches the OS but is not fsynced.
    pub fn sync(&mut self) -> Result<()> {
        for mut log in std::mem::take(&mut self.rolled) {
            log.write_out()?;
            if self.config.force_sync {
                log.file.sync_data().at(&log.path)?;
            }
        }
        if let Some(log) = self.current.as_mut() {
            log.write_out()?;
            if self.config.force_sync {
                log.file.sync_data().at(&log.path)?;
            }
        }
        if self.dir_dirty && self.config.force_sync {
            fsync_dir(&self.dir)?;
        }
        self.dir_dirty = false;
        Ok(())
    }

    /// Ends the current file (`FileTxnLog.rollLog`): the next append starts `log.<its zxid>`.
    /// The rolled file's data is fsynced by the next [`TxnLog::sync`].
    pub fn roll(&mut self) -> Result<()> {
        if let Some(mut log) = self.current.take() {
            log.write_out()?;
            self.rolled.push(log);
        }
        self.txns_in_current = 0;
        Ok(())
    }

    /// The zxid of the last append, if any since this writer was opened.
    pub fn last_zxid(&self) -> Option<Zxid> {
        self.last_zxid
    }

    /// Transactions appended to the current file (`FileTxnLog.getTxnCount`-like; reset by roll).
    pub fn txns_in_current(&self) -> u64 {
        self.txns_in_current
    }

    /// Bytes of records in the current file, buffered ones included.
    pub fn current_size(&self) -> u64 {
        self.current
            .as_ref()
            .map_or(0, |l| l.written + l.buf.len() as u64)
    }

    /// The path of the file being appended to.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|l| l.path.as_path())
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Syncs and closes.
    pub fn close(mut self) -> Result<()> {
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rule_matches_file_padding() {
        let m = DEFAULT_PRE_ALLOC_SIZE;
        assert_eq!(padded_size(16, 16, m), 67_108_880);
        assert_eq!(padded_size(1000, 67_108_880, m), 67_108_880);
        assert_eq!(
            padded_size(67_108_880 - 4096, 67_108_880, m),
            67_108_880 + m
        );
        assert_eq!(padded_size(3 * m + 5, m, m), 4 * m);
        assert_eq!(padded_size(100, 16, 0), 16);
    }

    #[test]
    fn record_framing_golden() {
        let mut out = Vec::new();
        encode_record(b"Wikipedia", &mut out);
        let mut want = 0x11E6_0398i64.to_be_bytes().to_vec();
        want.extend_from_slice(&9i32.to_be_bytes());
        want.extend_from_slice(b"Wikipedia");
        want.push(b'B');
        assert_eq!(out, want);
    }
}
