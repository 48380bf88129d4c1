//! Executing each command against the client: the part of [`Shell`] that talks to the server.

use std::collections::VecDeque;
use std::time::Duration;

use zk_client::{Client, CreateOptions, Error, Version};
use zk_core::ephemeral::MAX_TTL_MS;
use zk_core::{AddWatchMode, CreateMode, Stat, WatcherType};

use super::{ok_or_fail, Outcome, Shell};
use crate::cli::acl::parse_acl;
use crate::cli::command::{Command, WatchKindArg};
use crate::cli::dynamic::{client_config_str, members_from_file};
use crate::cli::format;

/// The most deletes `deleteall` puts in one transaction (zkCli.sh's default `-b`).
const DELETE_BATCH: usize = 1000;

impl Shell {
    /// Runs a command that needs the session.
    pub(super) async fn run(&mut self, client: &Client, cmd: Command) -> Outcome {
        match cmd {
            Command::Create {
                sequential,
                ephemeral,
                container,
                ttl,
                path,
                data,
                acl,
            } => {
                self.create(
                    client, sequential, ephemeral, container, ttl, path, data, acl,
                )
                .await
            }
            Command::Ls {
                stat,
                watch,
                recursive,
                path,
            } => {
                if recursive {
                    let (paths, failed) = subtree(client, &path).await;
                    for p in paths {
                        self.console.outln(&p);
                    }
                    return match failed {
                        None => Outcome::Success,
                        Some((e, at)) => self.fail(&e, &at),
                    };
                }
                let got = if watch {
                    client
                        .get_children_and_watch(&path)
                        .await
                        .map(|(c, s, w)| (c, s, Some(w)))
                } else {
                    client
                        .get_children_with_stat(&path)
                        .await
                        .map(|(c, s)| (c, s, None))
                };
                match got {
                    Ok((mut children, st, w)) => {
                        if let Some(w) = w {
                            self.spawn_oneshot(w);
                        }
                        children.sort();
                        self.console.outln(&format::java_list(&children));
                        if stat {
                            self.console.out(&format::stat(&st));
                        }
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::Get { stat, watch, path } => {
                let got = if watch {
                    client
                        .get_data_nullable_and_watch(&path)
                        .await
                        .map(|(d, s, w)| (d, s, Some(w)))
                } else {
                    client
                        .get_data_nullable(&path)
                        .await
                        .map(|(d, s)| (d, s, None))
                };
                match got {
                    Ok((data, st, w)) => {
                        if let Some(w) = w {
                            self.spawn_oneshot(w);
                        }
                        self.console.outln(&format::data(data.as_deref()));
                        if stat {
                            self.console.out(&format::stat(&st));
                        }
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::Set {
                stat,
                version,
                path,
                data,
            } => {
                let version = match self.version(version) {
                    Ok(v) => v,
                    Err(o) => return o,
                };
                match client
                    .set_data(&path, data.as_bytes(), version.into())
                    .await
                {
                    Ok(st) => {
                        if stat {
                            self.console.out(&format::stat(&st));
                        }
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::Stat { watch, path } => {
                let got = if watch {
                    match client.exists_and_watch(&path).await {
                        Ok((st, w)) => {
                            self.spawn_oneshot(w);
                            Ok(st)
                        }
                        Err(e) => Err(e),
                    }
                } else {
                    client.exists(&path).await
                };
                match got {
                    Ok(Some(st)) => {
                        self.console.out(&format::stat(&st));
                        Outcome::Success
                    }
                    Ok(None) => self.fail(&Error::NoNode, &path),
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::Delete { version, path } => {
                let version = match self.version(version) {
                    Ok(v) => v,
                    Err(o) => return o,
                };
                match client.delete(&path, version.into()).await {
                    Ok(()) => Outcome::Success,
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::DeleteAll { path } => match subtree(client, &path).await {
                (_, Some((e, at))) => self.fail(&e, &at),
                (paths, None) => {
                    // Deepest first, in transactions of at most DELETE_BATCH deletes, as
                    // zkCli.sh's `ZKUtil.deleteRecursive`: a failing batch deletes nothing.
                    let mut ok = true;
                    let reversed: Vec<&String> = paths.iter().rev().collect();
                    for batch in reversed.chunks(DELETE_BATCH) {
                        let mut multi = client.multi();
                        for p in batch {
                            multi = multi.delete(p, Version::Any);
                        }
                        if multi.commit().await.is_err() {
                            ok = false;
                        }
                    }
                    if !ok {
                        self.console
                            .errln("Failed to delete some node(s) in the subtree!");
                    }
                    ok_or_fail(ok)
                }
            },
            Command::AddWatch { recursive, path } => {
                let mode = if recursive {
                    AddWatchMode::PersistentRecursive
                } else {
                    AddWatchMode::Persistent
                };
                match client.watch(&path, mode).await {
                    Ok(w) => {
                        self.spawn_persistent(w);
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::RemoveWatches { path, kind, .. } => {
                let wtype = match kind {
                    WatchKindArg::Children => WatcherType::Children,
                    WatchKindArg::Data => WatcherType::Data,
                    WatchKindArg::Any => WatcherType::Any,
                };
                match client.remove_watches(&path, wtype).await {
                    Ok(()) => Outcome::Success,
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::GetAcl { stat, path } => match client.get_acl(&path).await {
                Ok((acl, st)) => {
                    self.console.out(&format::acl_list(&acl));
                    if stat {
                        self.console.out(&format::stat(&st));
                    }
                    Outcome::Success
                }
                Err(e) => self.fail(&e, &path),
            },
            Command::SetAcl {
                stat,
                version,
                recursive,
                path,
                acl,
            } => {
                let version = match self.version(version) {
                    Ok(v) => v,
                    Err(o) => return o,
                };
                let acl = self.acl(&acl);
                let targets = if recursive {
                    match subtree(client, &path).await {
                        (p, None) => p,
                        (_, Some((e, at))) => return self.fail(&e, &at),
                    }
                } else {
                    vec![path.clone()]
                };
                let mut last: Option<Stat> = None;
                for p in &targets {
                    match client.set_acl(p, &acl, version.into()).await {
                        Ok(st) => last = last.or(Some(st)),
                        Err(e) => return self.fail(&e, p),
                    }
                }
                if stat {
                    if let Some(st) = last {
                        self.console.out(&format::stat(&st));
                    }
                }
                Outcome::Success
            }
            Command::AddAuth { scheme, auth } => {
                match client.add_auth(&scheme, auth.as_bytes()).await {
                    Ok(()) => Outcome::Success,
                    Err(e) => {
                        self.console.errln(&format!("Authentication failed: {e}"));
                        Outcome::Failure
                    }
                }
            }
            Command::Sync { path } => match client.sync(&path).await {
                Ok(()) => {
                    self.console.outln("Sync is OK");
                    Outcome::Success
                }
                Err(e) => self.fail(&e, &path),
            },
            Command::WhoAmI => match client.who_am_i().await {
                Ok(infos) => {
                    let pairs: Vec<(String, String)> =
                        infos.into_iter().map(|i| (i.auth_scheme, i.user)).collect();
                    self.console.out(&format::who_am_i(&pairs));
                    Outcome::Success
                }
                Err(e) => self.fail(&e, "/"),
            },
            Command::GetEphemerals { path } => match client.get_ephemerals(&path).await {
                Ok(mut list) => {
                    list.sort();
                    self.console.outln(&format::java_list(&list));
                    Outcome::Success
                }
                Err(e) => self.fail(&e, &path),
            },
            Command::GetAllChildrenNumber { path } => {
                match client.get_all_children_number(&path).await {
                    Ok(n) => {
                        self.console.outln(&n.to_string());
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, &path),
                }
            }
            Command::Config {
                client: only_client,
                watch,
                stat,
            } => {
                let got = if watch {
                    client
                        .get_config_and_watch()
                        .await
                        .map(|(d, s, w)| (d, s, Some(w)))
                } else {
                    client.get_config().await.map(|(d, s)| (d, s, None))
                };
                match got {
                    Ok((data, st, w)) => {
                        if let Some(w) = w {
                            self.spawn_oneshot(w);
                        }
                        let text = String::from_utf8_lossy(&data).into_owned();
                        if only_client {
                            self.console.outln(&client_config_str(&text));
                        } else {
                            self.console.outln(&text);
                        }
                        if stat {
                            self.console.out(&format::stat(&st));
                        }
                        Outcome::Success
                    }
                    Err(e) => self.fail(&e, "/zookeeper/config"),
                }
            }
            Command::Reconfig {
                stat,
                version,
                joining,
                leaving,
                members,
                file,
            } => {
                let members = match file {
                    None => members,
                    Some(path) => match members_of_file(&path) {
                        Ok(m) => Some(m),
                        Err(why) => {
                            self.console.errln(&format!("Error processing {path}{why}"));
                            return Outcome::Failure;
                        }
                    },
                };
                let reconfig = client.reconfig(
                    joining.as_deref(),
                    leaving.as_deref(),
                    members.as_deref(),
                    version,
                );
                match reconfig.await {
                    Ok((data, st)) => {
                        self.console.outln(&format!(
                            "Committed new configuration:\n{}",
                            String::from_utf8_lossy(&data)
                        ));
                        if stat {
                            self.console.out(&format::stat(&st));
                        }
                        Outcome::Success
                    }
                    // ZooKeeperAdmin names no path in a reconfig's errors.
                    Err(e) => self.fail(&e, ""),
                }
            }
            // Handled before a connection is needed.
            Command::Quit
            | Command::History
            | Command::Redo { .. }
            | Command::PrintWatches { .. }
            | Command::Close
            | Command::Version
            | Command::Unsupported(_)
            | Command::Connect { .. } => Outcome::Success,
        }
    }

    fn version(&self, v: Option<String>) -> Result<Option<i32>, Outcome> {
        match v {
            None => Ok(None),
            Some(s) => s.parse::<i32>().map(Some).map_err(|_| {
                self.console.errln(&format!(
                    "java.lang.NumberFormatException: For input string: \"{s}\""
                ));
                Outcome::Failure
            }),
        }
    }

    fn acl(&self, text: &str) -> Vec<zk_core::Acl> {
        let (acl, warnings) = parse_acl(text);
        for w in warnings {
            self.console.errln(&w);
        }
        acl
    }

    #[allow(clippy::too_many_arguments)]
    async fn create(
        &mut self,
        client: &Client,
        sequential: bool,
        ephemeral: bool,
        container: bool,
        ttl: Option<String>,
        path: String,
        data: Option<String>,
        acl: Option<String>,
    ) -> Outcome {
        let malformed = |shell: &Shell, msg: &str| {
            shell.console.errln(msg);
            Outcome::Failure
        };
        if container && (ephemeral || sequential) {
            return malformed(
                self,
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
            );
        }
        let ttl = match ttl.map(|t| t.parse::<i64>()) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return malformed(self, "-t argument must be a long value"),
        };
        if ttl.is_some() && ephemeral {
            return malformed(self, "TTLs cannot be used with Ephemeral znodes");
        }
        if ttl.is_some() && container {
            return malformed(self, "TTLs cannot be used with Container znodes");
        }
        let mode = match (ephemeral, sequential, container, ttl.is_some()) {
            (true, true, _, _) => CreateMode::EphemeralSequential,
            (true, false, _, _) => CreateMode::Ephemeral,
            (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
            (false, true, _, false) => CreateMode::PersistentSequential,
            (false, false, true, _) => CreateMode::Container,
            (false, false, false, true) => CreateMode::PersistentWithTtl,
            (false, false, false, false) => CreateMode::Persistent,
        };
        let mut options = CreateOptions::new(mode);
        if let Some(t) = ttl {
            if t <= 0 || t > MAX_TTL_MS {
                return malformed(
                    self,
                    &format!("ttl must be positive and cannot be larger than: {MAX_TTL_MS}"),
                );
            }
            options = options.ttl(Duration::from_millis(t as u64));
        }
        if let Some(acl) = acl {
            options = options.acl(self.acl(&acl));
        }
        // zkCli.sh's `create /path` with no data argument stores null data.
        if data.is_none() {
            options = options.null_data();
        }
        let data = data.unwrap_or_default();
        match client.create_with(&path, data.as_bytes(), &options).await {
            Ok((created, _)) => {
                self.console.errln(&format!("Created {created}"));
                Outcome::Success
            }
            Err(Error::InvalidAcl) => {
                self.console
                    .errln(&format!("KeeperErrorCode = InvalidACL for {path}"));
                self.fail(&Error::InvalidAcl, &path)
            }
            Err(e) => self.fail(&e, &path),
        }
    }
}

/// The membership in a dynamic config file, as `reconfig -file` sends it; the error is what
/// zkCli.sh prints after `Error processing <path>`.
fn members_of_file(path: &str) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => members_from_file(&text),
        Err(e) => {
            // Java's FileNotFoundException: "<path> (<strerror>)".
            let text = e.to_string();
            let reason = text.split(" (os error").next().unwrap_or(&text);
            Err(format!("{path} ({reason})"))
        }
    }
}

/// Every path of the subtree at `root` in the order zkCli.sh's `ls -R` prints them
/// (`ZKUtil.visitSubTreeDFS`): a node, then all its children in name order, then each child's
/// subtree. Parents always come before their children, so `deleteall` deletes in reverse.
///
/// A failure stops the walk, as in zkCli.sh: the paths found so far come back with the error
/// and the path it happened on.
async fn subtree(client: &Client, root: &str) -> (Vec<String>, Option<(Error, String)>) {
    if let Err(e) = client.get_data(root).await {
        return (Vec::new(), Some((e, root.to_owned())));
    }
    let mut out = vec![root.to_owned()];
    let mut pending = VecDeque::from([root.to_owned()]);
    while let Some(path) = pending.pop_front() {
        let mut children = match client.get_children(&path).await {
            Ok(c) => c,
            // Deleted meanwhile: nothing below it to list.
            Err(Error::NoNode) => continue,
            Err(e) => return (out, Some((e, path))),
        };
        children.sort();
        let paths: Vec<String> = children
            .iter()
            .map(|c| zk_core::path::join(&path, c))
            .collect();
        out.extend(paths.iter().cloned());
        // Depth first: this node's children are visited before its later siblings.
        for p in paths.into_iter().rev() {
            pending.push_front(p);
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_membership_file_reads_as_in_java() {
        assert_eq!(
            members_of_file("/nonexistent/dyn.cfg").unwrap_err(),
            "/nonexistent/dyn.cfg (No such file or directory)"
        );
    }
}
