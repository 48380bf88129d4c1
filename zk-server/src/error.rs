//! Errors of the server library.

use thiserror::Error;

/// A server failure.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A configuration file or value that cannot be used.
    #[error("config {file}: line {line}: {reason}")]
    Config {
        /// The file (or `<env>`).
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An IO failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
