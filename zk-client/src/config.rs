//! Dynamic reconfiguration, the client side: reading the ensemble's configuration
//! ([`Client::get_config`], and [`Client::get_config_and_watch`] in `watch`), changing it
//! ([`Client::reconfig`], [`Client::reconfig_with`] and [`Reconfig`]: Apache ZooKeeper's
//! `ZooKeeperAdmin.reconfigure`), and moving the session when the servers change
//! ([`Client::update_server_list`]).
//!
//! ```no_run
//! use zk_client::{Client, Reconfig};
//!
//! # async fn example() -> Result<(), zk_client::Error> {
//! let client = Client::builder()
//!     .auth("digest", b"super:test".to_vec())
//!     .connect("127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")
//!     .await?;
//! let (config, stat) = client.get_config().await?;
//! println!("{}", String::from_utf8_lossy(&config)); // server.1=...\nversion=100000000
//!
//! // Server 3 leaves, then comes back.
//! let (config, _) = client.reconfig_with(&Reconfig::incremental().remove_server(3)).await?;
//! let add = "server.3=127.0.0.1:2890:3890:participant;127.0.0.1:2183";
//! client.reconfig_with(&Reconfig::incremental().add_server(add)).await?;
//!
//! // Clients are told of the new servers; some move to balance the load.
//! client.update_server_list("127.0.0.1:2181,127.0.0.1:2182")?;
//! # let _ = (config, stat);
//! # Ok(()) }
//! ```

use std::future::Future;

use bytes::Bytes;
use zk_core::message::{Request, Response};
use zk_core::path::ConnectString;
use zk_core::proto::{GetDataRequest, ReconfigRequest};
use zk_core::Stat;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ops::{data_of, unexpected};

/// The node that holds the ensemble's configuration (`ZooDefs.CONFIG_NODE`). It is read and
/// watched at this path whatever the client's chroot.
pub(crate) const CONFIG_NODE: &str = "/zookeeper/config";

/// A reconfiguration request (`ReconfigRequest`, Apache ZooKeeper's
/// `ZooKeeperAdmin.reconfigure`), built incrementally or from a whole new membership.
///
/// * **Incremental** ([`Reconfig::incremental`]): servers added ([`Reconfig::add_server`]: a new
///   server, or a known one with a new address or role) and removed by id
///   ([`Reconfig::remove_server`]); the others stay. Needs a majority quorum system.
/// * **Non-incremental** ([`Reconfig::members`]): the whole new membership. The server then
///   ignores added and removed servers.
///
/// Server lines are the dynamic configuration's: `server.<id>=<host>:<quorum port>:<election
/// port>[:participant|:observer];[<client host>:]<client port>`. On the wire each list is
/// comma-separated and an empty list is sent as null, as `ZooKeeperAdmin` does.
///
/// [`Reconfig::from_config`] makes the change conditional on the current configuration's
/// version (`version=` in the config data, hexadecimal there); without it (`-1` on the wire)
/// the change applies to whatever configuration is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconfig {
    joining: Vec<String>,
    leaving: Vec<String>,
    members: Option<Vec<String>>,
    from_config: i64,
}

impl Reconfig {
    /// An incremental reconfiguration with no change yet.
    pub fn incremental() -> Reconfig {
        Reconfig {
            joining: Vec::new(),
            leaving: Vec::new(),
            members: None,
            from_config: -1,
        }
    }

    /// A non-incremental reconfiguration: `members` (server lines) is the whole new
    /// membership.
    pub fn members<I, S>(members: I) -> Reconfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Reconfig {
            members: Some(members.into_iter().map(Into::into).collect()),
            ..Reconfig::incremental()
        }
    }

    /// Adds a joining server (a server line, `server.4=host:2888:3888:participant;2181`).
    pub fn add_server(mut self, server: impl Into<String>) -> Reconfig {
        self.joining.push(server.into());
        self
    }

    /// Adds a leaving server, by id.
    pub fn remove_server(mut self, server_id: u64) -> Reconfig {
        self.leaving.push(server_id.to_string());
        self
    }

    /// Applies the change only if the current configuration's version is `version`
    /// ([`Error::BadVersion`] otherwise).
    pub fn from_config(mut self, version: i64) -> Reconfig {
        self.from_config = version;
        self
    }

    /// The joining servers as sent (`joiningServers`): comma-separated, `None` when empty.
    pub fn joining(&self) -> Option<String> {
        join(&self.joining)
    }

    /// The leaving server ids as sent (`leavingServers`): comma-separated, `None` when empty.
    pub fn leaving(&self) -> Option<String> {
        join(&self.leaving)
    }

    /// The new membership as sent (`newMembers`): comma-separated, `None` for an incremental
    /// reconfiguration.
    pub fn new_members(&self) -> Option<String> {
        self.members.as_ref().map(|m| m.join(","))
    }

    /// The version the change is conditional on (`curConfigId`), `-1` for none.
    pub fn config_version(&self) -> i64 {
        self.from_config
    }

    fn request(&self) -> ReconfigRequest {
        ReconfigRequest {
            joining_servers: self.joining(),
            leaving_servers: self.leaving(),
            new_members: self.new_members(),
            cur_config_id: self.from_config,
        }
    }
}

fn join(list: &[String]) -> Option<String> {
    (!list.is_empty()).then(|| list.join(","))
}

impl Client {
    /// The ensemble's configuration: the data and Stat of `/zookeeper/config` (the Java
    /// client's `getConfig`), read outside the chroot. Each line of the data is a dynamic
    /// config line (`server.1=...`), and the last is `version=<hex>`. See
    /// [`Client::get_config_and_watch`] to be told of its next change.
    ///
    /// # Cancel safety
    ///
    /// The request is queued when called; dropping the future discards the answer.
    pub fn get_config(&self) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        let req = Ok(Request::GetData(GetDataRequest {
            path: CONFIG_NODE.into(),
            watch: false,
        }));
        self.op(req, |body| match body {
            Response::GetData(r) => Ok((data_of(r.data), r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// Changes the ensemble's membership (`reconfig`, op 16), with the request's fields as
    /// the Java `ZooKeeperAdmin.reconfigure(joining, leaving, newMembers, fromConfig, stat)`
    /// takes them: comma-separated server lines joining, comma-separated ids leaving, or the
    /// whole new membership (then `joining` and `leaving` are ignored by the server), and the
    /// version the change is conditional on (`-1`: none). Returns the new configuration's data
    /// and the Stat of `/zookeeper/config`. [`Client::reconfig_with`] builds the fields.
    ///
    /// The server refuses with [`Error::NoAuth`] (the session may not write
    /// `/zookeeper/config`: by default only the super user may), [`Error::BadArguments`] (a
    /// malformed server line, an unknown quorum system, too few voters left),
    /// [`Error::BadVersion`] (`from_config` is not the current version),
    /// [`Error::NewConfigNoQuorum`] (no quorum of the new configuration is connected and in
    /// sync), [`Error::ReconfigInProgress`], [`Error::ReconfigDisabled`] (no
    /// `reconfigEnabled=true`) or [`Error::Unimplemented`] (a standalone server).
    ///
    /// # Cancel safety
    ///
    /// The request is queued when called; dropping the future does not cancel the
    /// reconfiguration, it only discards the answer.
    pub fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        self.reconfig_request(ReconfigRequest {
            joining_servers: joining.map(str::to_owned),
            leaving_servers: leaving.map(str::to_owned),
            new_members: new_members.map(str::to_owned),
            cur_config_id: from_config,
        })
    }

    /// [`Client::reconfig`] with the fields of a [`Reconfig`].
    ///
    /// # Cancel safety
    ///
    /// As [`Client::reconfig`]: dropping the future discards the answer only.
    pub fn reconfig_with(
        &self,
        reconfig: &Reconfig,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        self.reconfig_request(reconfig.request())
    }

    fn reconfig_request(
        &self,
        req: ReconfigRequest,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        self.op(Ok(Request::Reconfig(req)), |body| match body {
            Response::GetData(r) => Ok((data_of(r.data), r.stat)),
            other => Err(unexpected(other)),
        })
    }

    /// Replaces the servers this client connects to (the Java client's
    /// `ZooKeeper.updateServerList`), typically with the client addresses of a new
    /// configuration. Returns true when the session moves to another server, false when it
    /// stays where it is.
    ///
    /// As in the Java client (`StaticHostProvider`): when the server the session is on is not
    /// in the new list, it always moves. When it is, and the list grew, it moves with
    /// probability `1 - old/new` to one of the servers new to the list, so that the load
    /// evens out over the clients; otherwise it stays. Moving keeps the session (its id,
    /// ephemeral nodes and watches): the connection is dropped and the session resumed on
    /// the new server. Requests in flight on the dropped connection fail with
    /// [`Error::ConnectionLoss`]; later ones wait for the new connection.
    ///
    /// `connect_string` has the [`Client::connect`] form. **Its chroot is ignored**, as the
    /// Java client's (which parses the new string with `ConnectStringParser` and uses only its
    /// hosts): the session keeps the chroot it was created with. A malformed string (no
    /// host, a bad port, an invalid chroot) fails with [`Error::ConnectString`] and changes
    /// nothing.
    pub fn update_server_list(&self, connect_string: &str) -> Result<bool> {
        let cs = ConnectString::parse(connect_string)
            .map_err(|e| Error::ConnectString(e.to_string()))?;
        let moving = self.shared().lock().update_hosts(cs.hosts, rand::random());
        self.shared().wake();
        Ok(moving)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_lists_are_comma_separated_and_null_when_empty() {
        let r = Reconfig::incremental()
            .add_server("server.4=h:1:2;3")
            .add_server("server.5=h:4:5;6")
            .remove_server(2);
        assert_eq!(
            r.request(),
            ReconfigRequest {
                joining_servers: Some("server.4=h:1:2;3,server.5=h:4:5;6".into()),
                leaving_servers: Some("2".into()),
                new_members: None,
                cur_config_id: -1,
            }
        );
        let r = Reconfig::incremental()
            .remove_server(1)
            .remove_server(3)
            .from_config(0x1_0000_0000);
        assert_eq!(r.joining(), None);
        assert_eq!(r.leaving().as_deref(), Some("1,3"));
        assert_eq!(r.config_version(), 0x1_0000_0000);
    }

    #[test]
    fn non_incremental_sends_the_members_only() {
        let r = Reconfig::members(["server.1=a:1:2;3", "server.2=b:1:2;3"]);
        assert_eq!(
            r.request(),
            ReconfigRequest {
                joining_servers: None,
                leaving_servers: None,
                new_members: Some("server.1=a:1:2;3,server.2=b:1:2;3".into()),
                cur_config_id: -1,
            }
        );
    }

    #[test]
    fn reconfig_request_golden_bytes() {
        // ReconfigRequest{null, "3", null, -1}: ustring null is length -1.
        let mut out = Vec::new();
        zk_core::jute::Encode::encode(
            &Reconfig::incremental().remove_server(3).request(),
            &mut out,
        );
        assert_eq!(
            hex::encode(out),
            concat!("ffffffff", "0000000133", "ffffffff", "ffffffffffffffff")
        );
    }
}
