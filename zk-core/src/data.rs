//! The data records of `org.apache.zookeeper.data`: Id, ACL, Stat, StatPersisted, ClientInfo.

use crate::ids::{SessionId, Zxid};
use crate::jute_record;
use crate::types::Perms;

jute_record! {
    /// An identity: `Id { ustring scheme; ustring id; }`.
    pub struct Id {
        pub scheme: String,
        pub id: String,
    }
}

impl Id {
    /// An id from its scheme and value.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// `world:anyone` (`Ids.ANYONE_ID_UNSAFE`).
    pub fn anyone() -> Id {
        Id::new("world", "anyone")
    }

    /// `auth:` (`Ids.AUTH_IDS`): at create or setACL time, every authenticated id of the caller.
    pub fn auth() -> Id {
        Id::new("auth", "")
    }
}

jute_record! {
    /// An access control entry: `ACL { int perms; Id id; }` (perms first on the wire).
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }
}

impl Acl {
    /// An entry granting `perms` to `id`.
    pub fn new(perms: Perms, id: Id) -> Acl {
        Acl { perms: perms.0, id }
    }

    /// The entry's permissions.
    pub fn perms(&self) -> Perms {
        Perms(self.perms)
    }

    /// `Ids.OPEN_ACL_UNSAFE`: every permission for everyone.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::anyone())]
    }

    /// `Ids.CREATOR_ALL_ACL`: every permission for the creator's authenticated ids.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::auth())]
    }

    /// `Ids.READ_ACL_UNSAFE`: read for everyone.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::READ, Id::anyone())]
    }
}

jute_record! {
    /// A node's metadata as clients see it: `Stat` (68 bytes).
    pub struct Stat {
        pub czxid: Zxid,
        pub mzxid: Zxid,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: SessionId,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: Zxid,
    }
}

jute_record! {
    /// A node's metadata as the server stores it: `StatPersisted` (no dataLength or numChildren).
    pub struct StatPersisted {
        pub czxid: Zxid,
        pub mzxid: Zxid,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub pzxid: Zxid,
    }
}

jute_record! {
    /// One authenticated identity of a connection, as whoAmI reports it:
    /// `ClientInfo { ustring authScheme; ustring user; }`.
    pub struct ClientInfo {
        pub auth_scheme: String,
        pub user: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{Decode, Encode};

    #[test]
    fn sizes() {
        assert_eq!(Stat::default().to_bytes().len(), 68);
        assert_eq!(StatPersisted::default().to_bytes().len(), 60);
    }

    #[test]
    fn acl_golden() {
        let bytes = Acl::open_unsafe()[0].to_bytes();
        assert_eq!(
            bytes,
            [
                0, 0, 0, 0x1f, 0, 0, 0, 5, b'w', b'o', b'r', b'l', b'd', 0, 0, 0, 6, b'a', b'n',
                b'y', b'o', b'n', b'e'
            ]
        );
        assert_eq!(Acl::from_bytes(&bytes).unwrap(), Acl::open_unsafe()[0]);
    }
}
