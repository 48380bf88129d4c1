//! Error codes (`KeeperException.Code`).

use std::fmt;

/// A ZooKeeper error code as carried in `ReplyHeader.err`, multi results and `ErrorResponse`.
///
/// A code the protocol does not define is kept as [`ErrorCode::Unknown`], never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ErrorCode {
    Ok,
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    UnknownSession,
    NewConfigNoQuorum,
    ReconfigInProgress,
    ApiError,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidAcl,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    RequestTimeout,
    ReconfigDisabled,
    SessionClosedRequireSaslAuth,
    QuotaExceeded,
    ThrottledOp,
    /// A code this protocol version does not define.
    Unknown(i32),
}

const TABLE: &[(ErrorCode, i32, &str)] = &[
    (ErrorCode::Ok, 0, "ok"),
    (ErrorCode::SystemError, -1, "system error"),
    (ErrorCode::RuntimeInconsistency, -2, "runtime inconsistency"),
    (ErrorCode::DataInconsistency, -3, "data inconsistency"),
    (ErrorCode::ConnectionLoss, -4, "connection loss"),
    (ErrorCode::MarshallingError, -5, "marshalling error"),
    (ErrorCode::Unimplemented, -6, "unimplemented"),
    (ErrorCode::OperationTimeout, -7, "operation timeout"),
    (ErrorCode::BadArguments, -8, "bad arguments"),
    (ErrorCode::UnknownSession, -12, "unknown session"),
    (ErrorCode::NewConfigNoQuorum, -13, "new config no quorum"),
    (ErrorCode::ReconfigInProgress, -14, "reconfig in progress"),
    (ErrorCode::ApiError, -100, "api error"),
    (ErrorCode::NoNode, -101, "no node"),
    (ErrorCode::NoAuth, -102, "not authenticated"),
    (ErrorCode::BadVersion, -103, "bad version"),
    (
        ErrorCode::NoChildrenForEphemerals,
        -108,
        "no children for ephemerals",
    ),
    (ErrorCode::NodeExists, -110, "node exists"),
    (ErrorCode::NotEmpty, -111, "directory not empty"),
    (ErrorCode::SessionExpired, -112, "session expired"),
    (ErrorCode::InvalidCallback, -113, "invalid callback"),
    (ErrorCode::InvalidAcl, -114, "invalid ACL"),
    (ErrorCode::AuthFailed, -115, "auth failed"),
    (ErrorCode::SessionMoved, -118, "session moved"),
    (ErrorCode::NotReadOnly, -119, "not a read-only call"),
    (
        ErrorCode::EphemeralOnLocalSession,
        -120,
        "ephemeral on local session",
    ),
    (ErrorCode::NoWatcher, -121, "no watcher"),
    (ErrorCode::RequestTimeout, -122, "request timeout"),
    (ErrorCode::ReconfigDisabled, -123, "reconfig disabled"),
    (
        ErrorCode::SessionClosedRequireSaslAuth,
        -124,
        "session closed because client failed to authenticate",
    ),
    (ErrorCode::QuotaExceeded, -125, "quota has exceeded"),
    (
        ErrorCode::ThrottledOp,
        -127,
        "op throttled due to high load",
    ),
];

impl ErrorCode {
    /// The error code for a wire value; undefined values become [`ErrorCode::Unknown`].
    pub fn from_i32(v: i32) -> ErrorCode {
        TABLE
            .iter()
            .find(|(_, c, _)| *c == v)
            .map(|(e, _, _)| *e)
            .unwrap_or(ErrorCode::Unknown(v))
    }

    /// The wire value.
    pub fn as_i32(self) -> i32 {
        if let ErrorCode::Unknown(v) = self {
            return v;
        }
        TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .map(|(_, c, _)| *c)
            .expect("every named code is in TABLE")
    }

    /// True for [`ErrorCode::Ok`].
    pub fn is_ok(self) -> bool {
        self == ErrorCode::Ok
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(v) => write!(f, "unknown error code {v}"),
            e => {
                let (_, code, text) = TABLE.iter().find(|(x, _, _)| x == e).expect("in TABLE");
                write!(f, "{text} ({code})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_kept() {
        for (e, c, _) in TABLE {
            assert_eq!(ErrorCode::from_i32(*c), *e);
            assert_eq!(e.as_i32(), *c);
        }
        assert_eq!(ErrorCode::from_i32(-9), ErrorCode::Unknown(-9));
        assert_eq!(ErrorCode::Unknown(-9).as_i32(), -9);
        assert_eq!(ErrorCode::NoNode.to_string(), "no node (-101)");
    }
}
