//! [`InitialMessage`]: the first bytes on an election connection, unframed
//! (`QuorumCnxManager.startConnection` writes it, `handleConnection` and
//! `QuorumCnxManager.InitialMessage.parse` read it).

use crate::error::DecodeError;
use crate::jute::{Encode, WriteExt};

use super::cursor::{streaming, Cursor, Step, Stop};

/// `QuorumCnxManager.PROTOCOL_VERSION_V1` (3.5.0+): one election address.
pub const PROTOCOL_VERSION_V1: i64 = -65536;
/// `QuorumCnxManager.PROTOCOL_VERSION_V2` (3.6.0+, multi-address): addresses joined by `|`.
pub const PROTOCOL_VERSION_V2: i64 = -65535;
/// The longest address list accepted (`QuorumCnxManager.maxBuffer`).
pub const MAX_ADDRESS_LEN: usize = 2048;

/// Which form an initial message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElectionProtocol {
    /// A pre-3.5 peer: the message is its sid alone (a first long ≥ 0).
    Pre35,
    /// [`PROTOCOL_VERSION_V1`], what 3.8 sends unless `zookeeper.multiAddress.enabled`.
    V1,
    /// [`PROTOCOL_VERSION_V2`].
    V2,
}

impl ElectionProtocol {
    /// The protocol version long, `None` for pre-3.5 (which sends none).
    pub fn version(self) -> Option<i64> {
        match self {
            ElectionProtocol::Pre35 => None,
            ElectionProtocol::V1 => Some(PROTOCOL_VERSION_V1),
            ElectionProtocol::V2 => Some(PROTOCOL_VERSION_V2),
        }
    }
}

/// `long protocolVersion, long sid, int addrLen, byte[addrLen] addresses` (3.5+), or just
/// `long sid` (pre-3.5).
///
/// Each address is `host:port` (`NetUtils.formatInetAddr`, IPv6 as `[v6]:port`): the sender's
/// election address, which the acceptor dials back when the sender's sid is the smaller one.
/// Write the whole message with one `write`: Apache reads the addresses with a single `read`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InitialMessage {
    /// The form.
    pub protocol: ElectionProtocol,
    /// The sender's sid.
    pub sid: i64,
    /// The sender's election addresses (empty for pre-3.5).
    pub addresses: Vec<String>,
}

impl InitialMessage {
    /// The V1 message 3.8 sends by default.
    pub fn v1(sid: i64, address: impl Into<String>) -> InitialMessage {
        InitialMessage {
            protocol: ElectionProtocol::V1,
            sid,
            addresses: vec![address.into()],
        }
    }

    /// Looks for a whole initial message at the start of `buf`, as `handleConnection` reads it:
    /// a first long ≥ 0 is a pre-3.5 sid with nothing after it; otherwise it must be V1 or V2,
    /// with `0 < addrLen <= 2048`, valid UTF-8, and every address `host:port`. The list is split
    /// on `|` as
    /// Java's `String.split` does (trailing empty strings dropped; both versions are split).
    ///
    /// `Ok(Some((consumed, message)))`, `Ok(None)` when more bytes are needed, or an error
    /// (Apache closes the connection).
    pub fn parse(buf: &[u8]) -> Result<Option<(usize, InitialMessage)>, DecodeError> {
        let mut c = Cursor::new(buf, MAX_ADDRESS_LEN);
        let msg = streaming(Self::parse_steps(&mut c))?;
        Ok(msg.map(|m| (c.position(), m)))
    }

    fn parse_steps(c: &mut Cursor<'_>) -> Step<InitialMessage> {
        let first = c.i64()?;
        let protocol = match first {
            v if v >= 0 => {
                return Ok(InitialMessage {
                    protocol: ElectionProtocol::Pre35,
                    sid: v,
                    addresses: Vec::new(),
                })
            }
            PROTOCOL_VERSION_V1 => ElectionProtocol::V1,
            PROTOCOL_VERSION_V2 => ElectionProtocol::V2,
            value => {
                return Err(Stop::Invalid(DecodeError::BadValue {
                    field: "protocolVersion",
                    value,
                }))
            }
        };
        let sid = c.i64()?;
        let offset = c.position();
        // `remaining <= 0 || remaining > maxBuffer`: the cursor refuses < -1 and > 2048.
        let empty = |len| Stop::Invalid(DecodeError::BadLength { offset, len });
        let len = match c.len()? {
            Some(0) => return Err(empty(0)),
            Some(n) => n,
            None => return Err(empty(-1)),
        };
        let raw = c.take(len)?;
        // Java would replace invalid UTF-8 and fail to resolve the host later; no address a peer
        // formats has any, and refusing it keeps every accepted message re-encodable.
        let text = std::str::from_utf8(raw).map_err(|_| {
            Stop::Invalid(DecodeError::BadAddress {
                offset: offset + 4,
                address: String::from_utf8_lossy(raw).into_owned(),
            })
        })?;
        let mut addresses: Vec<String> = text.split('|').map(str::to_owned).collect();
        // Java's String.split drops trailing empty strings.
        while addresses.last().is_some_and(|a| a.is_empty()) {
            addresses.pop();
        }
        // A list that splits into nothing ("|") is refused too: Apache would accept it and dial
        // back the configured address, but no peer sends one, and it could not be re-encoded.
        let bad = match addresses.first() {
            None => Some(String::new()),
            Some(_) => addresses
                .iter()
                .find(|a| split_host_port(a).is_none())
                .cloned(),
        };
        if let Some(address) = bad {
            return Err(Stop::Invalid(DecodeError::BadAddress {
                offset: offset + 4,
                address,
            }));
        }
        Ok(InitialMessage {
            protocol,
            sid,
            addresses,
        })
    }
}

/// The whole message, ready for one `write`.
///
/// # Panics
/// If a 3.5+ message's joined addresses are empty or longer than [`MAX_ADDRESS_LEN`]: no peer
/// would accept it.
impl Encode for InitialMessage {
    fn encode(&self, w: &mut Vec<u8>) {
        let Some(version) = self.protocol.version() else {
            w.put_i64(self.sid);
            return;
        };
        let joined = self.addresses.join("|");
        assert!(
            !joined.is_empty() && joined.len() <= MAX_ADDRESS_LEN,
            "an initial message needs 1..=2048 address bytes, not {}",
            joined.len()
        );
        w.put_i64(version);
        w.put_i64(self.sid);
        w.put_ustring(&joined);
    }
}

/// Splits `host:port` or `[v6]:port` as `ConfigUtils.getHostAndPort` and the port check of
/// `InitialMessage.parse` do; `None` if it is not exactly a host and a port.
pub fn split_host_port(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let close = rest.find(']')?;
        (&rest[..close], rest[close + 1..].strip_prefix(':')?)
    } else {
        let (host, port) = addr.split_once(':')?;
        (host, port)
    };
    if port.is_empty() || port.contains(':') {
        return None;
    }
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn v1_golden() {
        // QUORUM.md §1.1, verified against capture: sid 1.
        let want = hex(concat!(
            "ffffffffffff0000",
            "0000000000000001",
            "0000000f",
            "3132372e302e302e313a3233383831"
        ));
        let msg = InitialMessage::v1(1, "127.0.0.1:23881");
        assert_eq!(msg.to_bytes(), want);
        assert_eq!(want.len(), 35);
        for cut in 0..want.len() {
            assert_eq!(InitialMessage::parse(&want[..cut]).unwrap(), None);
        }
        assert_eq!(InitialMessage::parse(&want).unwrap(), Some((35, msg)));
    }

    #[test]
    fn other_forms() {
        let old = InitialMessage {
            protocol: ElectionProtocol::Pre35,
            sid: 7,
            addresses: Vec::new(),
        };
        assert_eq!(old.to_bytes(), 7i64.to_be_bytes());
        assert_eq!(
            InitialMessage::parse(&old.to_bytes()).unwrap(),
            Some((8, old))
        );
        let v2 = InitialMessage {
            protocol: ElectionProtocol::V2,
            sid: 2,
            addresses: vec!["a:1".into(), "[::1]:2".into()],
        };
        let wire = v2.to_bytes();
        assert_eq!(
            InitialMessage::parse(&wire).unwrap(),
            Some((wire.len(), v2))
        );
    }

    #[test]
    fn refusals() {
        let mut w = Vec::new();
        w.put_i64(-3);
        assert!(matches!(
            InitialMessage::parse(&w),
            Err(DecodeError::BadValue { value: -3, .. })
        ));
        for len in [0, -1, -5, 2049] {
            let mut w = Vec::new();
            w.put_i64(PROTOCOL_VERSION_V1);
            w.put_i64(1);
            w.put_i32(len);
            assert!(InitialMessage::parse(&w).is_err(), "addrLen {len}");
        }
        for bad in [
            "host",
            "host:",
            "host:port",
            "a:1:2",
            "[::1]",
            "[::1]:x",
            "h:99999",
            "|",
            "a:1||b:2",
        ] {
            let msg = InitialMessage::v1(1, bad);
            assert!(
                matches!(
                    InitialMessage::parse(&msg.to_bytes()),
                    Err(DecodeError::BadAddress { .. })
                ),
                "{bad}"
            );
        }
        let mut w = Vec::new();
        w.put_i64(PROTOCOL_VERSION_V1);
        w.put_i64(1);
        w.put_buffer(Some(b"h\xff:1"));
        assert!(matches!(
            InitialMessage::parse(&w),
            Err(DecodeError::BadAddress { .. })
        ));
        let trailing = InitialMessage::v1(1, "a:1||");
        let (_, back) = InitialMessage::parse(&trailing.to_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(
            back.addresses,
            ["a:1"],
            "trailing empty strings are dropped, as Java's"
        );
        assert_eq!(split_host_port("[fe80::1]:2888"), Some(("fe80::1", 2888)));
        assert_eq!(split_host_port("zk1:3888"), Some(("zk1", 3888)));
    }
}
