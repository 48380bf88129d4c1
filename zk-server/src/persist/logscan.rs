//! Reading one transaction log file with integrity checks (`FileTxnLog.FileTxnIterator`, made
//! strict).
//!
//! Every record is checked: its length fits, the end-of-record byte is `'B'`, its Adler32
//! matches, and it decodes. The first record that fails ends the data. What follows decides
//! what that failure is:
//! - only zeros (preallocation padding) or nothing: the normal end of the log;
//! - no valid record anywhere after it: a torn tail, from a crash in the middle of a write
//!   ([`LogEnd::Torn`]); recovery truncates the file there;
//! - a valid record somewhere after it: corruption in the middle of the log, a hard
//!   [`PersistError::Corrupt`](super::PersistError::Corrupt) naming the file and offset.

use std::path::{Path, PathBuf};

use zk_core::jute::Decode;
use zk_core::txn::{FileHeader, TxnEntry};

use super::checksum::adler32;
use super::error::{IoContext, PersistError, Result};
use super::txnlog::{END_OF_RECORD, FILE_HEADER_LEN};

/// How the records of a log file end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEnd {
    /// At the end of the file or at zero padding, starting at `offset`.
    Clean {
        /// Where the data ends.
        offset: u64,
    },
    /// At a damaged record with nothing valid after it: a write cut short by a crash.
    Torn {
        /// Where the damaged record starts: the length to truncate the file to.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// The valid content of one log file.
#[derive(Debug, Clone)]
pub struct LogFileScan {
    /// The file.
    pub path: PathBuf,
    /// The file header; `None` when the file ends (or is all zeros) before one was written.
    pub header: Option<FileHeader>,
    /// Each valid record with the byte offset where it starts.
    pub entries: Vec<(u64, TxnEntry)>,
    /// How the records end.
    pub end: LogEnd,
}

/// Why a record at some offset is not valid.
enum Bad {
    /// Checksum, length or marker failure: the bytes are not a completed record.
    Torn(String),
    /// The checksum is right but the content does not decode: never a torn write.
    Undecodable(String),
}

/// Parses the record at `pos`; `Ok((entry, next))` when it is valid.
fn parse_record(buf: &[u8], pos: usize) -> Result<(TxnEntry, usize), Bad> {
    let rest = &buf[pos..];
    if rest.len() < 12 {
        return Err(Bad::Torn(format!(
            "{} bytes left, too short for a record",
            rest.len()
        )));
    }
    let crc = i64::from_be_bytes(rest[0..8].try_into().unwrap_or_default());
    let len = i32::from_be_bytes(rest[8..12].try_into().unwrap_or_default());
    if len <= 0 {
        return Err(Bad::Torn(format!("record length {len}")));
    }
    let len = len as usize;
    if len + 13 > rest.len() {
        return Err(Bad::Torn(format!(
            "record length {len} runs past the end of the file"
        )));
    }
    let data = &rest[12..12 + len];
    if rest[12 + len] != END_OF_RECORD {
        return Err(Bad::Torn("missing end-of-record marker 'B'".into()));
    }
    let actual = adler32(data);
    if actual != crc {
        return Err(Bad::Torn(format!(
            "checksum mismatch: stored {crc:#x}, computed {actual:#x}"
        )));
    }
    match TxnEntry::decode(data) {
        Ok(e) => Ok((e, pos + len + 13)),
        Err(e) => Err(Bad::Undecodable(format!(
            "checksum valid but record undecodable: {e}"
        ))),
    }
}

/// The offset of the first valid record at or after `from`, if any.
fn find_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    let mut p = from;
    while p + 13 < buf.len() {
        let len = i32::from_be_bytes([buf[p + 8], buf[p + 9], buf[p + 10], buf[p + 11]]);
        // Cheap filters before the checksum: positive length that fits, with its marker.
        if len > 0
            && (len as usize) + 13 <= buf.len() - p
            && buf[p + 12 + len as usize] == END_OF_RECORD
            && parse_record(buf, p).is_ok()
        {
            return Some(p);
        }
        p += 1;
    }
    None
}

/// Reads and checks a whole log file. Never modifies it.
pub fn scan_log_file(path: &Path) -> Result<LogFileScan> {
    let buf = std::fs::read(path).at(path)?;
    scan_log_bytes(path, &buf)
}

/// [`scan_log_file`] on bytes already read; `path` names them in errors.
pub fn scan_log_bytes(path: &Path, buf: &[u8]) -> Result<LogFileScan> {
    let hl = FILE_HEADER_LEN as usize;
    let mut scan = LogFileScan {
        path: path.to_path_buf(),
        header: None,
        entries: Vec::new(),
        end: LogEnd::Clean { offset: 0 },
    };
    if buf.len() < hl || buf[..hl].iter().all(|&b| b == 0) {
        if buf.iter().any(|&b| b != 0) {
            scan.end = LogEnd::Torn {
                offset: 0,
                reason: "file ends inside its header".into(),
            };
        } else if !buf.is_empty() {
            scan.end = LogEnd::Torn {
                offset: 0,
                reason: "no header was written".into(),
            };
        }
        return Ok(scan);
    }
    let header = FileHeader::from_bytes(&buf[..hl])
        .map_err(|e| PersistError::corrupt(path, 0, e.to_string()))?;
    if header.magic != FileHeader::LOG_MAGIC || header.version != FileHeader::VERSION {
        return Err(PersistError::corrupt(
            path,
            0,
            format!(
                "not a version 2 transaction log (magic {:#x}, version {})",
                header.magic, header.version
            ),
        ));
    }
    scan.header = Some(header);
    let mut pos = hl;
    loop {
        if pos == buf.len() {
            scan.end = LogEnd::Clean { offset: pos as u64 };
            return Ok(scan);
        }
        match parse_record(buf, pos) {
            Ok((entry, next)) => {
                scan.entries.push((pos as u64, entry));
                pos = next;
            }
            Err(Bad::Undecodable(reason)) => {
                return Err(PersistError::corrupt(path, pos as u64, reason));
            }
            Err(Bad::Torn(reason)) => {
                if buf[pos..].iter().all(|&b| b == 0) {
                    scan.end = LogEnd::Clean { offset: pos as u64 };
                    return Ok(scan);
                }
                if let Some(next) = find_valid_record(buf, pos + 1) {
                    return Err(PersistError::corrupt(
                        path,
                        pos as u64,
                        format!("{reason}; a valid record follows at byte {next}"),
                    ));
                }
                scan.end = LogEnd::Torn {
                    offset: pos as u64,
                    reason,
                };
                return Ok(scan);
            }
        }
    }
}
