//! The ensemble's membership and majority rule (`flexible.QuorumMaj`), and its text form.

use std::collections::BTreeSet;

use super::java_order;
use super::properties;
use super::server::{LearnerType, QuorumServer, ServerLineError};

/// A config as FastLeaderElection and Zab see it (`QuorumMaj`): the members, each a participant
/// (voter) or an observer, and the config version. A set of voters is a quorum when it holds
/// more than half of all voters (every weight is 1).
///
/// `PartialEq` is structural. Apache's `QuorumMaj.equals` is different (configs with the same
/// version are equal whatever their members): use [`QuorumVerifier::quorum_maj_equals`] for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumVerifier {
    /// The members in the order `QuorumMaj.toString()` prints them.
    members: Vec<QuorumServer>,
    /// The config version (`version=` hex; 0 when absent).
    version: i64,
}

/// Why a QV text (or the server lines of a dynamic file) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QvTextError {
    /// The text is not valid `java.util.Properties` text.
    #[error("not a properties text: {0}")]
    Properties(String),
    /// A `server.N` key whose `N` is not a number.
    #[error("{key}: the server id is not a number")]
    BadSid {
        /// The key.
        key: String,
    },
    /// A `version` that is not a hex number.
    #[error("version={0}: not a hex number")]
    BadVersion(String),
    /// A member line that cannot be parsed.
    #[error("server.{sid}: {error}")]
    Server {
        /// The member.
        sid: i64,
        /// What is wrong with its line.
        error: ServerLineError,
    },
    /// `group.*` / `weight.*` keys: hierarchical quorums, which zk-server does not implement.
    #[error("{0}: hierarchical quorums (group/weight) are not supported")]
    Hierarchical(String),
    /// A key that has no place in a QV text.
    #[error("Unrecognised parameter: {0}")]
    UnknownKey(String),
}

/// Parses a `version` value as Apache does (`Long.parseLong(value, 16)`).
pub(crate) fn parse_version(value: &str) -> Result<i64, QvTextError> {
    i64::from_str_radix(value, 16).map_err(|_| QvTextError::BadVersion(value.to_owned()))
}

impl QuorumVerifier {
    /// A verifier over `members` (any order) with `version`. `keys` are the keys of the
    /// properties text the config came from, in text order: they decide the member order of
    /// [`to_qv_text`](Self::to_qv_text) exactly as in Apache (see `java_order`). Members whose
    /// `server.N` key is missing from `keys` come last, in sid order.
    pub fn new<'a>(
        members: impl IntoIterator<Item = QuorumServer>,
        version: i64,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> QuorumVerifier {
        let mut members: Vec<QuorumServer> = members.into_iter().collect();
        members.sort_by_key(|m| m.sid);
        members.dedup_by_key(|m| m.sid);
        let order = java_order::qv_member_order(keys);
        let position = |sid: i64| order.iter().position(|&s| s == sid).unwrap_or(usize::MAX);
        members.sort_by_key(|m| (position(m.sid), m.sid));
        QuorumVerifier { members, version }
    }

    /// The config a `/zookeeper/config` node or a reconfig's `SetDataTxn` holds (QV text as
    /// bytes; a member line may list `|` alternatives, as a peer's may).
    pub fn from_config_data(data: Option<&[u8]>) -> Result<QuorumVerifier, QvTextError> {
        Self::parse_qv_text(&String::from_utf8_lossy(data.unwrap_or_default()), true)
    }

    /// A verifier over `members` listed in `order` (sids; members missing from it last).
    pub fn in_order(members: Vec<QuorumServer>, version: i64, order: &[i64]) -> QuorumVerifier {
        let mut members = members;
        let position = |sid: i64| order.iter().position(|&s| s == sid).unwrap_or(usize::MAX);
        members.sort_by_key(|m| (position(m.sid), m.sid));
        members.dedup_by_key(|m| m.sid);
        QuorumVerifier { members, version }
    }

    /// The same members with another version (`QuorumVerifier.setVersion`).
    pub fn with_version(mut self, version: i64) -> QuorumVerifier {
        self.version = version;
        self
    }

    /// Parses QV text (`QuorumMaj.toString()` output, the config a notification or NEWLEADER
    /// carries), as `QuorumPeer.configFromString` does: Java properties with `server.N` lines
    /// and `version` (hex). `multi_address` allows `|` alternatives.
    pub fn parse_qv_text(text: &str, multi_address: bool) -> Result<QuorumVerifier, QvTextError> {
        let props = properties::parse(text).map_err(QvTextError::Properties)?;
        let mut members = std::collections::BTreeMap::new();
        let mut version = 0;
        for p in &props {
            // parseDynamicConfig (not in backward-compatibility mode) trims the keys.
            let key = p.key.trim();
            if key.starts_with("group") || key.starts_with("weight") {
                return Err(QvTextError::Hierarchical(key.to_owned()));
            }
            if let Some(n) = key.strip_prefix("server.") {
                let sid: i64 = n.parse().map_err(|_| QvTextError::BadSid {
                    key: key.to_owned(),
                })?;
                let server = QuorumServer::parse(sid, &p.value, multi_address)
                    .map_err(|error| QvTextError::Server { sid, error })?;
                members.insert(sid, server);
            } else if key == "version" {
                version = parse_version(&p.value)?;
            } else {
                return Err(QvTextError::UnknownKey(key.to_owned()));
            }
        }
        let keys: Vec<&str> = props.iter().map(|p| p.key.as_str()).collect();
        Ok(QuorumVerifier::new(members.into_values(), version, keys))
    }

    /// `QuorumMaj.toString()`: `server.N=value\n` per member in Apache's order, then
    /// `version=<lowercase hex>` with no trailing newline.
    pub fn to_qv_text(&self) -> String {
        let mut s = String::new();
        for m in &self.members {
            s.push_str(&format!("server.{}={}\n", m.sid, m));
        }
        // Long.toHexString: two's complement for negative versions.
        s.push_str(&format!("version={:x}", self.version as u64));
        s
    }

    /// The config version.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Every member, in QV text order.
    pub fn members(&self) -> &[QuorumServer] {
        &self.members
    }

    /// The member with this sid.
    pub fn member(&self, sid: i64) -> Option<&QuorumServer> {
        self.members.iter().find(|m| m.sid == sid)
    }

    /// Mutable access to a member (to set the static client address of one's own entry).
    pub(crate) fn member_mut(&mut self, sid: i64) -> Option<&mut QuorumServer> {
        self.members.iter_mut().find(|m| m.sid == sid)
    }

    /// The voters' sids (`getVotingMembers()`), ascending.
    pub fn voters(&self) -> BTreeSet<i64> {
        self.members_of(LearnerType::Participant)
    }

    /// The observers' sids (`getObservingMembers()`), ascending.
    pub fn observers(&self) -> BTreeSet<i64> {
        self.members_of(LearnerType::Observer)
    }

    fn members_of(&self, kind: LearnerType) -> BTreeSet<i64> {
        self.members
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.sid)
            .collect()
    }

    /// True when `sid` is a voter.
    pub fn is_voter(&self, sid: i64) -> bool {
        self.members
            .iter()
            .any(|m| m.sid == sid && m.kind == LearnerType::Participant)
    }

    /// `QuorumMaj.getWeight`: 1 for every id, members or not.
    pub fn weight(&self, _sid: i64) -> i64 {
        1
    }

    /// `QuorumMaj.containsQuorum` over the acks `SyncedLearnerTracker.addAck` keeps (voters
    /// only): more than half of the voters, each counted once.
    pub fn has_quorum(&self, acks: impl IntoIterator<Item = i64>) -> bool {
        let acks: BTreeSet<i64> = acks.into_iter().filter(|&s| self.is_voter(s)).collect();
        let voters = self.voters().len();
        acks.len() > voters / 2
    }

    /// `QuorumMaj.equals`: true when the versions are equal (members are not compared then!),
    /// else when both have the same members by `QuorumServer.equals`.
    pub fn quorum_maj_equals(&self, other: &QuorumVerifier) -> bool {
        if self.version == other.version {
            return true;
        }
        self.members.len() == other.members.len()
            && self.members.iter().all(|m| {
                other
                    .member(m.sid)
                    .is_some_and(|o| m.quorum_server_equals(o))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config every notification and NEWLEADER of the captures carried
    /// (/work/shared/quorum, `apache-3.8-quorum-01-cold-start.txt`): 178 bytes.
    pub(crate) const CAPTURED_QV: &str = "server.1=127.0.0.1:22881:23881:participant\nserver.2=127.0.0.1:22882:23882:participant\nserver.3=127.0.0.1:22883:23883:participant\nserver.4=127.0.0.1:22884:23884:observer\nversion=0";

    #[test]
    fn captured_qv_text_round_trips_byte_for_byte() {
        assert_eq!(CAPTURED_QV.len(), 178);
        let qv = QuorumVerifier::parse_qv_text(CAPTURED_QV, false).unwrap();
        assert_eq!(qv.to_qv_text(), CAPTURED_QV);
        assert_eq!(qv.voters(), BTreeSet::from([1, 2, 3]));
        assert_eq!(qv.observers(), BTreeSet::from([4]));
        assert_eq!(qv.version(), 0);
    }

    #[test]
    fn majority_is_more_than_half_of_the_voters() {
        let qv = QuorumVerifier::parse_qv_text(CAPTURED_QV, false).unwrap();
        assert!(!qv.has_quorum([1]));
        assert!(qv.has_quorum([1, 3]));
        // The observer and unknown ids do not count; duplicates count once.
        assert!(!qv.has_quorum([1, 4, 9, 1]));
        assert!(qv.is_voter(2) && !qv.is_voter(4) && !qv.is_voter(5));
        let four = QuorumVerifier::parse_qv_text(
            "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2",
            false,
        )
        .unwrap();
        assert!(!four.has_quorum([1, 2]));
        assert!(four.has_quorum([1, 2, 3]));
    }

    #[test]
    fn version_is_hex_both_ways() {
        let qv =
            QuorumVerifier::parse_qv_text("server.1=a:1:2\nversion=1A00000000", false).unwrap();
        assert_eq!(qv.version(), 0x1a_0000_0000);
        assert!(qv.to_qv_text().ends_with("\nversion=1a00000000"));
        assert_eq!(
            QuorumVerifier::parse_qv_text("version=zz", false).unwrap_err(),
            QvTextError::BadVersion("zz".into())
        );
    }

    /// Apache 3.8.0 printed this order for a QV text with these lines.
    #[test]
    fn member_order_is_java_hash_map_order() {
        let text = "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.16=d:1:2\nserver.17=e:1:2\nserver.33=f:1:2\nversion=1A";
        let qv = QuorumVerifier::parse_qv_text(text, false).unwrap();
        assert_eq!(
            qv.to_qv_text(),
            "server.16=d:1:2:participant\nserver.33=f:1:2:participant\nserver.1=a:1:2:participant\nserver.17=e:1:2:participant\nserver.2=b:1:2:participant\nserver.3=c:1:2:participant\nversion=1a"
        );
    }

    #[test]
    fn text_errors_name_the_cause() {
        let e = QuorumVerifier::parse_qv_text("server.x=a:1:2", false).unwrap_err();
        assert_eq!(e.to_string(), "server.x: the server id is not a number");
        let e = QuorumVerifier::parse_qv_text("server.2=a:1:1", false).unwrap_err();
        assert!(e.to_string().starts_with("server.2: "), "{e}");
        let e = QuorumVerifier::parse_qv_text("tickTime=2000", false).unwrap_err();
        assert_eq!(e.to_string(), "Unrecognised parameter: tickTime");
        let e = QuorumVerifier::parse_qv_text("group.1=1:2", false).unwrap_err();
        assert!(matches!(e, QvTextError::Hierarchical(_)));
    }

    #[test]
    fn equals_is_quorum_maj_equals() {
        let a = QuorumVerifier::parse_qv_text("server.1=a:1:2\nserver.2=b:1:2", false).unwrap();
        let other_members_same_version =
            QuorumVerifier::parse_qv_text("server.1=x:1:2\nversion=0", false).unwrap();
        assert!(a.quorum_maj_equals(&other_members_same_version));
        let same_members_new_version = QuorumVerifier::parse_qv_text(
            "server.2=b:1:2:participant\nserver.1=A:1:2\nversion=100000000",
            false,
        )
        .unwrap();
        assert!(a.quorum_maj_equals(&same_members_new_version));
        let new_member = QuorumVerifier::parse_qv_text(
            "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nversion=100000000",
            false,
        )
        .unwrap();
        assert!(!a.quorum_maj_equals(&new_member));
        let observer_now = QuorumVerifier::parse_qv_text(
            "server.1=a:1:2\nserver.2=b:1:2:observer\nversion=1",
            false,
        )
        .unwrap();
        assert!(!a.quorum_maj_equals(&observer_now));
    }
}
