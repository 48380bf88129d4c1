//! How zkCli.sh prints things: stats, dates, ACLs, lists, watch events, errors.
//!
//! Every function here is pure, so the exact formats are unit-tested without a server.

use zk_core::{Acl, EventType, KeeperState, Perms, Stat};

pub use crate::time_fmt::java_date;

/// A stat as `StatPrinter` prints it: eleven `name = value` lines, each ending in a newline.
pub fn stat(s: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\n\
         cversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\n\
         dataLength = {}\nnumChildren = {}\n",
        s.czxid.0,
        java_date(s.ctime),
        s.mzxid.0,
        java_date(s.mtime),
        s.pzxid.0,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner.0,
        s.data_length,
        s.num_children
    )
}

/// Permissions as `getPermString` spells them, in the order `cdrwa`.
pub fn perms(p: Perms) -> String {
    let mut out = String::new();
    for (bit, c) in [
        (Perms::CREATE, 'c'),
        (Perms::DELETE, 'd'),
        (Perms::READ, 'r'),
        (Perms::WRITE, 'w'),
        (Perms::ADMIN, 'a'),
    ] {
        if p.contains(bit) {
            out.push(c);
        }
    }
    out
}

/// Escapes a string as jute's `CsvOutputArchive` does (the form `Id.toString()` uses).
fn csv(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// An ACL list as `getAcl` prints it: `'scheme,'id` then `: perms` for each entry.
pub fn acl_list(acl: &[Acl]) -> String {
    let mut out = String::new();
    for a in acl {
        out.push_str(&format!(
            "{},{}\n: {}\n",
            csv(&a.id.scheme),
            csv(&a.id.id),
            perms(a.perms())
        ));
    }
    out
}

/// A list as Java's `AbstractCollection.toString()` prints it: `[a, b]`.
pub fn java_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", items.join(", "))
}

/// A node's data as zkCli.sh prints it: `null` for null data, else the bytes as UTF-8.
pub fn data(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "null".to_owned(),
        Some(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// The name Java gives a `KeeperState`.
pub fn keeper_state(s: KeeperState) -> &'static str {
    match s {
        KeeperState::Unknown => "Unknown",
        KeeperState::Disconnected => "Disconnected",
        KeeperState::NoSyncConnected => "NoSyncConnected",
        KeeperState::SyncConnected => "SyncConnected",
        KeeperState::AuthFailed => "AuthFailed",
        KeeperState::ConnectedReadOnly => "ConnectedReadOnly",
        KeeperState::SaslAuthenticated => "SaslAuthenticated",
        KeeperState::Expired => "Expired",
        KeeperState::Closed => "Closed",
    }
}

/// The name Java gives an `EventType`.
pub fn event_type(t: EventType) -> &'static str {
    match t {
        EventType::None => "None",
        EventType::NodeCreated => "NodeCreated",
        EventType::NodeDeleted => "NodeDeleted",
        EventType::NodeDataChanged => "NodeDataChanged",
        EventType::NodeChildrenChanged => "NodeChildrenChanged",
        EventType::DataWatchRemoved => "DataWatchRemoved",
        EventType::ChildWatchRemoved => "ChildWatchRemoved",
        EventType::PersistentWatchRemoved => "PersistentWatchRemoved",
    }
}

/// A watch event as zkCli.sh's watcher prints it, blank lines included:
/// `\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/x\n`.
///
/// An empty path (a state event) prints as `null`.
pub fn watcher_event(state: KeeperState, t: EventType, path: &str) -> String {
    let path = if path.is_empty() { "null" } else { path };
    format!(
        "\nWATCHER::\n\nWatchedEvent state:{} type:{} path:{}\n",
        keeper_state(state),
        event_type(t),
        path
    )
}

/// `whoami`'s output for (scheme, user) pairs.
pub fn who_am_i(infos: &[(String, String)]) -> String {
    let mut out = String::from("Auth scheme: User\n");
    for (scheme, user) in infos {
        out.push_str(&format!("{scheme}: {user}\n"));
    }
    out
}

/// The message zkCli.sh prints for a failed operation on `path` (`CliWrapperException` and
/// `KeeperException.getMessage()` of Apache ZooKeeper 3.8).
pub fn error(e: &zk_client::Error, path: &str) -> String {
    use zk_client::Error as E;
    match e {
        E::NoNode => format!("Node does not exist: {path}"),
        E::NodeExists => format!("Node already exists: {path}"),
        E::NotEmpty => format!("Node not empty: {path}"),
        E::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
        E::NoAuth => format!("Insufficient permission : {path}"),
        E::InvalidAcl => format!("Acl is not valid : {path}"),
        E::BadArguments => format!("Arguments are not valid : {path}"),
        E::BadVersion => format!("version No is not valid : {path}"),
        E::NotReadOnly => format!("Not a read-only call: {path}"),
        E::ReconfigInProgress => {
            "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
                .to_owned()
        }
        // "commmitted": zkCli.sh's spelling.
        E::NewConfigNoQuorum => "No quorum of new config is connected and up-to-date with the \
             leader of last commmitted config - try invoking reconfiguration after new servers \
             are connected and synced"
            .to_owned(),
        E::MultiFailed { source, .. } => error(source, path),
        E::InvalidPath(p) => capitalize(p.reason),
        E::InvalidArgument(m) => capitalize(m),
        E::Closed => "Not connected".to_owned(),
        // KeeperException.getMessage: no " for" without a path.
        other if path.is_empty() => format!("KeeperErrorCode = {}", keeper_code_message(other)),
        other => format!(
            "KeeperErrorCode = {} for {path}",
            keeper_code_message(other)
        ),
    }
}

/// `KeeperException.getCodeMessage` for the codes without a dedicated zkCli message.
fn keeper_code_message(e: &zk_client::Error) -> String {
    use zk_client::Error as E;
    use zk_core::ErrorCode as C;
    match e {
        E::ConnectionLoss => "ConnectionLoss".into(),
        E::SessionExpired => "Session expired".into(),
        E::SessionMoved => "Session moved".into(),
        E::AuthFailed => "AuthFailed".into(),
        E::Timeout => "OperationTimeout".into(),
        E::NoWatcher => "No such watcher".into(),
        E::Unimplemented => "Unimplemented".into(),
        E::InvalidAcl => "InvalidACL".into(),
        E::ReconfigDisabled => "Reconfig is disabled".into(),
        E::NewConfigNoQuorum => "NewConfigNoQuorum".into(),
        E::ReconfigInProgress => "ReconfigInProgress".into(),
        E::Server(c) => match c {
            C::SystemError => "SystemError".into(),
            C::RuntimeInconsistency => "RuntimeInconsistency".into(),
            C::DataInconsistency => "DataInconsistency".into(),
            C::MarshallingError => "MarshallingError".into(),
            C::QuotaExceeded => "Quota has exceeded".into(),
            C::ApiError => "APIError".into(),
            other => format!("{other}"),
        },
        other => other.to_string(),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_core::{Id, SessionId, Zxid};

    #[test]
    fn stat_lines() {
        let s = Stat {
            czxid: Zxid(2),
            mzxid: Zxid(0x10),
            ctime: 0,
            mtime: 0,
            version: 2,
            cversion: 1,
            aversion: 0,
            ephemeral_owner: SessionId(0x1000abc),
            data_length: 5,
            num_children: 0,
            pzxid: Zxid(2),
        };
        assert_eq!(
            stat(&s),
            "cZxid = 0x2\nctime = Thu Jan 01 00:00:00 UTC 1970\nmZxid = 0x10\n\
             mtime = Thu Jan 01 00:00:00 UTC 1970\npZxid = 0x2\ncversion = 1\ndataVersion = 2\n\
             aclVersion = 0\nephemeralOwner = 0x1000abc\ndataLength = 5\nnumChildren = 0\n"
        );
    }

    #[test]
    fn acls_print_like_jute() {
        let acl = vec![
            Acl::new(Perms::READ, Id::anyone()),
            Acl::new(
                Perms::ALL,
                Id::new("digest", "u:BvFaefuhWURhnvpD7ipe45CKTpk="),
            ),
            Acl::new(Perms(Perms::CREATE.0 | Perms::ADMIN.0), Id::new("x", "a,b")),
        ];
        assert_eq!(
            acl_list(&acl),
            "'world,'anyone\n: r\n'digest,'u:BvFaefuhWURhnvpD7ipe45CKTpk=\n: cdrwa\n'x,'a%2Cb\n: ca\n"
        );
    }

    #[test]
    fn lists_data_and_events() {
        assert_eq!(java_list(&["a", "zookeeper"]), "[a, zookeeper]");
        assert_eq!(java_list::<&str>(&[]), "[]");
        assert_eq!(data(None), "null");
        assert_eq!(data(Some(b"hi")), "hi");
        assert_eq!(data(Some(b"")), "");
        assert_eq!(
            watcher_event(KeeperState::SyncConnected, EventType::None, ""),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"
        );
        assert_eq!(
            who_am_i(&[
                ("digest".into(), "u".into()),
                ("ip".into(), "127.0.0.1".into())
            ]),
            "Auth scheme: User\ndigest: u\nip: 127.0.0.1\n"
        );
    }

    #[test]
    fn errors_read_like_zkcli() {
        use zk_client::Error as E;
        assert_eq!(error(&E::NoNode, "/x"), "Node does not exist: /x");
        assert_eq!(error(&E::NodeExists, "/x"), "Node already exists: /x");
        assert_eq!(error(&E::NoAuth, "/x"), "Insufficient permission : /x");
        assert_eq!(error(&E::BadVersion, "/x"), "version No is not valid : /x");
        assert_eq!(
            error(&E::NoWatcher, "/x"),
            "KeeperErrorCode = No such watcher for /x"
        );
        let bad = zk_core::path::validate_path("x", false).unwrap_err();
        assert_eq!(
            error(&E::InvalidPath(bad), "x"),
            "Path must start with / character"
        );
    }
}
