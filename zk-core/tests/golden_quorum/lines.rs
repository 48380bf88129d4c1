//! Parsing the golden files' record lines, `KIND SRC>DST NAME key=value... HEX  # comment`
//! (the capture's README explains them; each file's header repeats the essentials).

use std::collections::BTreeMap;

/// One record line.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// `file:line`, for messages.
    pub(crate) at: String,
    /// The `## conn N` it belongs to.
    pub(crate) conn: usize,
    /// `E`, `Q` or `C`.
    pub(crate) kind: char,
    /// Sender and receiver (`1`, `c2`, ...).
    pub(crate) src: String,
    pub(crate) dst: String,
    /// `init`, `notif`, a packet type name, `SNAP.node`, ...
    pub(crate) name: String,
    /// The `key=value` fields between the name and the hex.
    pub(crate) keys: BTreeMap<String, String>,
    /// The record's bytes.
    pub(crate) bytes: Vec<u8>,
    /// The decoded fields after `  # ` (empty when there are none).
    pub(crate) comment: String,
}

impl Record {
    /// The sender's sid (panics for a client).
    pub(crate) fn src_sid(&self) -> i64 {
        self.src
            .parse()
            .unwrap_or_else(|_| panic!("{}: src {}", self.at, self.src))
    }

    /// A `key=value` field before the hex.
    pub(crate) fn key(&self, k: &str) -> &str {
        self.keys
            .get(k)
            .unwrap_or_else(|| panic!("{}: no {k}= field", self.at))
    }

    /// A field of the comment.
    pub(crate) fn field(&self, k: &str) -> Option<String> {
        comment_field(&self.comment, k)
    }

    /// A field of the comment that must be there.
    pub(crate) fn need(&self, k: &str) -> String {
        self.field(k)
            .unwrap_or_else(|| panic!("{}: comment has no {k}=: {}", self.at, self.comment))
    }
}

/// Every record line of one file, with its connection number. Comment and header lines are
/// skipped; any other line that is not a well-formed record fails the test.
pub(crate) fn parse_file(name: &str, text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut conn = 0;
    for (i, line) in text.lines().enumerate() {
        let at = format!("{name}:{}", i + 1);
        if let Some(rest) = line.strip_prefix("## conn ") {
            conn = rest
                .split(':')
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{at}: bad conn header"));
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (fields, comment) = match line.split_once("  # ") {
            Some((f, c)) => (f, c.to_string()),
            None => (line, String::new()),
        };
        let parts: Vec<&str> = fields.split(' ').collect();
        assert!(parts.len() >= 4, "{at}: too few fields");
        let kind = match parts[0] {
            "E" => 'E',
            "Q" => 'Q',
            "C" => 'C',
            other => panic!("{at}: unknown kind {other}"),
        };
        let (src, dst) = parts[1]
            .split_once('>')
            .unwrap_or_else(|| panic!("{at}: bad direction"));
        let hex = parts[parts.len() - 1];
        let bytes = hex::decode(hex).unwrap_or_else(|e| panic!("{at}: bad hex: {e}"));
        let keys = parts[3..parts.len() - 1]
            .iter()
            .map(|kv| {
                let (k, v) = kv
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{at}: not key=value: {kv}"));
                (k.to_string(), v.to_string())
            })
            .collect();
        out.push(Record {
            at,
            conn,
            kind,
            src: src.into(),
            dst: dst.into(),
            name: parts[2].into(),
            keys,
            bytes,
            comment,
        });
    }
    out
}

/// The value of `key=` in a comment: a JSON string when quoted, else up to a space or `}`.
/// The key must start a token (after the start, a space or a `{`).
pub(crate) fn comment_field(comment: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=");
    let mut from = 0;
    while let Some(i) = comment[from..].find(&pat) {
        let at = from + i;
        let boundary = at == 0 || matches!(comment.as_bytes()[at - 1], b' ' | b'{');
        if boundary {
            let rest = &comment[at + pat.len()..];
            return Some(if rest.starts_with('"') {
                json_string(rest)
            } else {
                let end = rest.find([' ', '}']).unwrap_or(rest.len());
                rest[..end].to_string()
            });
        }
        from = at + pat.len();
    }
    None
}

/// Decodes the JSON string at the start of `s` (which starts with `"`).
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let code: String = chars.by_ref().take(4).collect();
                    let v = u32::from_str_radix(&code, 16).expect("\\u escape");
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    panic!("unterminated JSON string: {s}")
}

/// A path as the `path=` key writes it: quoted (`""` for the root) or bare with `\x20` for a
/// space.
pub(crate) fn key_path(v: &str) -> String {
    if v.starts_with('"') {
        json_string(v)
    } else {
        v.replace("\\x20", " ")
    }
}

/// A number written as `0x...` (two's complement for negatives) or in decimal.
pub(crate) fn num(v: &str) -> i64 {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or_else(|_| panic!("hex {v}")) as i64,
        None => v.parse().unwrap_or_else(|_| panic!("number {v}")),
    }
}

/// `name(N)` -> N, as in `type=create(1)`.
pub(crate) fn paren_num(v: &str) -> i64 {
    let open = v.find('(').unwrap_or_else(|| panic!("no ( in {v}"));
    num(v[open + 1..].trim_end_matches(')'))
}

/// `[a, b]` / `[a,b]` -> items.
pub(crate) fn list(v: &str) -> Vec<String> {
    let inner = v.trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split(',').map(|s| s.trim().to_string()).collect()
}

/// A deterministic xorshift generator for chunk sizes.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Feeds `bytes` to `next` in random chunks of 1..=max_chunk bytes, as a socket would, calling
/// it until it has nothing more each time; returns the items in order. Everything must be used.
pub(crate) fn feed<T>(
    bytes: &[u8],
    rng: &mut Rng,
    max_chunk: usize,
    mut next: impl FnMut(&[u8]) -> Option<(usize, T)>,
) -> Vec<T> {
    let mut buf = Vec::new();
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let n = (1 + rng.below(max_chunk)).min(bytes.len() - at);
        buf.extend_from_slice(&bytes[at..at + n]);
        at += n;
        while let Some((used, item)) = next(&buf) {
            assert!(used > 0 && used <= buf.len());
            buf.drain(..used);
            out.push(item);
        }
    }
    assert!(buf.is_empty(), "{} bytes left unparsed", buf.len());
    out
}
