//! The recipes' error type.

use thiserror::Error;

/// The result of a recipe operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a recipe operation did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The client failed or the server refused a request, after the retry policy gave up.
    #[error(transparent)]
    Client(#[from] zk_client::Error),
    /// The recipe was closed, or its framework was closed.
    #[error("recipe or framework closed")]
    Closed,
    /// The caller released a lock it does not hold.
    #[error("not held: {0}")]
    NotHeld(&'static str),
    /// The connection was lost while the operation waited (the error policy counted the
    /// connection state as an error).
    #[error("connection lost while waiting: {0}")]
    ConnectionLost(&'static str),
    /// Our sequential node vanished (session expired or someone deleted it) and the retry
    /// policy gave up creating a new one.
    #[error("our node vanished: {0}")]
    NodeVanished(String),
    /// A stored value had an encoding the recipe cannot read.
    #[error("corrupt data at {path}: {what}")]
    CorruptData {
        /// The node.
        path: String,
        /// What was wrong.
        what: &'static str,
    },
    /// An argument the recipe refuses.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

impl Error {
    /// True for the errors that carry [`zk_client::Error::NoNode`].
    pub fn is_no_node(&self) -> bool {
        matches!(self, Error::Client(zk_client::Error::NoNode))
    }
}
