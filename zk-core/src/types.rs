//! Enumerations of the data model: events, states, create modes, watch kinds, permissions.

use crate::error::DecodeError;

macro_rules! int_enum {
    ($(#[$m:meta])* pub enum $name:ident { $( $(#[$vm:meta])* $v:ident = $n:expr ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vm])* $v ),* }
        impl $name {
            /// The value for a wire integer, if defined.
            pub fn from_i32(v: i32) -> Option<Self> {
                match v { $( $n => Some($name::$v), )* _ => None }
            }
            /// The wire integer.
            pub fn as_i32(self) -> i32 {
                match self { $( $name::$v => $n, )* }
            }
        }
    };
}

int_enum! {
    /// The type of a watch event (`Watcher.Event.EventType`).
    pub enum EventType {
        /// A change of connection state, not of a node.
        None = -1,
        /// The node was created.
        NodeCreated = 1,
        /// The node was deleted.
        NodeDeleted = 2,
        /// The node's data changed.
        NodeDataChanged = 3,
        /// The node's list of children changed.
        NodeChildrenChanged = 4,
        /// A data watch was removed (client-local).
        DataWatchRemoved = 5,
        /// A child watch was removed (client-local).
        ChildWatchRemoved = 6,
        /// A persistent watch was removed (client-local).
        PersistentWatchRemoved = 7,
    }
}

int_enum! {
    /// The connection state carried in a watch event (`Watcher.Event.KeeperState`).
    pub enum KeeperState {
        /// Deprecated "unknown" state.
        Unknown = -1,
        /// Disconnected from the ensemble.
        Disconnected = 0,
        /// Deprecated.
        NoSyncConnected = 1,
        /// Connected: the only state a server sends.
        SyncConnected = 3,
        /// Authentication failed.
        AuthFailed = 4,
        /// Connected to a read-only server.
        ConnectedReadOnly = 5,
        /// SASL authentication succeeded.
        SaslAuthenticated = 6,
        /// The session expired.
        Expired = -112,
        /// The client was closed (client-local).
        Closed = 7,
    }
}

int_enum! {
    /// The mode of an `addWatch` request (`AddWatchMode`).
    pub enum AddWatchMode {
        /// Fires for the node itself, on every change, until removed.
        Persistent = 0,
        /// Fires for the node and every descendant, never NodeChildrenChanged, until removed.
        PersistentRecursive = 1,
    }
}

int_enum! {
    /// The watch kind of checkWatches and removeWatches (`Watcher.WatcherType`).
    pub enum WatcherType {
        /// Child watches.
        Children = 1,
        /// Data and exist watches.
        Data = 2,
        /// Every kind.
        Any = 3,
        /// Persistent watches (3.9+).
        Persistent = 4,
        /// Persistent-recursive watches (3.9+).
        PersistentRecursive = 5,
    }
}

/// How a node is created (`CreateMode`): the seven modes of Apache ZooKeeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateMode {
    /// A node that lives until deleted.
    Persistent,
    /// A node deleted when its session ends.
    Ephemeral,
    /// A persistent node with a sequence suffix.
    PersistentSequential,
    /// An ephemeral node with a sequence suffix.
    EphemeralSequential,
    /// A node the server deletes once its last child is gone.
    Container,
    /// A persistent node deleted after its TTL once childless and unmodified.
    PersistentWithTtl,
    /// A sequential node with a TTL.
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The wire flag.
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    /// The mode for a wire flag; any other flag is BadArguments on the server.
    pub fn from_flag(flag: i32) -> Option<CreateMode> {
        Some(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    /// Like [`CreateMode::from_flag`], as a decode error.
    pub fn decode_flag(flag: i32) -> Result<CreateMode, DecodeError> {
        Self::from_flag(flag).ok_or(DecodeError::BadValue {
            field: "flags",
            value: flag as i64,
        })
    }

    /// True for the modes that get a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// True for the session-owned modes.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// True for [`CreateMode::Container`].
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// True for the TTL modes.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// ACL permission bits (`ZooDefs.Perms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(pub i32);

impl Perms {
    /// May read data and list children.
    pub const READ: Perms = Perms(1);
    /// May set data.
    pub const WRITE: Perms = Perms(2);
    /// May create children.
    pub const CREATE: Perms = Perms(4);
    /// May delete children.
    pub const DELETE: Perms = Perms(8);
    /// May set the ACL.
    pub const ADMIN: Perms = Perms(16);
    /// Every permission.
    pub const ALL: Perms = Perms(31);

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any bit of `other` is set in `self`.
    pub fn intersects(self, other: Perms) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_flags_round_trip() {
        for f in 0..7 {
            assert_eq!(CreateMode::from_flag(f).unwrap().flag(), f);
        }
        assert_eq!(CreateMode::from_flag(7), None);
        assert_eq!(CreateMode::from_flag(-1), None);
        assert!(CreateMode::PersistentSequentialWithTtl.is_sequential());
        assert!(!CreateMode::Container.is_ephemeral());
    }

    #[test]
    fn enums_round_trip() {
        for v in -200..200 {
            if let Some(e) = EventType::from_i32(v) {
                assert_eq!(e.as_i32(), v);
            }
            if let Some(e) = KeeperState::from_i32(v) {
                assert_eq!(e.as_i32(), v);
            }
            if let Some(e) = WatcherType::from_i32(v) {
                assert_eq!(e.as_i32(), v);
            }
        }
        assert_eq!(KeeperState::from_i32(-112), Some(KeeperState::Expired));
    }

    #[test]
    fn perms() {
        assert!(Perms::ALL.contains(Perms::READ | Perms::ADMIN));
        assert!(!Perms::READ.intersects(Perms::WRITE));
    }
}
