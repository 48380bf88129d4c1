//! zkCli.sh's ACL text form: `scheme:id:perms[,...]` (`AclParser`).

use zk_core::{Acl, Id, Perms};

/// Parses an ACL as zkCli.sh's `AclParser` does: `scheme:id:perms[,scheme:id:perms...]`.
///
/// Like zkCli.sh it is lenient: a malformed entry is skipped and an unknown permission letter
/// ignored, each with a warning (returned second, to be printed on stderr).
pub fn parse_acl(text: &str) -> (Vec<Acl>, Vec<String>) {
    let mut acl = Vec::new();
    let mut warnings = Vec::new();
    for entry in text.split(',') {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        };
        if first == last {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        }
        let mut p = 0;
        for c in entry[last + 1..].chars() {
            match c {
                'r' => p |= Perms::READ.0,
                'w' => p |= Perms::WRITE.0,
                'c' => p |= Perms::CREATE.0,
                'd' => p |= Perms::DELETE.0,
                'a' => p |= Perms::ADMIN.0,
                other => warnings.push(format!("Unknown perm type: {other}")),
            }
        }
        acl.push(Acl::new(
            Perms(p),
            Id::new(&entry[..first], &entry[first + 1..last]),
        ));
    }
    (acl, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_parser_is_lenient_like_java() {
        let (acl, warnings) = parse_acl("world:anyone:r,ip:127.0.0.1:cdrwa,bad,x:y:zz");
        assert_eq!(acl.len(), 3);
        assert_eq!(acl[0], Acl::new(Perms::READ, Id::anyone()));
        assert_eq!(acl[1], Acl::new(Perms::ALL, Id::new("ip", "127.0.0.1")));
        assert_eq!(acl[2], Acl::new(Perms(0), Id::new("x", "y")));
        assert_eq!(
            warnings,
            [
                "bad does not have the form scheme:id:perm",
                "Unknown perm type: z",
                "Unknown perm type: z"
            ]
        );
        let (acl, _) = parse_acl("digest:u:BvFaefuhWURhnvpD7ipe45CKTpk=:cdrwa");
        assert_eq!(
            acl[0].id,
            Id::new("digest", "u:BvFaefuhWURhnvpD7ipe45CKTpk=")
        );
    }
}
