//! The digest authentication scheme (`DigestAuthenticationProvider`).

use base64::Engine;
use sha1::{Digest, Sha1};

/// The digest id for a `user:password` credential: `user:base64(sha1("user:password"))`.
///
/// The hash covers the whole credential, user included. Returns `None` when the credential has
/// no `:`.
pub fn digest_id(credential: &str) -> Option<String> {
    let (user, _) = credential.split_once(':')?;
    let hash = Sha1::digest(credential.as_bytes());
    Some(format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    ))
}

/// The digest id for a user and password.
pub fn digest_id_for(user: &str, password: &str) -> String {
    digest_id(&format!("{user}:{password}")).expect("the credential has a ':'")
}

/// The id Apache ZooKeeper's server derives from any `addauth digest` credential
/// (`DigestAuthenticationProvider.generateDigest`): the part before the first `:` (the whole
/// credential when there is none), `:`, and base64(sha1(credential)). Never fails.
pub fn server_digest_id(credential: &[u8]) -> String {
    let text = String::from_utf8_lossy(credential);
    let user = text.split_once(':').map_or(&*text, |(u, _)| u);
    let hash = Sha1::digest(credential);
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // The super digest used by kezhuw's suite, verified with openssl.
        assert_eq!(
            digest_id("super:test").unwrap(),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(
            digest_id_for("super", "test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(digest_id("nocolon"), None);
    }

    #[test]
    fn server_side_digest_accepts_anything() {
        assert_eq!(
            server_digest_id(b"super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert!(server_digest_id(b"nocolon").starts_with("nocolon:"));
        assert!(server_digest_id(b"a:b:c").starts_with("a:"));
    }
}
