//! The kinds of local watchers, the server watch tables they map to, and where their events
//! go.

use tokio::sync::{mpsc, oneshot};
use zk_core::WatchedEvent;

use crate::error::Error;

/// Identifies one watch value.
pub(crate) type WatcherId = u64;

/// What a watcher waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WatchKind {
    /// One-shot data watch (getData, or exists on an existing node).
    Data,
    /// One-shot exist watch (exists on a missing node).
    Exist,
    /// One-shot child watch (getChildren).
    Child,
    /// Persistent watch (addWatch mode 0).
    Persistent,
    /// Persistent-recursive watch (addWatch mode 1).
    PersistentRecursive,
}

/// Server-side watch tables: data and exist watches share the server's data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Data = 0,
    Child = 1,
    Persistent = 2,
    Recursive = 3,
}

impl WatchKind {
    pub(crate) fn class(self) -> Class {
        match self {
            WatchKind::Data | WatchKind::Exist => Class::Data,
            WatchKind::Child => Class::Child,
            WatchKind::Persistent => Class::Persistent,
            WatchKind::PersistentRecursive => Class::Recursive,
        }
    }
}

/// Where a watcher's events go.
#[derive(Debug)]
pub(crate) enum Sink {
    /// A one-shot watch: one event, or the error that ended the session.
    Oneshot(oneshot::Sender<Result<WatchedEvent, Error>>),
    /// A persistent watch: events until removed; the stream ends when the sender is dropped.
    Stream(mpsc::UnboundedSender<WatchedEvent>),
}
