//! [`SharedCount`]: a minimal Curator `SharedCount` (a 4-byte big-endian int32 in one node).

use zk_client::{CreateMode, OneshotWatch, Version};

use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::protected::create_with_parents;

/// Curator's SharedCount encoding: `ByteBuffer.putInt`, 4 bytes big-endian.
pub fn encode_count(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

/// Reads a SharedCount value; `None` unless exactly 4 bytes.
pub fn decode_count(data: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(data.try_into().ok()?))
}

/// A shared integer at one PERSISTENT node, byte-compatible with Curator's `SharedCount` and
/// `DistributedAtomicInteger` (and kazoo's `Counter(support_curator=True)`).
///
/// # Znode layout
///
/// One PERSISTENT node `<path>` (parents as containers) whose data is the value as 4 bytes,
/// big-endian (`ByteBuffer.putInt`). Conditional writes use the node's data version.
///
/// # Connection loss
///
/// Unlike Curator's, it keeps no cached value and no listeners: every read goes to the server
/// (retried per the retry policy), so there is nothing to go stale across a suspension. A
/// write whose outcome is unknown after a connection loss is retried by `set_count` (it is
/// idempotent) but not by `try_set_count`, which returns the error.
#[derive(Debug, Clone)]
pub struct SharedCount {
    fw: Framework,
    path: String,
}

impl SharedCount {
    /// Opens the count at `path`, creating it with `seed` (parents as containers) if missing.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the node created.
    pub async fn new(fw: impl Into<Framework>, path: &str, seed: i32) -> Result<SharedCount> {
        let fw = fw.into();
        let full = fw.fix_path(path);
        let created = fw
            .retry(|c| {
                let full = full.clone();
                async move {
                    create_with_parents(&c, &full, &encode_count(seed), CreateMode::Persistent)
                        .await
                }
            })
            .await;
        match created {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(SharedCount {
            fw,
            path: path.to_owned(),
        })
    }

    /// The node's recipe path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn decode(&self, data: &[u8]) -> Result<i32> {
        decode_count(data).ok_or_else(|| Error::CorruptData {
            path: self.path.clone(),
            what: "a SharedCount must be 4 bytes",
        })
    }

    /// The value and the node's data version.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn versioned(&self) -> Result<(i32, i32)> {
        let full = self.fw.fix_path(&self.path);
        let (data, stat) = self
            .fw
            .retry(|c| {
                let full = full.clone();
                async move { c.get_data(&full).await }
            })
            .await?;
        Ok((self.decode(&data)?, stat.version))
    }

    /// The value.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read).
    pub async fn count(&self) -> Result<i32> {
        Ok(self.versioned().await?.0)
    }

    /// The value and a watch that fires on its next change.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (a read; the watch is dropped with the future).
    pub async fn count_and_watch(&self) -> Result<(i32, OneshotWatch)> {
        let full = self.fw.fix_path(&self.path);
        let (data, _, w) = self.fw.client().get_data_and_watch(&full).await?;
        Ok((self.decode(&data)?, w))
    }

    /// Sets the value unconditionally (`setCount`).
    ///
    /// # Cancel safety
    ///
    /// The write may be applied even if the future is dropped.
    pub async fn set_count(&self, v: i32) -> Result<()> {
        let full = self.fw.fix_path(&self.path);
        self.fw
            .retry(|c| {
                let full = full.clone();
                async move { c.set_data(&full, &encode_count(v), Version::Any).await }
            })
            .await?;
        Ok(())
    }

    /// Sets the value if the node is still at `version` (`trySetCount`); false otherwise.
    ///
    /// # Cancel safety
    ///
    /// The write may be applied even if the future is dropped.
    pub async fn try_set_count(&self, version: i32, v: i32) -> Result<bool> {
        let full = self.fw.fix_path(&self.path);
        match self
            .fw
            .client()
            .set_data(&full, &encode_count(v), Version::Exact(version))
            .await
        {
            Ok(_) => Ok(true),
            Err(zk_client::Error::BadVersion) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_byte_big_endian() {
        assert_eq!(encode_count(1), [0, 0, 0, 1]);
        assert_eq!(encode_count(-2), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(decode_count(&[0, 0, 1, 0]), Some(256));
        assert_eq!(decode_count(&[0, 0, 1]), None);
        assert_eq!(decode_count(&[0; 8]), None);
    }
}
