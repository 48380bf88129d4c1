//! Protected creation (`withProtection()`, CURATOR-498) and [`OwnedNode`], the guard that
//! deletes a node we created unless it was handed on.

use std::time::Instant;

use zk_client::{Client, CreateMode};
use zk_core::path;

use crate::framework::{mkdirs, Framework};
use crate::limits::PARENT_VANISHED_RETRIES;
use crate::naming::{new_protected_id, protected_prefix};
use crate::retry::is_retryable;

/// A node this process created and must delete: dropping the guard queues a guaranteed
/// delete. Holds the **client** path (namespace applied).
#[derive(Debug)]
pub(crate) struct OwnedNode {
    fw: Framework,
    path: Option<String>,
}

impl OwnedNode {
    pub(crate) fn new(fw: Framework, client_path: String) -> OwnedNode {
        OwnedNode {
            fw,
            path: Some(client_path),
        }
    }

    /// The client path.
    pub(crate) fn path(&self) -> &str {
        // Invariant: `path` is only taken by `delete` and `drop`, which consume the guard.
        self.path
            .as_deref()
            .expect("OwnedNode path present until consumed")
    }

    /// The node's name (last component).
    pub(crate) fn name(&self) -> &str {
        path::node_name(self.path())
    }

    /// Deletes the node (guaranteed); returns the first attempt's outcome. Retries continue
    /// in the background after a connection failure.
    pub(crate) async fn delete(mut self) -> Result<(), zk_client::Error> {
        match self.path.take() {
            Some(p) => self.fw.guaranteed_delete_client_path(p).await,
            None => Ok(()),
        }
    }
}

impl Drop for OwnedNode {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            // Queued now; the background task retries. The outcome is not needed here.
            drop(self.fw.guaranteed_delete_client_path(p));
        }
    }
}

/// While armed, dropping it finds and deletes whatever a protected create with this prefix
/// may have made (the create's outcome is unknown when its future is dropped).
struct PendingCreate {
    fw: Framework,
    parent: String,
    prefix: Option<String>,
}

impl Drop for PendingCreate {
    fn drop(&mut self) {
        if let Some(prefix) = self.prefix.take() {
            self.fw
                .find_and_delete_protected(self.parent.clone(), prefix);
        }
    }
}

async fn find(
    client: &Client,
    parent: &str,
    prefix: &str,
) -> Result<Option<String>, zk_client::Error> {
    match client.get_children(parent).await {
        Ok(children) => Ok(children.into_iter().find(|c| c.starts_with(prefix))),
        Err(zk_client::Error::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `<parent>/_c_<uuid>-<name>` (recipe path `path` = `<parent>/<name>`), parents as
/// containers, and returns the guard of the created node.
///
/// After a retryable failure it lists the parent for the `_c_<uuid>-` prefix before trying
/// again. For ephemeral modes, a node found there after the session changed is deleted and a
/// new node is made under a new id (CURATOR-498).
///
/// # Cancel safety
///
/// Dropping the future deletes, in the background, any node this create made.
pub(crate) async fn create_protected(
    fw: &Framework,
    path_: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<OwnedNode, zk_client::Error> {
    let full = fw.fix_path(path_);
    let parent = path::parent(&full).to_owned();
    let name = path::node_name(&full).to_owned();
    let mut prefix = protected_prefix(&new_protected_id());
    let mut pending = PendingCreate {
        fw: fw.clone(),
        parent: parent.clone(),
        prefix: Some(prefix.clone()),
    };
    let mut session = fw.session_id();
    let start = Instant::now();
    let mut retries = 0;
    let mut first = true;
    loop {
        let client = fw.client();
        let attempt = async {
            if !first {
                if let Some(found) = find(&client, &parent, &prefix).await? {
                    let found = path::join(&parent, &found);
                    if !mode.is_ephemeral() || client.session_id() == session {
                        return Ok(found);
                    }
                    tracing::debug!(path = %found, "protected node from an older session; deleting it");
                    drop(fw.guaranteed_delete_client_path(found));
                    prefix = protected_prefix(&new_protected_id());
                    pending.prefix = Some(prefix.clone());
                    session = client.session_id();
                }
            }
            let target = path::join(&parent, &format!("{prefix}{name}"));
            create_with_parents(&client, &target, data, mode).await
        };
        let r = attempt.await;
        first = false;
        match r {
            Ok(p) => {
                pending.prefix = None;
                return Ok(OwnedNode::new(fw.clone(), p));
            }
            Err(e) if is_retryable(&e, fw.recreates_sessions()) && !fw.is_closed() => {
                let sleep =
                    fw.retry_policy()
                        .next_sleep(retries, start.elapsed(), &mut rand::thread_rng());
                match sleep {
                    Some(d) => tokio::time::sleep(d).await,
                    // Still armed: the drop of `pending` cleans up a create that may have landed.
                    None => return Err(e),
                }
                retries += 1;
            }
            Err(e) => {
                // The server refused the create: nothing to clean up.
                pending.prefix = None;
                return Err(e);
            }
        }
    }
}

/// Creates `target`; on NoNode creates its parents as containers and tries again.
pub(crate) async fn create_with_parents(
    client: &Client,
    target: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<String, zk_client::Error> {
    for _ in 0..PARENT_VANISHED_RETRIES {
        match client.create(target, data, mode).await {
            Err(zk_client::Error::NoNode) => {
                mkdirs(client.clone(), path::parent(target).to_owned(), true).await?;
            }
            other => return other.map(|(p, _)| p),
        }
    }
    // A parent vanished three times in a row (a container reaped between our creates).
    Err(zk_client::Error::NoNode)
}
