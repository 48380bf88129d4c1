//! [`Version`]: the version a conditional write or check expects.

/// The version a conditional operation expects of a node: [`Client::delete`],
/// [`Client::set_data`], [`Client::set_acl`] and the ops of a [`MultiBuilder`], `check`
/// included. The server refuses a mismatch with [`Error::BadVersion`].
///
/// ```no_run
/// # async fn f(client: zk_client::Client) -> zk_client::Result<()> {
/// use zk_client::Version;
/// let (_, stat) = client.get_data("/config").await?;
/// // Compare-and-set: only if nobody wrote since the read.
/// client.set_data("/config", b"v2", Version::Exact(stat.version)).await?;
/// client.delete("/config", Version::Any).await?;
/// # Ok(()) }
/// ```
///
/// [`Client::delete`]: crate::Client::delete
/// [`Client::set_data`]: crate::Client::set_data
/// [`Client::set_acl`]: crate::Client::set_acl
/// [`MultiBuilder`]: crate::MultiBuilder
/// [`Error::BadVersion`]: crate::Error::BadVersion
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// Any version: the operation is unconditional (`-1` on the wire). For a check, the node
    /// only has to exist.
    #[default]
    Any,
    /// Exactly this version: a Stat's `version` for data, its `aversion` for the ACL. (`-1`
    /// means any version to the server, as in every ZooKeeper client.)
    Exact(i32),
}

impl Version {
    /// The wire value: `-1` for [`Version::Any`].
    pub fn as_i32(self) -> i32 {
        match self {
            Version::Any => -1,
            Version::Exact(v) => v,
        }
    }
}

/// `None` is [`Version::Any`], `Some(v)` is [`Version::Exact`]: for versions that come
/// optional, such as zkCli.sh's `-v`.
impl From<Option<i32>> for Version {
    fn from(v: Option<i32>) -> Version {
        v.map_or(Version::Any, Version::Exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values() {
        assert_eq!(Version::Any.as_i32(), -1);
        assert_eq!(Version::Exact(0).as_i32(), 0);
        assert_eq!(Version::Exact(7).as_i32(), 7);
        assert_eq!(Version::default(), Version::Any);
        assert_eq!(Version::from(None), Version::Any);
        assert_eq!(Version::from(Some(3)), Version::Exact(3));
    }
}
