//! ACL checks (`ZooKeeperServer.checkACL`), ACL fix-up on create and setACL
//! (`PrepRequestProcessor.fixupACL`) and the authentication schemes: world, auth, digest, ip and
//! super.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use zk_core::{Acl, ErrorCode, Id, Perms};

use super::java_hash::java_string_hash;

/// A node's ACL list, shared by every node that has the same one.
pub type AclList = Arc<[Acl]>;

/// The distinct ACL lists of a tree, so that nodes with equal ACLs share one allocation (as
/// Apache ZooKeeper's `ReferenceCountedACLCache` shares them by id). Lists that no node uses
/// any more are dropped when the set has doubled since the last sweep.
#[derive(Debug, Clone, Default)]
pub struct AclInterner {
    lists: HashSet<AclList>,
    sweep_at: usize,
}

impl AclInterner {
    /// The shared list equal to `acl`.
    pub fn intern(&mut self, acl: &[Acl]) -> AclList {
        if let Some(a) = self.lists.get(acl) {
            return a.clone();
        }
        if self.lists.len() >= self.sweep_at {
            // Only this set holds a list with one strong reference.
            self.lists.retain(|a| Arc::strong_count(a) > 1);
            self.sweep_at = (self.lists.len() * 2).max(64);
        }
        let a: AclList = acl.into();
        self.lists.insert(a.clone());
        a
    }

    /// Number of distinct lists held (some may no longer be used).
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// True when no list is held.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

/// A connection's ids in the order Apache ZooKeeper iterates them: its `authInfo` is a set
/// backed by a 16-bucket `ConcurrentHashMap`, keyed by the jute `Id.hashCode()`.
pub fn java_order(ids: &[Id]) -> Vec<&Id> {
    fn id_hash(id: &Id) -> i32 {
        let mut r: i32 = 17;
        r = r
            .wrapping_mul(37)
            .wrapping_add(java_string_hash(&id.scheme));
        r.wrapping_mul(37).wrapping_add(java_string_hash(&id.id))
    }
    let cap: u32 = if ids.len() > 12 {
        (ids.len() as u32 * 4 / 3).next_power_of_two()
    } else {
        16
    };
    let mut v: Vec<(u32, usize, &Id)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let h = id_hash(id) as u32;
            (((h ^ (h >> 16)) & 0x7fff_ffff) & (cap - 1), i, id)
        })
        .collect();
    v.sort_unstable_by_key(|(b, i, _)| (*b, *i));
    v.into_iter().map(|(_, _, id)| id).collect()
}

/// True when `ids` (a connection's authenticated ids) grant `perm` on a node with `acl`.
pub fn check_acl(acl: &[Acl], perm: Perms, ids: &[Id]) -> bool {
    if acl.is_empty() || ids.iter().any(|i| i.scheme == "super") {
        return true;
    }
    for a in acl {
        if a.perms & perm.0 == 0 {
            continue;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return true;
        }
        for i in ids.iter().filter(|i| i.scheme == a.id.scheme) {
            let ok = match a.id.scheme.as_str() {
                "ip" => ip_matches(&i.id, &a.id.id),
                "digest" | "sasl" | "x509" => i.id == a.id.id,
                _ => false,
            };
            if ok {
                return true;
            }
        }
    }
    false
}

/// Like [`check_acl`], as a `Result` with `NoAuth`.
pub fn require(acl: &[Acl], perm: Perms, ids: &[Id]) -> Result<(), ErrorCode> {
    if check_acl(acl, perm, ids) {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// Parses `addr` or `addr/bits` (the ip scheme's id).
fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn ip_matches(client: &str, acl_id: &str) -> bool {
    let (Some((c, _)), Some((a, bits))) = (parse_cidr(client), parse_cidr(acl_id)) else {
        return false;
    };
    match (c, a) {
        (IpAddr::V4(c), IpAddr::V4(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(c) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(c), IpAddr::V6(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(c) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// True when the scheme's provider considers `id` well formed (`isValid`). `sasl` is a scheme
/// only when its provider is configured (`sasl_scheme`).
fn scheme_valid(scheme: &str, id: &str, sasl_scheme: bool) -> bool {
    match scheme {
        // Java's split(":") drops trailing empty strings.
        "digest" => {
            let parts: Vec<&str> = id.split(':').collect();
            let mut n = parts.len();
            while n > 0 && parts[n - 1].is_empty() {
                n -= 1;
            }
            n == 2
        }
        "ip" => parse_cidr(id).is_some(),
        // SASLAuthenticationProvider.isValid: the id parses as a Kerberos name
        // (`name[/host]@realm`, or any name without '@').
        "sasl" if sasl_scheme => match id.split_once('@') {
            None => true,
            Some((principal, realm)) => {
                !realm.contains(['@', '/']) && principal.split('/').count() <= 2
            }
        },
        _ => false,
    }
}

/// True for schemes whose ids count as authenticated for the `auth` ACL macro: those of a
/// registered provider whose `isAuthenticated()` is true (`sasl` only when its provider is
/// configured).
fn is_authenticated_scheme(scheme: &str, sasl_scheme: bool) -> bool {
    match scheme {
        "digest" | "x509" => true,
        "sasl" => sasl_scheme,
        _ => false,
    }
}

/// Validates and expands an ACL list for create or setACL: removes duplicates, expands `auth`
/// to the caller's authenticated ids, and rejects unknown schemes and malformed ids with
/// `InvalidACL`. `sasl_scheme`: the `sasl` scheme's provider is configured.
pub fn fixup_acl(acl: &[Acl], ids: &[Id], sasl_scheme: bool) -> Result<Vec<Acl>, ErrorCode> {
    let mut uniq: Vec<&Acl> = Vec::new();
    for a in acl {
        if !uniq.contains(&a) {
            uniq.push(a);
        }
    }
    if uniq.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::new();
    for a in uniq {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut any = false;
            for i in java_order(ids)
                .into_iter()
                .filter(|i| is_authenticated_scheme(&i.scheme, sasl_scheme))
            {
                any = true;
                out.push(Acl {
                    perms: a.perms,
                    id: i.clone(),
                });
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if scheme_valid(&a.id.scheme, &a.id.id, sasl_scheme) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// getACL's masking for callers without ADMIN: digest ids become `user:x`.
pub fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or_default();
                Acl {
                    perms: a.perms,
                    id: Id::new("digest", format!("{user}:x")),
                }
            } else {
                a.clone()
            }
        })
        .collect()
}

/// The ids an `addauth` adds, or `None` when the scheme is unknown or the credential invalid
/// (the server answers AuthFailed and closes the connection).
pub fn authenticate(scheme: &str, auth: &[u8], super_digest: Option<&str>) -> Option<Vec<Id>> {
    match scheme {
        "digest" => {
            let id = zk_core::auth::server_digest_id(auth);
            let mut ids = vec![Id::new("digest", id.clone())];
            if super_digest == Some(id.as_str()) {
                ids.push(Id::new("super", ""));
            }
            Some(ids)
        }
        // The ip provider authenticates the peer address, which every connection already has.
        "ip" => Some(Vec::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_lists_share_one_allocation_and_unused_ones_are_swept() {
        let mut set = AclInterner::default();
        let a = set.intern(&Acl::open_unsafe());
        let b = set.intern(&Acl::open_unsafe());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&a[..], &Acl::open_unsafe()[..]);
        let c = set.intern(&Acl::read_unsafe());
        assert!(!Arc::ptr_eq(&a, &c));
        drop(c);
        // Fill the set with lists nobody keeps; the sweep drops them but keeps `a`.
        for i in 0..200 {
            let _ = set.intern(&[Acl::new(Perms::READ, Id::new("ip", format!("10.0.0.{i}")))]);
        }
        assert!(set.len() < 100, "unused lists are swept: {}", set.len());
        assert!(Arc::ptr_eq(&a, &set.intern(&Acl::open_unsafe())));
    }

    fn ids() -> Vec<Id> {
        vec![Id::new("ip", "127.0.0.1")]
    }

    #[test]
    fn world_and_ip() {
        assert!(check_acl(&Acl::open_unsafe(), Perms::WRITE, &ids()));
        assert!(!check_acl(&Acl::read_unsafe(), Perms::WRITE, &ids()));
        let acl = vec![Acl::new(Perms::ALL, Id::new("ip", "127.0.0.0/8"))];
        assert!(check_acl(&acl, Perms::READ, &ids()));
        let acl = vec![Acl::new(Perms::ALL, Id::new("ip", "10.0.0.1"))];
        assert!(!check_acl(&acl, Perms::READ, &ids()));
    }

    /// `sasl` ids (from a SASL exchange) count for `auth` and `sasl` ACLs are valid only when
    /// the SASL provider is registered (`authProvider.N`), as in Apache ZooKeeper.
    #[test]
    fn sasl_acls_follow_the_provider_registration() {
        let mut with = ids();
        with.push(Id::new("sasl", "jaasuser"));
        let creator = Acl::creator_all();
        assert_eq!(
            fixup_acl(&creator, &with, false),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&creator, &with, true).unwrap(),
            vec![Acl::new(Perms::ALL, Id::new("sasl", "jaasuser"))]
        );
        let explicit = vec![Acl::new(Perms::READ, Id::new("sasl", "zk/host@REALM"))];
        assert_eq!(
            fixup_acl(&explicit, &ids(), false),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup_acl(&explicit, &ids(), true).unwrap(), explicit);
        let bad = vec![Acl::new(Perms::READ, Id::new("sasl", "a@b@c"))];
        assert_eq!(fixup_acl(&bad, &ids(), true), Err(ErrorCode::InvalidAcl));
    }

    #[test]
    fn auth_macro_needs_authenticated_id() {
        let acl = Acl::creator_all();
        assert_eq!(fixup_acl(&acl, &ids(), false), Err(ErrorCode::InvalidAcl));
        let mut with = ids();
        with.push(Id::new("digest", "alice:xyz"));
        let fixed = fixup_acl(&acl, &with, false).unwrap();
        assert_eq!(
            fixed,
            vec![Acl::new(Perms::ALL, Id::new("digest", "alice:xyz"))]
        );
    }

    #[test]
    fn invalid_ids() {
        let bad = vec![Acl::new(Perms::ALL, Id::new("digest", "nocolon"))];
        assert_eq!(fixup_acl(&bad, &ids(), false), Err(ErrorCode::InvalidAcl));
        let bad = vec![Acl::new(Perms::ALL, Id::new("world", "someone"))];
        assert_eq!(fixup_acl(&bad, &ids(), false), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup_acl(&[], &ids(), false), Err(ErrorCode::InvalidAcl));
    }

    #[test]
    fn id_order_matches_apache() {
        // whoAmI in the Java client tour: digest before ip.
        let ids = vec![
            Id::new("ip", "127.0.0.1"),
            Id::new("digest", zk_core::auth::digest_id_for("alice", "secret")),
        ];
        let order: Vec<&str> = java_order(&ids).iter().map(|i| i.scheme.as_str()).collect();
        assert_eq!(order, ["digest", "ip"]);
    }

    #[test]
    fn super_digest() {
        let ids = authenticate(
            "digest",
            b"super:test",
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="),
        )
        .unwrap();
        assert!(ids.iter().any(|i| i.scheme == "super"));
        assert!(check_acl(
            &[Acl::new(Perms::READ, Id::new("ip", "1.2.3.4"))],
            Perms::ADMIN,
            &ids
        ));
        assert!(authenticate("foo", b"x", None).is_none());
    }
}
