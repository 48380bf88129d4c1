//! Guaranteed delete, finding and deleting abandoned protected nodes, and creating parents.

use std::future::Future;

use zk_client::{Client, Version};
use zk_core::path;

use super::Framework;
use crate::limits::{GUARANTEED_DELETE_FIRST_PAUSE, GUARANTEED_DELETE_MAX_PAUSE};
use crate::retry::is_retryable;

impl Framework {
    /// Deletes `path` (any version) until it succeeds or the node is gone, in the background,
    /// retrying after connection failures for as long as the client lives
    /// (`delete().guaranteed()`). The delete is queued when this is called; the returned
    /// future (which need not be awaited) gives the first attempt's outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the background delete.
    pub fn guaranteed_delete(
        &self,
        p: &str,
    ) -> impl Future<Output = Result<(), zk_client::Error>> + Send + 'static {
        self.guaranteed_delete_client_path(self.fix_path(p))
    }

    pub(crate) fn guaranteed_delete_client_path(
        &self,
        full: String,
    ) -> impl Future<Output = Result<(), zk_client::Error>> + Send + 'static {
        let first = self.client().delete(&full, Version::Any);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let fw = self.clone();
        self.spawn(async move {
            let mut tx = Some(tx);
            let mut attempt = Some(first);
            let mut pause = GUARANTEED_DELETE_FIRST_PAUSE;
            loop {
                let fut = match attempt.take() {
                    Some(f) => f,
                    None => fw.client().delete(&full, Version::Any),
                };
                let r = match fut.await {
                    Err(zk_client::Error::NoNode) => Ok(()),
                    r => r,
                };
                let retry = matches!(&r, Err(e) if is_retryable(e, fw.recreates_sessions()));
                if let Some(tx) = tx.take() {
                    let _ = tx.send(r.clone());
                }
                if !retry || fw.is_closed() {
                    if let Err(e) = r {
                        tracing::debug!(path = %full, error = %e, "guaranteed delete stops");
                    }
                    return;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(GUARANTEED_DELETE_MAX_PAUSE);
            }
        });
        async move { rx.await.unwrap_or(Err(zk_client::Error::Closed)) }
    }

    /// Finds and deletes, in the background, every child of `parent` (client path) whose name
    /// starts with `prefix` (`FindAndDeleteProtectedNodeInBackground`).
    pub(crate) fn find_and_delete_protected(&self, parent: String, prefix: String) {
        let fw = self.clone();
        self.spawn(async move {
            let children = fw
                .retry(|c| {
                    let parent = parent.clone();
                    async move { c.get_children(&parent).await }
                })
                .await;
            for name in children.unwrap_or_default() {
                if name.starts_with(&prefix) {
                    drop(fw.guaranteed_delete_client_path(path::join(&parent, &name)));
                }
            }
        });
    }
}

/// Creates `full` and its missing ancestors (containers or persistent), ignoring NodeExists.
pub(crate) async fn mkdirs(
    client: Client,
    full: String,
    containers: bool,
) -> Result<(), zk_client::Error> {
    let mode = if containers {
        zk_client::CreateMode::Container
    } else {
        zk_client::CreateMode::Persistent
    };
    let mut at = 0;
    while at < full.len() {
        let end = full[at + 1..].find('/').map_or(full.len(), |i| at + 1 + i);
        let prefix = &full[..end];
        match client.exists(prefix).await? {
            Some(_) => {}
            None => match client.create(prefix, b"", mode).await {
                Ok(_) | Err(zk_client::Error::NodeExists) => {}
                Err(e) => return Err(e),
            },
        }
        at = end;
    }
    Ok(())
}
