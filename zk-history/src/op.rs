//! The client side of a run: operations, their outcomes, and the [`History`] that holds them.

use std::fmt;

use zk_core::{ErrorCode, SessionId, Zxid};

/// Who ran an operation: one ZooKeeper session, as the recorder names it.
///
/// Per-session order is checked per `ClientId`, so a client that needs a new session (after
/// its old one expired) takes a new id. A session that moves to another server keeps its id:
/// ZooKeeper keeps its order across reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientId(pub u32);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client {}", self.0)
    }
}

/// An operation's position in its [`History`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub usize);

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a client asked. Paths are znode paths as the server sees them (chroot included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// getData of `path`.
    Read {
        /// The node.
        path: String,
    },
    /// setData of `path` to `data`. `version` `None` writes unconditionally (-1 on the wire);
    /// `Some(v)` is a compare-and-set that succeeds only while the node's version is `v`.
    Set {
        /// The node.
        path: String,
        /// The new data: unique within the history (see the crate docs).
        data: Vec<u8>,
        /// The expected version, if any.
        version: Option<i32>,
    },
    /// create of the persistent, non-sequential node `path` holding `data`.
    Create {
        /// The node.
        path: String,
        /// Its data: unique within the history.
        data: Vec<u8>,
    },
    /// delete of `path`; `version` as for [`Operation::Set`].
    Delete {
        /// The node.
        path: String,
        /// The expected version, if any.
        version: Option<i32>,
    },
}

impl Operation {
    /// The node the operation is about.
    pub fn path(&self) -> &str {
        match self {
            Operation::Read { path }
            | Operation::Set { path, .. }
            | Operation::Create { path, .. }
            | Operation::Delete { path, .. } => path,
        }
    }

    /// True for every operation but a read.
    pub fn is_write(&self) -> bool {
        !matches!(self, Operation::Read { .. })
    }

    /// The data the operation writes (sets and creates).
    pub fn data(&self) -> Option<&[u8]> {
        match self {
            Operation::Set { data, .. } | Operation::Create { data, .. } => Some(data),
            Operation::Read { .. } | Operation::Delete { .. } => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Read { path } => write!(f, "read {path}"),
            Operation::Set {
                path,
                data,
                version,
            } => {
                write!(f, "set {path} = {}", ShowData(data))?;
                if let Some(v) = version {
                    write!(f, " if version {v}")?;
                }
                Ok(())
            }
            Operation::Create { path, data } => write!(f, "create {path} = {}", ShowData(data)),
            Operation::Delete { path, version } => {
                write!(f, "delete {path}")?;
                if let Some(v) = version {
                    write!(f, " if version {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// What a successful reply said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// getData: the node's data and `Stat.version`.
    Read {
        /// The data (null data reads as empty).
        data: Vec<u8>,
        /// `Stat.version`.
        version: i32,
    },
    /// setData: the node's new `Stat.version`.
    Set {
        /// `Stat.version` after the write.
        version: i32,
    },
    /// The create succeeded.
    Created,
    /// The delete succeeded.
    Deleted,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Read { data, version } => write!(f, "{} version {version}", ShowData(data)),
            Reply::Set { version } => write!(f, "version {version}"),
            Reply::Created => f.write_str("created"),
            Reply::Deleted => f.write_str("deleted"),
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with a result.
    Ok {
        /// `ReplyHeader.zxid`.
        zxid: Zxid,
        /// The result.
        reply: Reply,
    },
    /// The server answered with an error code (NoNode, NodeExists, BadVersion, NotEmpty, ...):
    /// a definite outcome. A failed write has consumed a zxid of its own, that of its error
    /// transaction.
    Error {
        /// `ReplyHeader.zxid`.
        zxid: Zxid,
        /// `ReplyHeader.err`.
        code: ErrorCode,
    },
    /// No answer, or an answer that does not tell (connection loss, timeout, session expiry,
    /// or never completed): a write may or may not have been applied.
    Unknown,
}

impl Outcome {
    /// The reply zxid, when the server answered.
    pub fn zxid(&self) -> Option<Zxid> {
        match self {
            Outcome::Ok { zxid, .. } | Outcome::Error { zxid, .. } => Some(*zxid),
            Outcome::Unknown => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok { zxid, reply } => write!(f, "ok at {zxid}: {reply}"),
            Outcome::Error { zxid, code } => write!(f, "error at {zxid}: {code}"),
            Outcome::Unknown => f.write_str("unknown"),
        }
    }
}

/// One operation of a history: who ran it, when, what, and how it ended.
///
/// Times are opaque monotonic ticks from the recorder (virtual time in a simulator,
/// `Instant`-derived in real tests); only their order matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The session it ran on.
    pub client: ClientId,
    /// The session's id, when known: checked against the committed transaction's.
    pub session_id: Option<SessionId>,
    /// When it was issued.
    pub invoked: u64,
    /// When its outcome came (`None`: never, so it is [`Outcome::Unknown`]).
    pub completed: Option<u64>,
    /// What was asked.
    pub operation: Operation,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.client)?;
        if let Some(s) = self.session_id {
            write!(f, " (session {s})")?;
        }
        write!(f, " [{}..", self.invoked)?;
        match self.completed {
            Some(c) => write!(f, "{c}]")?,
            None => f.write_str("]")?,
        }
        write!(f, " {} -> {}", self.operation, self.outcome)
    }
}

/// The operations of a run, in the order they were recorded (invocation order).
///
/// Per-session order is the order of [`Op::invoked`], ties broken by position, so a recorder
/// stamps invocations in the order the requests are queued on their session (the
/// [`Recorder`](crate::Recorder) does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    ops: Vec<Op>,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Appends an operation and returns its id.
    pub fn push(&mut self, op: Op) -> OpId {
        self.ops.push(op);
        OpId(self.ops.len() - 1)
    }

    /// Every operation; an operation's index is its [`OpId`].
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Every operation, to edit (tests that corrupt a history on purpose).
    pub fn ops_mut(&mut self) -> &mut [Op] {
        &mut self.ops
    }

    /// The operation `id`.
    pub fn get(&self, id: OpId) -> Option<&Op> {
        self.ops.get(id.0)
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl From<Vec<Op>> for History {
    fn from(ops: Vec<Op>) -> History {
        History { ops }
    }
}

/// Node data for messages: quoted when it is printable text, hex otherwise, cut at 48 bytes.
pub(crate) struct ShowData<'a>(pub(crate) &'a [u8]);

impl fmt::Display for ShowData<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 48;
        let shown = &self.0[..self.0.len().min(MAX)];
        let more = if self.0.len() > MAX { "..." } else { "" };
        match std::str::from_utf8(shown) {
            Ok(s) if s.chars().all(|c| !c.is_control()) => write!(f, "{s:?}{more}"),
            _ => {
                f.write_str("0x")?;
                for b in shown {
                    write!(f, "{b:02x}")?;
                }
                f.write_str(more)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_print_what_a_failing_test_needs() {
        let op = Op {
            client: ClientId(3),
            session_id: Some(SessionId(0x10)),
            invoked: 5,
            completed: Some(9),
            operation: Operation::Set {
                path: "/k".into(),
                data: b"v1".to_vec(),
                version: Some(2),
            },
            outcome: Outcome::Ok {
                zxid: Zxid(0x1f),
                reply: Reply::Set { version: 3 },
            },
        };
        assert_eq!(
            op.to_string(),
            "client 3 (session 0x10) [5..9] set /k = \"v1\" if version 2 -> ok at 0x1f: version 3"
        );
        assert_eq!(ShowData(&[0, 1, 0xff]).to_string(), "0x0001ff");
        assert_eq!(ShowData(&[b'a'; 50]).to_string().len(), 48 + 2 + 3);
    }
}
