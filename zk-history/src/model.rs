//! The sequential model: path -> (data, version, children), replayed from committed
//! transactions only, and what it predicts for an operation.
//!
//! It borrows paths and data from the committed history, so replaying copies nothing.

use zk_core::ErrorCode;

use crate::committed::Change;
use crate::hash::FxHashMap;
use crate::op::{Operation, Outcome, Reply};

/// A node the model knows to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Node<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) version: i32,
    /// `None` when the node became known through a setData after the base: its children
    /// are then unknown.
    pub(crate) children: Option<u32>,
}

/// What the model knows about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    /// Nothing yet (before the first transaction on it, over an unknown base; and always for
    /// the root and `/zookeeper`, which the model leaves out).
    Unknown,
    Absent,
    Present(Node<'a>),
}

/// What the model says an operation returns, borrowing from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected<'a> {
    Value(&'a [u8], i32),
    Code(ErrorCode),
    SetVersion(i32),
    Created,
    Deleted,
}

impl Expected<'_> {
    /// True when `outcome` (a definite one) is this.
    pub(crate) fn matches(self, outcome: &Outcome) -> bool {
        match (self, outcome) {
            (
                Expected::Value(d, v),
                Outcome::Ok {
                    reply: Reply::Read { data, version },
                    ..
                },
            ) => d == data.as_slice() && v == *version,
            (Expected::Code(c), Outcome::Error { code, .. }) => c == *code,
            (
                Expected::SetVersion(v),
                Outcome::Ok {
                    reply: Reply::Set { version },
                    ..
                },
            ) => v == *version,
            (
                Expected::Created,
                Outcome::Ok {
                    reply: Reply::Created,
                    ..
                },
            ) => true,
            (
                Expected::Deleted,
                Outcome::Ok {
                    reply: Reply::Deleted,
                    ..
                },
            ) => true,
            _ => false,
        }
    }

    /// True for a success (what a write whose transaction was committed must have had).
    pub(crate) fn is_success(self) -> bool {
        !matches!(self, Expected::Code(_))
    }

    pub(crate) fn to_owned(self) -> Result<Reply, ErrorCode> {
        match self {
            Expected::Value(d, v) => Ok(Reply::Read {
                data: d.to_vec(),
                version: v,
            }),
            Expected::Code(c) => Err(c),
            Expected::SetVersion(v) => Ok(Reply::Set { version: v }),
            Expected::Created => Ok(Reply::Created),
            Expected::Deleted => Ok(Reply::Deleted),
        }
    }
}

/// The error codes the model can predict; for others it has no opinion.
pub(crate) fn is_modeled(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NoNode | ErrorCode::NodeExists | ErrorCode::BadVersion | ErrorCode::NotEmpty
    )
}

/// The root and `/zookeeper` (quota, config) are left out of the model.
fn is_system(path: &str) -> bool {
    path == "/" || path == "/zookeeper" || path.starts_with("/zookeeper/")
}

fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

#[derive(Debug)]
pub(crate) struct Model<'a> {
    nodes: FxHashMap<&'a str, Slot<'a>>,
    starts_empty: bool,
}

impl<'a> Model<'a> {
    pub(crate) fn new(starts_empty: bool) -> Model<'a> {
        Model {
            nodes: FxHashMap::default(),
            starts_empty,
        }
    }

    pub(crate) fn slot(&self, path: &str) -> Slot<'a> {
        if is_system(path) {
            return Slot::Unknown;
        }
        match self.nodes.get(path) {
            Some(s) => *s,
            None if self.starts_empty => Slot::Absent,
            None => Slot::Unknown,
        }
    }

    fn adjust_children(&mut self, path: &'a str, created: bool) {
        let Some(p) = parent(path) else { return };
        if let Some(Slot::Present(Node {
            children: Some(c), ..
        })) = self.nodes.get_mut(p)
        {
            *c = if created { *c + 1 } else { c.saturating_sub(1) };
        }
    }

    /// Applies a committed change. It is applied even when it cannot follow the state before
    /// it; the reason is returned then (the committed history is inconsistent).
    pub(crate) fn apply(&mut self, change: &'a Change) -> Result<(), String> {
        match change {
            Change::SetData {
                path,
                data,
                version,
            } => {
                if is_system(path) {
                    return Ok(());
                }
                let (children, problem) = match self.slot(path) {
                    Slot::Present(n) if n.version.wrapping_add(1) == *version => (n.children, None),
                    Slot::Present(n) => (
                        n.children,
                        Some(format!(
                            "setData of {path} to version {version}, but it is at version {}",
                            n.version
                        )),
                    ),
                    Slot::Absent => (
                        None,
                        Some(format!("setData of {path}, which does not exist")),
                    ),
                    Slot::Unknown => (None, None),
                };
                let node = Node {
                    data,
                    version: *version,
                    children,
                };
                self.nodes.insert(path, Slot::Present(node));
                problem.map_or(Ok(()), Err)
            }
            Change::Create { path, data } => {
                if is_system(path) {
                    return Ok(());
                }
                let mut problem = match self.slot(path) {
                    Slot::Present(_) => Some(format!("create of {path}, which exists")),
                    Slot::Absent | Slot::Unknown => None,
                };
                if let Some(p) = parent(path) {
                    if self.slot(p) == Slot::Absent {
                        problem = Some(format!("create of {path}, whose parent does not exist"));
                    }
                }
                if !matches!(self.slot(path), Slot::Present(_)) {
                    self.adjust_children(path, true);
                }
                let node = Node {
                    data,
                    version: 0,
                    children: Some(0),
                };
                self.nodes.insert(path, Slot::Present(node));
                problem.map_or(Ok(()), Err)
            }
            Change::Delete { path } => {
                if is_system(path) {
                    return Ok(());
                }
                let problem = match self.slot(path) {
                    Slot::Present(Node {
                        children: Some(c), ..
                    }) if c > 0 => Some(format!("delete of {path}, which has {c} children")),
                    Slot::Present(_) | Slot::Unknown => None,
                    Slot::Absent => Some(format!("delete of {path}, which does not exist")),
                };
                if matches!(self.slot(path), Slot::Present(_)) {
                    self.adjust_children(path, false);
                }
                self.nodes.insert(path, Slot::Absent);
                problem.map_or(Ok(()), Err)
            }
            Change::Multi(subs) => {
                if subs.iter().any(|s| matches!(s, Change::Error { .. })) {
                    return Ok(());
                }
                let mut first = Ok(());
                for s in subs {
                    let r = self.apply(s);
                    if first.is_ok() {
                        first = r;
                    }
                }
                first
            }
            Change::Error { .. } | Change::Other => Ok(()),
        }
    }

    /// What `op` returns on the current state, in the order Apache ZooKeeper's
    /// PrepRequestProcessor checks; `None` when the model cannot tell.
    pub(crate) fn predict(&self, op: &Operation) -> Option<Expected<'a>> {
        let slot = self.slot(op.path());
        Some(match op {
            Operation::Read { .. } => match slot {
                Slot::Unknown => return None,
                Slot::Absent => Expected::Code(ErrorCode::NoNode),
                Slot::Present(n) => Expected::Value(n.data, n.version),
            },
            Operation::Set { version, .. } => match slot {
                Slot::Unknown => return None,
                Slot::Absent => Expected::Code(ErrorCode::NoNode),
                Slot::Present(n) if version.is_some_and(|v| v != n.version) => {
                    Expected::Code(ErrorCode::BadVersion)
                }
                Slot::Present(n) => Expected::SetVersion(n.version.wrapping_add(1)),
            },
            Operation::Create { path, .. } => {
                let parent = parent(path).map_or(Slot::Unknown, |p| self.slot(p));
                match (parent, slot) {
                    (Slot::Absent, _) => Expected::Code(ErrorCode::NoNode),
                    (_, Slot::Present(_)) => Expected::Code(ErrorCode::NodeExists),
                    (_, Slot::Absent) => Expected::Created,
                    (_, Slot::Unknown) => return None,
                }
            }
            Operation::Delete { version, .. } => match slot {
                Slot::Unknown => return None,
                Slot::Absent => Expected::Code(ErrorCode::NoNode),
                Slot::Present(n) if version.is_some_and(|v| v != n.version) => {
                    Expected::Code(ErrorCode::BadVersion)
                }
                Slot::Present(Node { children: None, .. }) => return None,
                Slot::Present(Node {
                    children: Some(c), ..
                }) if c > 0 => Expected::Code(ErrorCode::NotEmpty),
                Slot::Present(_) => Expected::Deleted,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(path: &str, data: &str, version: i32) -> Change {
        Change::SetData {
            path: path.into(),
            data: data.into(),
            version,
        }
    }

    fn create(path: &str, data: &str) -> Change {
        Change::Create {
            path: path.into(),
            data: data.into(),
        }
    }

    #[test]
    fn replay_tracks_data_versions_and_children() {
        let changes = [
            create("/a", "x"),
            create("/a/b", "y"),
            set("/a", "z", 1),
            Change::Delete {
                path: "/a/b".into(),
            },
        ];
        let mut m = Model::new(true);
        m.apply(&changes[0]).unwrap();
        m.apply(&changes[1]).unwrap();
        let del_a = Operation::Delete {
            path: "/a".into(),
            version: None,
        };
        assert_eq!(m.predict(&del_a), Some(Expected::Code(ErrorCode::NotEmpty)));
        m.apply(&changes[2]).unwrap();
        m.apply(&changes[3]).unwrap();
        assert_eq!(m.predict(&del_a), Some(Expected::Deleted));
        let read = Operation::Read { path: "/a".into() };
        assert_eq!(m.predict(&read), Some(Expected::Value(b"z", 1)));
        let orphan = Operation::Create {
            path: "/q/r".into(),
            data: vec![],
        };
        assert_eq!(m.predict(&orphan), Some(Expected::Code(ErrorCode::NoNode)));
        let cas = Operation::Set {
            path: "/a".into(),
            data: vec![],
            version: Some(0),
        };
        assert_eq!(m.predict(&cas), Some(Expected::Code(ErrorCode::BadVersion)));
    }

    #[test]
    fn inconsistent_changes_are_reported_and_applied() {
        let changes = [set("/a", "x", 3), create("/b", "y"), create("/b", "z")];
        let mut m = Model::new(true);
        assert!(m.apply(&changes[0]).unwrap_err().contains("does not exist"));
        m.apply(&changes[1]).unwrap();
        assert!(m.apply(&changes[2]).unwrap_err().contains("exists"));
        assert_eq!(
            m.predict(&Operation::Read { path: "/b".into() }),
            Some(Expected::Value(b"z", 0))
        );
    }

    #[test]
    fn unknown_base_learns_a_node_at_its_first_change() {
        let changes = [set("/a", "x", 7)];
        let mut m = Model::new(false);
        let read = Operation::Read { path: "/a".into() };
        assert_eq!(m.predict(&read), None);
        m.apply(&changes[0]).unwrap();
        assert_eq!(m.predict(&read), Some(Expected::Value(b"x", 7)));
        let del = Operation::Delete {
            path: "/a".into(),
            version: None,
        };
        assert_eq!(m.predict(&del), None, "its children are unknown");
        assert_eq!(m.predict(&Operation::Read { path: "/".into() }), None);
    }

    #[test]
    fn a_failed_multi_changes_nothing() {
        let ok = Change::Multi(vec![create("/a", "x"), set("/a", "y", 1)]);
        let failed = Change::Multi(vec![
            Change::Error {
                code: ErrorCode::NoNode,
            },
            Change::Error {
                code: ErrorCode::RuntimeInconsistency,
            },
        ]);
        let mut m = Model::new(true);
        m.apply(&failed).unwrap();
        m.apply(&ok).unwrap();
        let read = Operation::Read { path: "/a".into() };
        assert_eq!(m.predict(&read), Some(Expected::Value(b"y", 1)));
    }
}
