//! Watch events as values (`WatchedEvent`).

use crate::error::DecodeError;
use crate::proto::WatcherEvent;
use crate::types::{EventType, KeeperState};

/// A watch event: what happened, the connection state, and the node's path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The connection state (a server only ever sends SyncConnected).
    pub state: KeeperState,
    /// The path of the node the event is about; empty for state-only events.
    pub path: String,
}

impl TryFrom<WatcherEvent> for WatchedEvent {
    type Error = DecodeError;

    fn try_from(e: WatcherEvent) -> Result<Self, Self::Error> {
        Ok(WatchedEvent {
            event_type: EventType::from_i32(e.event_type).ok_or(DecodeError::BadValue {
                field: "WatcherEvent.type",
                value: e.event_type as i64,
            })?,
            state: KeeperState::from_i32(e.state).ok_or(DecodeError::BadValue {
                field: "WatcherEvent.state",
                value: e.state as i64,
            })?,
            path: e.path,
        })
    }
}

impl From<&WatchedEvent> for WatcherEvent {
    fn from(e: &WatchedEvent) -> WatcherEvent {
        WatcherEvent {
            event_type: e.event_type.as_i32(),
            state: e.state.as_i32(),
            path: e.path.clone(),
        }
    }
}
