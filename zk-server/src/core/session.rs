//! The session tracker (`SessionTrackerImpl` + `ExpiryQueue`): session ids, passwords, timeouts
//! and expiry in tickTime buckets.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use zk_core::SessionId;

use super::watch::ConnId;

/// Apache ZooKeeper's password secret (`ZooKeeperServer.superSecret`).
const SUPER_SECRET: i64 = 0xB341_5C00;

/// The 16-byte password of a session: `new java.util.Random(id ^ superSecret).nextBytes(16)`,
/// so passwords agree with Apache ZooKeeper's for the same session id.
pub fn session_passwd(id: SessionId) -> [u8; 16] {
    const MULT: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;
    let mut seed = ((id.0 ^ SUPER_SECRET) ^ MULT) & MASK;
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < out.len() {
        seed = (seed.wrapping_mul(MULT).wrapping_add(0xB)) & MASK;
        let mut rnd = (seed >> 16) as i32;
        for _ in 0..4.min(out.len() - i) {
            out[i] = rnd as u8;
            i += 1;
            rnd >>= 8;
        }
    }
    out
}

/// The first session id of a server (`SessionTrackerImpl.initializeNextSessionId`).
pub fn initial_session_id(now_ms: i64, server_id: i64) -> i64 {
    let t = ((now_ms << 24) as u64 >> 8) as i64;
    t | (server_id << 56)
}

/// One live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id.
    pub id: SessionId,
    /// The negotiated timeout.
    pub timeout_ms: i32,
    /// When it expires unless touched (a bucket boundary).
    pub expire_at: i64,
    /// The connection that currently owns it.
    pub conn: Option<ConnId>,
    /// True once a closeSession has been prepared.
    pub closing: bool,
    /// Leader: the server whose client holds the session (`SessionImpl.owner`), set by its
    /// createSession, a revalidation or its first write; a write from another server is
    /// SessionMoved.
    pub owner: Option<i64>,
}

/// Live sessions and their expiry buckets.
#[derive(Debug, Clone)]
pub struct SessionTracker {
    sessions: HashMap<SessionId, Session>,
    buckets: BTreeMap<i64, BTreeSet<SessionId>>,
    tick_ms: i64,
    next_id: i64,
}

impl SessionTracker {
    /// A tracker with buckets of `tick_ms` whose first id derives from `now_ms`.
    pub fn new(tick_ms: i64, now_ms: i64, server_id: i64) -> SessionTracker {
        SessionTracker {
            sessions: HashMap::new(),
            buckets: BTreeMap::new(),
            tick_ms: tick_ms.max(1),
            next_id: initial_session_id(now_ms, server_id),
        }
    }

    fn round_up(&self, t: i64) -> i64 {
        (t / self.tick_ms + 1) * self.tick_ms
    }

    /// Allocates the next session id.
    pub fn next_id(&mut self) -> SessionId {
        let id = self.next_id;
        self.next_id += 1;
        SessionId(id)
    }

    /// Starts tracking a session (new, or restored from the log).
    pub fn add(&mut self, id: SessionId, timeout_ms: i32, now_ms: i64) {
        self.sessions.insert(
            id,
            Session {
                id,
                timeout_ms,
                expire_at: 0,
                conn: None,
                closing: false,
                owner: None,
            },
        );
        if id.0 >= self.next_id && (id.0 >> 56) == (self.next_id >> 56) {
            self.next_id = id.0 + 1;
        }
        self.touch(id, now_ms);
    }

    /// The session, if live.
    pub fn get(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// The session, if live, mutably.
    pub fn get_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        self.sessions.get_mut(&id)
    }

    /// Moves a session's expiry to `now + timeout`, rounded up to the next tick. Returns false
    /// when the session is unknown or closing.
    pub fn touch(&mut self, id: SessionId, now_ms: i64) -> bool {
        let Some(s) = self.sessions.get(&id) else {
            return false;
        };
        if s.closing {
            return false;
        }
        let new_at = self.round_up(now_ms + s.timeout_ms as i64);
        let old_at = s.expire_at;
        if new_at == old_at {
            return true;
        }
        if let Some(b) = self.buckets.get_mut(&old_at) {
            b.remove(&id);
            if b.is_empty() {
                self.buckets.remove(&old_at);
            }
        }
        self.buckets.entry(new_at).or_default().insert(id);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.expire_at = new_at;
        }
        true
    }

    /// Sessions whose bucket time has passed; they are marked closing and leave the buckets.
    pub fn expired(&mut self, now_ms: i64) -> Vec<SessionId> {
        let mut out = Vec::new();
        while let Some((&at, _)) = self.buckets.first_key_value() {
            if at > now_ms {
                break;
            }
            if let Some(set) = self.buckets.remove(&at) {
                for id in set {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.closing = true;
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    /// Marks a session closing (a closeSession was prepared).
    pub fn set_closing(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.closing = true;
        }
    }

    /// Forgets a session.
    pub fn remove(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.remove(&id) {
            if let Some(b) = self.buckets.get_mut(&s.expire_at) {
                b.remove(&id);
                if b.is_empty() {
                    self.buckets.remove(&s.expire_at);
                }
            }
        }
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Expiry buckets with their sessions (the `dump` 4lw).
    pub fn buckets(&self) -> &BTreeMap<i64, BTreeSet<SessionId>> {
        &self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_matches_apache() {
        // From the Java client tour against Apache ZooKeeper 3.8.0.
        let p = session_passwd(SessionId(0x0100_000e_8935_0000));
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "01ef0887fada098547a467d2d304cf4c");
    }

    #[test]
    fn expiry_in_buckets() {
        let mut t = SessionTracker::new(2000, 1_000_000, 1);
        let id = t.next_id();
        assert_eq!(id.0 >> 56, 1);
        t.add(id, 4000, 0);
        assert_eq!(t.get(id).unwrap().expire_at, 6000);
        assert!(t.expired(5999).is_empty());
        t.touch(id, 3000);
        assert!(t.expired(6000).is_empty());
        assert_eq!(t.expired(8000), vec![id]);
        assert!(!t.touch(id, 8000));
    }
}
