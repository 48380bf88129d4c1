//! The client's error type: ZooKeeper outcomes kept apart from failures.

use thiserror::Error;
use zk_core::{ErrorCode, PathError};

/// The result of a client operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation did not succeed.
///
/// The variants fall in two groups:
///
/// * **Outcomes** the server decided ([`Error::NoNode`], [`Error::NodeExists`],
///   [`Error::BadVersion`], [`Error::NotEmpty`], [`Error::NoAuth`], ...): the request reached
///   the server, which refused it. Retrying the same request gets the same answer.
/// * **Failures** ([`Error::ConnectionLoss`], [`Error::SessionMoved`],
///   [`Error::SessionExpired`], [`Error::Timeout`], [`Error::Closed`], ...): the client could not learn the outcome or can no longer act.
///   [`Error::is_retryable`] tells which of them a retry loop may retry.
///
/// Nothing is retried silently by the client: a request whose outcome is unknown after a
/// connection loss fails with [`Error::ConnectionLoss`], and it may or may not have been applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The node does not exist (`NONODE`, -101).
    #[error("no node")]
    NoNode,
    /// The node already exists (`NODEEXISTS`, -110).
    #[error("node exists")]
    NodeExists,
    /// The expected version did not match (`BADVERSION`, -103).
    #[error("bad version")]
    BadVersion,
    /// The node has children (`NOTEMPTY`, -111).
    #[error("node not empty")]
    NotEmpty,
    /// The ACL refuses this connection's identities (`NOAUTH`, -102).
    #[error("not authorized")]
    NoAuth,
    /// Ephemeral nodes cannot have children (`NOCHILDRENFOREPHEMERALS`, -108).
    #[error("no children for ephemerals")]
    NoChildrenForEphemerals,
    /// The ACL is invalid (`INVALIDACL`, -114).
    #[error("invalid ACL")]
    InvalidAcl,
    /// The server refused the arguments (`BADARGUMENTS`, -8).
    #[error("bad arguments")]
    BadArguments,
    /// No such watch on the server (`NOWATCHER`, -121).
    #[error("no watcher")]
    NoWatcher,
    /// The server does not implement this request, or it is disabled (`UNIMPLEMENTED`, -6).
    #[error("unimplemented")]
    Unimplemented,
    /// A write was sent to a read-only server (`NOTREADONLY`, -119).
    #[error("not a read-only call")]
    NotReadOnly,
    /// A reconfiguration was refused: no quorum of the new configuration is connected and
    /// in sync with the leader (`NEWCONFIGNOQUORUM`, -13).
    #[error("no quorum of the new configuration is connected and up to date")]
    NewConfigNoQuorum,
    /// A reconfiguration was refused: another one is in progress (`RECONFIGINPROGRESS`, -14).
    #[error("another reconfiguration is in progress")]
    ReconfigInProgress,
    /// A reconfiguration was refused: the ensemble runs without `reconfigEnabled=true`
    /// (`RECONFIGDISABLED`, -123).
    #[error("reconfig is disabled")]
    ReconfigDisabled,
    /// Any other error code the server answered, kept as is (including unknown codes).
    #[error("server error: {0}")]
    Server(ErrorCode),
    /// An op of a multi failed; the transaction was not applied.
    #[error("multi op {index} failed: {source}")]
    MultiFailed {
        /// The index of the first failing op.
        index: usize,
        /// Why it failed.
        source: Box<Error>,
    },
    /// The path breaks ZooKeeper's rules; nothing was sent.
    #[error(transparent)]
    InvalidPath(#[from] PathError),
    /// An argument the client refuses before sending (for example a TTL mode without a TTL).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The connection was lost before the reply came; the outcome is unknown.
    #[error("connection loss")]
    ConnectionLoss,
    /// The session moved to another server while this request was on its way through a
    /// connection that no longer owns it (`SESSIONMOVED`, -118): the server ignored the
    /// request. Retryable: the client reconnects, and the request may be sent again.
    #[error("session moved")]
    SessionMoved,
    /// The session expired; this client is closed and a new one is needed.
    #[error("session expired")]
    SessionExpired,
    /// Authentication failed; this client is closed.
    #[error("authentication failed")]
    AuthFailed,
    /// The request or the connection attempt took longer than allowed; the outcome is unknown.
    #[error("timeout")]
    Timeout,
    /// The client was closed.
    #[error("client closed")]
    Closed,
    /// Too many requests are already waiting on this client; nothing was sent. Retry once
    /// some have been answered.
    #[error("too many pending requests")]
    Overloaded,
    /// The server broke the protocol (a reply the request cannot have); the connection is
    /// dropped.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The connect string could not be used.
    #[error("bad connect string: {0}")]
    ConnectString(String),
}

impl Error {
    /// Maps a server error code to an error; `Ok` is not an error and maps to `Server(Ok)`.
    pub fn from_code(code: ErrorCode) -> Error {
        match code {
            ErrorCode::NoNode => Error::NoNode,
            ErrorCode::NodeExists => Error::NodeExists,
            ErrorCode::BadVersion => Error::BadVersion,
            ErrorCode::NotEmpty => Error::NotEmpty,
            ErrorCode::NoAuth => Error::NoAuth,
            ErrorCode::NoChildrenForEphemerals => Error::NoChildrenForEphemerals,
            ErrorCode::InvalidAcl => Error::InvalidAcl,
            ErrorCode::BadArguments => Error::BadArguments,
            ErrorCode::NoWatcher => Error::NoWatcher,
            ErrorCode::Unimplemented => Error::Unimplemented,
            ErrorCode::NotReadOnly => Error::NotReadOnly,
            ErrorCode::NewConfigNoQuorum => Error::NewConfigNoQuorum,
            ErrorCode::ReconfigInProgress => Error::ReconfigInProgress,
            ErrorCode::ReconfigDisabled => Error::ReconfigDisabled,
            ErrorCode::ConnectionLoss => Error::ConnectionLoss,
            ErrorCode::SessionMoved => Error::SessionMoved,
            ErrorCode::SessionExpired => Error::SessionExpired,
            ErrorCode::AuthFailed => Error::AuthFailed,
            ErrorCode::OperationTimeout | ErrorCode::RequestTimeout => Error::Timeout,
            other => Error::Server(other),
        }
    }

    /// The ZooKeeper error code this error stands for, if it has one. For
    /// [`Error::MultiFailed`] it is the failing op's code.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::NoNode => ErrorCode::NoNode,
            Error::NodeExists => ErrorCode::NodeExists,
            Error::BadVersion => ErrorCode::BadVersion,
            Error::NotEmpty => ErrorCode::NotEmpty,
            Error::NoAuth => ErrorCode::NoAuth,
            Error::NoChildrenForEphemerals => ErrorCode::NoChildrenForEphemerals,
            Error::InvalidAcl => ErrorCode::InvalidAcl,
            Error::BadArguments => ErrorCode::BadArguments,
            Error::NoWatcher => ErrorCode::NoWatcher,
            Error::Unimplemented => ErrorCode::Unimplemented,
            Error::NotReadOnly => ErrorCode::NotReadOnly,
            Error::NewConfigNoQuorum => ErrorCode::NewConfigNoQuorum,
            Error::ReconfigInProgress => ErrorCode::ReconfigInProgress,
            Error::ReconfigDisabled => ErrorCode::ReconfigDisabled,
            Error::Server(c) => *c,
            Error::MultiFailed { source, .. } => return source.code(),
            Error::ConnectionLoss => ErrorCode::ConnectionLoss,
            Error::SessionMoved => ErrorCode::SessionMoved,
            Error::SessionExpired => ErrorCode::SessionExpired,
            Error::AuthFailed => ErrorCode::AuthFailed,
            Error::Timeout => ErrorCode::RequestTimeout,
            Error::InvalidPath(_)
            | Error::InvalidArgument(_)
            | Error::Closed
            | Error::Overloaded
            | Error::Protocol(_)
            | Error::ConnectString(_) => return None,
        })
    }

    /// True for failures after which the same request may succeed if retried: connection
    /// loss, a moved session, timeouts and overload (the client is still alive and may
    /// reconnect). Server outcomes, session expiry and a closed client are not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLoss | Error::SessionMoved | Error::Timeout | Error::Overloaded
        )
    }

    /// True for the failures that end the client: session expiry, authentication failure,
    /// and close.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Error::SessionExpired | Error::AuthFailed | Error::Closed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_both_ways() {
        for code in [
            ErrorCode::NoNode,
            ErrorCode::NodeExists,
            ErrorCode::BadVersion,
            ErrorCode::NotEmpty,
            ErrorCode::NoAuth,
            ErrorCode::SessionExpired,
            ErrorCode::SessionMoved,
            ErrorCode::Unknown(-999),
            ErrorCode::QuotaExceeded,
            ErrorCode::NewConfigNoQuorum,
            ErrorCode::ReconfigInProgress,
            ErrorCode::ReconfigDisabled,
            ErrorCode::BadArguments,
            ErrorCode::Unimplemented,
        ] {
            assert_eq!(Error::from_code(code).code(), Some(code));
        }
    }

    #[test]
    fn retryable_only_for_unknown_outcomes() {
        assert!(Error::ConnectionLoss.is_retryable());
        assert!(Error::Timeout.is_retryable());
        assert!(Error::SessionMoved.is_retryable());
        assert_eq!(
            Error::from_code(ErrorCode::SessionMoved),
            Error::SessionMoved,
            "a variant of its own, not Server(SessionMoved)"
        );
        assert!(!Error::NoNode.is_retryable());
        assert!(!Error::ReconfigInProgress.is_retryable());
        assert!(!Error::SessionExpired.is_retryable());
        assert!(Error::SessionExpired.is_terminal());
        let multi = Error::MultiFailed {
            index: 1,
            source: Box::new(Error::BadVersion),
        };
        assert_eq!(multi.code(), Some(ErrorCode::BadVersion));
        assert!(!multi.is_retryable());
    }
}
