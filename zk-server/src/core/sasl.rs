//! SASL authentication with DIGEST-MD5 (RFC 2831), as Apache ZooKeeper's `ZooKeeperSaslServer`
//! offers it when its JAAS configuration has a `Server` section with `DigestLoginModule`
//! (`user_NAME="password"` options): the server is `zookeeper/zk-sasl-md5`, the realm
//! `zk-sasl-md5`, the quality of protection `auth` only (no integrity or privacy layer, which
//! ZooKeeper never uses). A successful exchange adds the id `sasl:<user>` to the connection.
//!
//! Exchange: the client's first token is empty and is answered with a challenge (realm, nonce,
//! charset, algorithm: Java's, whose absent qop means `auth`); the client's digest response is checked and answered with
//! `rspauth=...`, which completes the authentication. Any error fails it (the connection then
//! gets AuthFailed and is closed).

use std::collections::BTreeMap;

use md5::{Digest, Md5};

/// The server name (and realm) Apache ZooKeeper uses for DIGEST-MD5.
pub const DIGEST_SERVER_NAME: &str = "zk-sasl-md5";
/// The SASL protocol (service) name.
pub const PROTOCOL: &str = "zookeeper";

/// The users of a JAAS configuration's `section` (normally `Server`) when its login module is
/// `DigestLoginModule`: `user_NAME="password"` options. None when the section is missing or
/// uses another login module (Kerberos is not supported).
pub fn digest_users_from_jaas(text: &str, section: &str) -> Option<BTreeMap<String, String>> {
    let body = jaas_section(text, section)?;
    let mut words = JaasTokens::new(body);
    let module = words.next()?;
    if !module.ends_with("DigestLoginModule") {
        tracing::warn!(
            module,
            "JAAS {section} section: only DigestLoginModule (SASL DIGEST-MD5) is supported"
        );
        return None;
    }
    // The flag (required, ...), then key=value options up to ';'.
    let words: Vec<String> = words.skip(1).take_while(|w| w != ";").collect();
    let mut users = BTreeMap::new();
    let mut i = 0;
    while i + 2 < words.len() && words[i + 1] == "=" {
        if let Some(name) = words[i].strip_prefix("user_") {
            users.insert(name.to_string(), words[i + 2].clone());
        }
        i += 3;
    }
    Some(users)
}

/// The text between `section {` and the matching `}`.
fn jaas_section<'a>(text: &'a str, section: &str) -> Option<&'a str> {
    let mut rest = text;
    loop {
        let i = rest.find(section)?;
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '}');
        let after = rest[i + section.len()..].trim_start();
        if before_ok && after.starts_with('{') {
            let body = &after[1..];
            let end = body.find('}')?;
            return Some(&body[..end]);
        }
        rest = &rest[i + section.len()..];
    }
}

/// Words of a JAAS entry: bare words, quoted strings (unquoted), `=` and `;`.
struct JaasTokens<'a> {
    rest: &'a str,
}

impl<'a> JaasTokens<'a> {
    fn new(rest: &'a str) -> Self {
        JaasTokens { rest }
    }
}

impl Iterator for JaasTokens<'_> {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        self.rest = self.rest.trim_start();
        let mut chars = self.rest.char_indices();
        let (_, c) = chars.next()?;
        if c == '=' || c == ';' {
            self.rest = &self.rest[1..];
            return Some(c.to_string());
        }
        if c == '"' {
            let mut out = String::new();
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    self.rest = &self.rest[i + 1..];
                    return Some(out);
                } else {
                    out.push(c);
                }
            }
            self.rest = "";
            return Some(out);
        }
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == ';')
            .unwrap_or(self.rest.len());
        let w = self.rest[..end].to_string();
        self.rest = &self.rest[end..];
        Some(w)
    }
}

/// Why a SASL exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslError(pub String);

impl std::fmt::Display for SaslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Waiting for the client's (empty) first token.
    Start,
    /// Challenge sent with this nonce.
    Challenged(String),
    /// Authenticated as this user.
    Complete(String),
    Failed,
}

/// One connection's DIGEST-MD5 server exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMd5Server {
    stage: Stage,
    /// The nonce of the challenge, until it is sent.
    nonce: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The `n`th nonce of a server: 40 hex digits (as long as Java's 30 random bytes in base64),
/// the SHA-1 of the server's secret entropy and `n`. The core never draws randomness itself:
/// the driver hands it the entropy at start-up ([`super::CoreConfig::entropy`]).
pub fn nonce(entropy: &[u8; 32], n: u64) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(entropy);
    h.update(n.to_be_bytes());
    hex(&h.finalize())
}

/// Parses `key=value,key="quoted value",...` (RFC 2831 directives).
fn parse_directives(text: &str) -> Result<BTreeMap<String, String>, SaslError> {
    let mut out = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| SaslError(format!("malformed digest response near {rest:?}")))?;
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, c) in q.char_indices() {
                if escaped {
                    v.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                } else {
                    v.push(c);
                }
            }
            let end = end.ok_or_else(|| SaslError("unterminated quoted string".into()))?;
            value = v;
            rest = q[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(SaslError(format!("directive {key} repeated")));
        }
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(SaslError(format!(
                "malformed digest response near {rest:?}"
            )));
        }
    }
    Ok(out)
}

impl DigestMd5Server {
    /// A new exchange; its challenge will carry `nonce` (see [`nonce`]).
    pub fn new(nonce: String) -> Self {
        DigestMd5Server {
            stage: Stage::Start,
            nonce,
        }
    }

    /// The authenticated user, once the exchange completed.
    pub fn authorized_id(&self) -> Option<&str> {
        match &self.stage {
            Stage::Complete(u) => Some(u),
            _ => None,
        }
    }

    /// Evaluates the client's token and returns the server's answer (`None`: no token).
    /// `users` maps user names to passwords.
    pub fn evaluate(
        &mut self,
        token: &[u8],
        users: &BTreeMap<String, String>,
    ) -> Result<Option<Vec<u8>>, SaslError> {
        let result = self.step(token, users);
        if result.is_err() {
            self.stage = Stage::Failed;
        }
        result
    }

    fn step(
        &mut self,
        token: &[u8],
        users: &BTreeMap<String, String>,
    ) -> Result<Option<Vec<u8>>, SaslError> {
        match std::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Start => {
                // DIGEST-MD5 has no initial response: whatever the client sent first is answered
                // with the challenge (Java's server ignores it too). Java's challenge, directive
                // for directive: no qop directive (RFC 2831: "auth" then).
                let nonce = std::mem::take(&mut self.nonce);
                let challenge = format!(
                    "realm=\"{DIGEST_SERVER_NAME}\",nonce=\"{nonce}\",charset=utf-8,\
                     algorithm=md5-sess"
                );
                self.stage = Stage::Challenged(nonce);
                Ok(Some(challenge.into_bytes()))
            }
            Stage::Challenged(nonce) => {
                let text = std::str::from_utf8(token)
                    .map_err(|_| SaslError("digest response is not UTF-8".into()))?;
                let d = parse_directives(text)?;
                let get = |k: &str| {
                    d.get(k)
                        .map(String::as_str)
                        .ok_or_else(|| SaslError(format!("digest response without {k}")))
                };
                let username = get("username")?;
                let realm = d.get("realm").map_or("", String::as_str);
                if get("nonce")? != nonce {
                    return Err(SaslError("nonce mismatch".into()));
                }
                let cnonce = get("cnonce")?;
                let nc = get("nc")?;
                if u32::from_str_radix(nc, 16) != Ok(1) {
                    return Err(SaslError(format!("unexpected nonce count {nc}")));
                }
                let qop = d.get("qop").map_or("auth", String::as_str);
                if qop != "auth" {
                    return Err(SaslError(format!("unsupported qop {qop}")));
                }
                let digest_uri = get("digest-uri")?;
                if digest_uri != format!("{PROTOCOL}/{DIGEST_SERVER_NAME}") {
                    return Err(SaslError(format!("digest-uri {digest_uri:?} mismatch")));
                }
                let authzid = d.get("authzid").map(String::as_str);
                if authzid.is_some_and(|a| a != username) {
                    return Err(SaslError("authzid differs from the user name".into()));
                }
                let password = users
                    .get(username)
                    .ok_or_else(|| SaslError(format!("unknown user {username:?}")))?;
                let response = get("response")?;
                let key = md5(&[
                    username.as_bytes(),
                    b":",
                    realm.as_bytes(),
                    b":",
                    password.as_bytes(),
                ]);
                let mut a1 = key.to_vec();
                a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
                if let Some(a) = authzid {
                    a1.extend_from_slice(format!(":{a}").as_bytes());
                }
                let ha1 = hex(&md5(&[&a1]));
                let kd = |a2: &str| {
                    let ha2 = hex(&md5(&[a2.as_bytes()]));
                    hex(&md5(&[
                        format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes()
                    ]))
                };
                if !response.eq_ignore_ascii_case(&kd(&format!("AUTHENTICATE:{digest_uri}"))) {
                    return Err(SaslError(format!("wrong password for {username:?}")));
                }
                let rspauth = kd(&format!(":{digest_uri}"));
                self.stage = Stage::Complete(username.to_string());
                Ok(Some(format!("rspauth={rspauth}").into_bytes()))
            }
            Stage::Complete(u) => {
                self.stage = Stage::Complete(u);
                Err(SaslError("SASL authentication already complete".into()))
            }
            Stage::Failed => Err(SaslError("SASL authentication failed before".into())),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A client computed independently of the server: RFC 2831's example values, with the
    /// server's nonce taken from its challenge.
    pub(crate) fn client_response(challenge: &str, user: &str, pw: &str, cnonce: &str) -> String {
        let d = parse_directives(challenge).unwrap();
        let (realm, nonce) = (&d["realm"], &d["nonce"]);
        let uri = "zookeeper/zk-sasl-md5";
        let key = md5(&[format!("{user}:{realm}:{pw}").as_bytes()]);
        let mut a1 = key.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        let ha1 = hex(&md5(&[&a1]));
        let ha2 = hex(&md5(&[format!("AUTHENTICATE:{uri}").as_bytes()]));
        let resp = hex(&md5(&[format!(
            "{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"
        )
        .as_bytes()]));
        format!(
            "qop=auth,realm=\"{realm}\",username=\"{user}\",nonce=\"{nonce}\",\
             cnonce=\"{cnonce}\",nc=00000001,digest-uri=\"{uri}\",response={resp}"
        )
    }

    const JAAS: &str = r#"
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="x" password="y"; };
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};"#;

    fn users() -> BTreeMap<String, String> {
        digest_users_from_jaas(JAAS, "Server").expect("digest users")
    }

    #[test]
    fn reads_the_server_section_of_a_jaas_file() {
        let u = users();
        assert_eq!(u.len(), 2);
        assert_eq!(u["super"], "super_secret");
        assert_eq!(u["jaasuser"], "jaas_password");
        assert_eq!(digest_users_from_jaas("", "Server"), None);
        assert_eq!(
            digest_users_from_jaas(
                "Server { com.sun.security.auth.module.Krb5LoginModule required; };",
                "Server"
            ),
            None
        );
    }

    #[test]
    fn digest_md5_exchange_authenticates_a_known_user() {
        let mut s = DigestMd5Server::new(nonce(&[7; 32], 1));
        let challenge = String::from_utf8(s.evaluate(b"", &users()).unwrap().unwrap()).unwrap();
        assert!(
            challenge.starts_with("realm=\"zk-sasl-md5\",nonce=\""),
            "{challenge}"
        );
        // Apache ZooKeeper's (Java's) challenge has this shape and length.
        assert!(
            challenge.ends_with("\",charset=utf-8,algorithm=md5-sess"),
            "{challenge}"
        );
        assert_eq!(challenge.len(), 101, "{challenge}");
        let resp = client_response(&challenge, "jaasuser", "jaas_password", "OA6MHXh6VqTrRk");
        let answer =
            String::from_utf8(s.evaluate(resp.as_bytes(), &users()).unwrap().unwrap()).unwrap();
        assert!(answer.starts_with("rspauth="), "{answer}");
        assert_eq!(answer.len(), "rspauth=".len() + 32);
        assert_eq!(s.authorized_id(), Some("jaasuser"));
        // Nothing more to say once complete.
        assert!(s.evaluate(b"", &users()).is_err());
    }

    #[test]
    fn digest_md5_rejects_bad_passwords_unknown_users_and_replays() {
        for (user, pw) in [("jaasuser", "wrong"), ("nobody", "jaas_password")] {
            let mut s = DigestMd5Server::new(nonce(&[7; 32], 1));
            let challenge = String::from_utf8(s.evaluate(b"", &users()).unwrap().unwrap()).unwrap();
            let resp = client_response(&challenge, user, pw, "abc");
            assert!(s.evaluate(resp.as_bytes(), &users()).is_err());
            assert_eq!(s.authorized_id(), None);
        }
        // A response computed for another exchange's nonce fails.
        let mut a = DigestMd5Server::new(nonce(&[7; 32], 1));
        let ca = String::from_utf8(a.evaluate(b"", &users()).unwrap().unwrap()).unwrap();
        let mut b = DigestMd5Server::new(nonce(&[7; 32], 2));
        let _ = b.evaluate(b"", &users()).unwrap();
        let resp = client_response(&ca, "jaasuser", "jaas_password", "abc");
        assert!(b.evaluate(resp.as_bytes(), &users()).is_err());
        assert!(b.evaluate(b"garbage", &users()).is_err());
    }
}
