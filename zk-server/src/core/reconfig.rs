//! The reconfig op on a leader (`PrepRequestProcessor`, `case OpCode.reconfig`): from the
//! current config and the request, the next config, in Apache ZooKeeper 3.8's checks and
//! error precedence. The caller then checks the write ACL of `/zookeeper/config` (only a
//! super user passes: its ACL is read-only for everyone) and proposes a `SetDataTxn` of the
//! next config's text, version -1.
//!
//! The next config's version is the reconfig's zxid, and its members are listed in the order
//! Apache's `QuorumMaj.toString()` would list them: for an incremental change, the order of a
//! `HashMap<Long, QuorumServer>` copied from the current config, then changed; for a new
//! member list, that of the `Properties` it was loaded into.

use std::collections::BTreeSet;

use zk_core::proto::ReconfigRequest;
use zk_core::{ErrorCode, Zxid};

use crate::quorum::java_order::long_hash_map_order_from;
use crate::quorum::server::QuorumServer;
use crate::quorum::verifier::QuorumVerifier;

/// The ensemble as a leader's prepare step sees it, kept fresh by the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsembleView {
    /// The last activated config (`getQuorumVerifier`).
    pub current: QuorumVerifier,
    /// The version of the last config proposed (`getLastSeenQuorumVerifier`); a reconfig is in
    /// progress while it differs from the current one's.
    pub last_seen_version: i64,
    /// The leader and the followers (not observers) that are in broadcast and in sync
    /// (`Leader.isQuorumSynced` counts these).
    pub synced: BTreeSet<i64>,
    /// zoo.cfg `standaloneEnabled`: a config needs 2 voters then, 1 otherwise.
    pub standalone_enabled: bool,
    /// `zookeeper.multiAddress.enabled`: member lines may list `|` alternatives.
    pub multi_address: bool,
}

/// `StringUtils.split`: the pieces between separators, trimmed, empty ones dropped.
fn split(s: &str, sep: char) -> Vec<&str> {
    s.split(sep)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// `Long.parseLong`; anything else is a runtime exception in Apache's prepare, which turns
/// the request into a MarshallingError.
fn parse_sid(s: &str) -> Result<i64, ErrorCode> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || digits.starts_with('+') {
        return Err(ErrorCode::MarshallingError);
    }
    digits.parse().map_err(|_| ErrorCode::MarshallingError)
}

/// `QuorumServer.checkAddressDuplicate`: two members may not share a quorum or election
/// address.
fn shares_an_address(a: &QuorumServer, b: &QuorumServer) -> bool {
    let mine: Vec<_> = a
        .addrs
        .iter()
        .flat_map(|x| [x.quorum(), x.election()])
        .collect();
    b.addrs
        .iter()
        .flat_map(|x| [x.quorum(), x.election()])
        .any(|o| mine.iter().any(|m| m.same_as(&o)))
}

/// The next config for `req` prepared at `zxid`, or the error Apache ZooKeeper answers.
///
/// # Errors
/// ReconfigInProgress, BadVersion (`curConfigId` is not the last seen version), BadArguments
/// (a member list or server string that cannot be parsed, duplicate addresses, too few voters),
/// MarshallingError (a server id that is not a number), NewConfigNoQuorum (a quorum of the
/// next config's voters is not connected and in sync).
pub fn next_config(
    view: &EnsembleView,
    req: &ReconfigRequest,
    zxid: Zxid,
) -> Result<QuorumVerifier, ErrorCode> {
    if view.last_seen_version != view.current.version() {
        return Err(ErrorCode::ReconfigInProgress);
    }
    if req.cur_config_id != -1 && req.cur_config_id != view.last_seen_version {
        tracing::warn!(
            from = req.cur_config_id,
            last_seen = view.last_seen_version,
            "reconfiguration from another version refused"
        );
        return Err(ErrorCode::BadVersion);
    }
    let next = match &req.new_members {
        Some(members) => {
            // Members may be separated by commas or by newlines.
            let text = members.replace(',', "\n");
            let qv = QuorumVerifier::parse_qv_text(&text, view.multi_address).map_err(|e| {
                tracing::warn!(error = %e, "reconfig: the new member list cannot be used");
                ErrorCode::BadArguments
            })?;
            qv.with_version(zxid.0)
        }
        None => incremental(view, req, zxid)?,
    };
    let voters = next.voters().len();
    let least = if view.standalone_enabled { 2 } else { 1 };
    if voters < least {
        tracing::warn!(
            voters,
            "reconfig refused: the new configuration must include at least {least} followers"
        );
        return Err(ErrorCode::BadArguments);
    }
    if !next.has_quorum(view.synced.iter().copied()) {
        tracing::warn!(
            "reconfig refused: there must be a connected and synced quorum in the new configuration"
        );
        return Err(ErrorCode::NewConfigNoQuorum);
    }
    Ok(next)
}

/// The incremental change: the current members less the leaving ones, with the joining ones
/// added or replaced.
fn incremental(
    view: &EnsembleView,
    req: &ReconfigRequest,
    zxid: Zxid,
) -> Result<QuorumVerifier, ErrorCode> {
    let mut members: Vec<QuorumServer> = view.current.members().to_vec();
    // Apache's `new HashMap<>(current)`: the copy's table is sized for the current members,
    // and every change is a remove then a put at the tail of its bucket.
    let mut order: Vec<i64> = members.iter().map(|m| m.sid).collect();
    let initial = order.len();
    if let Some(leaving) = &req.leaving_servers {
        for l in split(leaving, ',') {
            let sid = parse_sid(l)?;
            members.retain(|m| m.sid != sid);
            order.retain(|s| *s != sid);
        }
    }
    if let Some(joining) = &req.joining_servers {
        for j in split(joining, ',') {
            let parts = split(j, '=');
            let [key, spec] = parts.as_slice() else {
                tracing::warn!(server = j, "reconfig: wrong format of server string");
                return Err(ErrorCode::BadArguments);
            };
            let sid = parse_sid(&key[key.rfind('.').map_or(0, |i| i + 1)..])?;
            let qs = QuorumServer::parse(sid, spec, view.multi_address).map_err(|e| {
                tracing::warn!(error = %e, "reconfig: the server string cannot be used");
                ErrorCode::BadArguments
            })?;
            if qs.client_addr.is_none() {
                tracing::warn!(
                    server = j,
                    "reconfig: each server should have 3 ports specified"
                );
                return Err(ErrorCode::BadArguments);
            }
            if members
                .iter()
                .any(|m| m.sid != sid && shares_an_address(&qs, m))
            {
                tracing::warn!(server = j, "reconfig: an address is already in use");
                return Err(ErrorCode::BadArguments);
            }
            members.retain(|m| m.sid != sid);
            order.retain(|s| *s != sid);
            members.push(qs);
            order.push(sid);
        }
    }
    let order = long_hash_map_order_from(initial, order);
    Ok(QuorumVerifier::in_order(members, zxid.0, &order))
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "server.1=127.0.0.1:2001:3001:participant;0.0.0.0:4001\n\
                         server.2=127.0.0.1:2002:3002:participant;0.0.0.0:4002\n\
                         server.3=127.0.0.1:2003:3003:participant;0.0.0.0:4003\n\
                         version=100000000";

    fn view(synced: &[i64]) -> EnsembleView {
        let current = QuorumVerifier::parse_qv_text(THREE, false).unwrap();
        EnsembleView {
            last_seen_version: current.version(),
            current,
            synced: synced.iter().copied().collect(),
            standalone_enabled: true,
            multi_address: false,
        }
    }

    fn req(joining: Option<&str>, leaving: Option<&str>, new: Option<&str>) -> ReconfigRequest {
        ReconfigRequest {
            joining_servers: joining.map(str::to_owned),
            leaving_servers: leaving.map(str::to_owned),
            new_members: new.map(str::to_owned),
            cur_config_id: -1,
        }
    }

    const Z: Zxid = Zxid(0x1_0000_0005);

    #[test]
    fn an_observer_joins_in_apaches_text() {
        let joining = "server.100=0.0.0.0:5000:5001:observer;0.0.0.0:5002";
        let qv = next_config(&view(&[1, 2, 3]), &req(Some(joining), None, None), Z).unwrap();
        let text = qv.to_qv_text();
        assert!(text.contains(joining), "{text}");
        assert!(text.ends_with("version=100000005"), "{text}");
        assert_eq!(qv.voters().len(), 3);
        assert_eq!(qv.observers(), BTreeSet::from([100]));
    }

    /// With 3 members Apache's copy has 8 buckets: sid 9 shares sid 1's and comes after it.
    #[test]
    fn joiners_are_listed_in_java_hash_map_order() {
        let joining = "server.9=127.0.0.1:2009:3009;4009";
        let qv = next_config(&view(&[1, 2, 3]), &req(Some(joining), None, None), Z).unwrap();
        let sids: Vec<i64> = qv.members().iter().map(|m| m.sid).collect();
        assert_eq!(sids, [1, 9, 2, 3]);
    }

    #[test]
    fn a_member_leaves_and_the_rest_must_be_a_synced_quorum() {
        let qv = next_config(&view(&[1, 3]), &req(None, Some("2"), None), Z).unwrap();
        assert_eq!(qv.voters(), BTreeSet::from([1, 3]));
        assert_eq!(
            next_config(&view(&[1, 3]), &req(None, Some("3"), None), Z),
            Err(ErrorCode::NewConfigNoQuorum)
        );
    }

    #[test]
    fn errors_in_apaches_order() {
        let mut v = view(&[1, 2, 3]);
        v.last_seen_version += 1;
        assert_eq!(
            next_config(&v, &req(None, Some("2"), None), Z),
            Err(ErrorCode::ReconfigInProgress)
        );
        let mut r = req(None, Some("2"), None);
        r.cur_config_id = 7;
        assert_eq!(
            next_config(&view(&[1, 2, 3]), &r, Z),
            Err(ErrorCode::BadVersion)
        );
        let v = view(&[1, 2, 3]);
        for (bad, code) in [
            (req(Some("some thing"), None, None), ErrorCode::BadArguments),
            (
                req(Some("server.4=127.0.0.1:2004:3004"), None, None),
                ErrorCode::BadArguments,
            ),
            (
                req(Some("server.4=127.0.0.1:2001:3004;4004"), None, None),
                ErrorCode::BadArguments,
            ),
            (req(None, Some("x"), None), ErrorCode::MarshallingError),
            (req(None, Some("2,3"), None), ErrorCode::BadArguments),
            (
                req(
                    None,
                    None,
                    Some("server.1=127.0.0.1:2001:3001;4001,bogus=1"),
                ),
                ErrorCode::BadArguments,
            ),
        ] {
            assert_eq!(next_config(&v, &bad, Z), Err(code), "{bad:?}");
        }
    }

    #[test]
    fn a_new_member_list_replaces_the_config() {
        let new = "server.1=127.0.0.1:2001:3001;4001,server.2=127.0.0.1:2002:3002;4002";
        let qv = next_config(&view(&[1, 2, 3]), &req(None, None, Some(new)), Z).unwrap();
        assert_eq!(qv.voters(), BTreeSet::from([1, 2]));
        assert_eq!(qv.version(), Z.0);
        assert!(
            qv.to_qv_text()
                .starts_with("server.1=127.0.0.1:2001:3001:participant;127.0.0.1:4001\n")
                || qv
                    .to_qv_text()
                    .starts_with("server.1=127.0.0.1:2001:3001:participant;0.0.0.0:4001\n"),
            "{}",
            qv.to_qv_text()
        );
    }
}
