//! `java.util.Properties.load` as Apache ZooKeeper reads a dynamic config file and the config
//! text of a notification (`QuorumPeer.configFromString`).
//!
//! Rules (Java SE `Properties.load(Reader)`): a logical line may continue over natural lines that
//! end in an odd number of backslashes (the next line's leading white space is dropped); blank
//! lines and lines whose first non-blank character is `#` or `!` are skipped; the key ends at the
//! first unescaped `=`, `:` or white space, then white space and one `=` or `:` are skipped; the
//! value is the rest, trailing white space included; `\t`, `\n`, `\r`, `\f`, `\uXXXX` are
//! escapes and any other escaped character stands for itself. A later duplicate key replaces the
//! value of the earlier one.

/// One `key=value` of a properties text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    pub(crate) key: String,
    pub(crate) value: String,
    /// The 1-based natural line the logical line starts on.
    pub(crate) line: usize,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// The natural lines of `text`: they end at `\n`, `\r` or `\r\n`.
fn natural_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                lines.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                lines.push(rest);
                rest = "";
            }
        }
    }
    lines
}

/// Splits `text` into logical lines: (first natural line number, joined text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in natural_lines(text).into_iter().enumerate() {
        let stripped = raw.trim_start_matches(is_blank);
        if current.is_none() && (stripped.is_empty() || stripped.starts_with(['#', '!'])) {
            continue;
        }
        let trailing_backslashes = stripped.chars().rev().take_while(|c| *c == '\\').count();
        let continues = trailing_backslashes % 2 == 1;
        let body = if continues {
            &stripped[..stripped.len() - 1]
        } else {
            stripped
        };
        match current.as_mut() {
            Some((_, acc)) => acc.push_str(body),
            None => current = Some((i + 1, body.to_owned())),
        }
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// Undoes the escapes of a key or value.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| "Malformed \\uxxxx encoding.".to_owned())?;
                // A lone surrogate cannot be a Rust char; Java would keep it. Use U+FFFD.
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Parses a properties text into its entries in text order (duplicates kept; the last one is
/// the value Java's `Properties` holds).
pub(crate) fn parse(text: &str) -> Result<Vec<Property>, String> {
    let mut out = Vec::new();
    for (line, logical) in logical_lines(text) {
        let chars: Vec<(usize, char)> = logical.char_indices().collect();
        let mut key_end = logical.len();
        let mut value_start = logical.len();
        let mut escaped = false;
        for (n, &(i, c)) in chars.iter().enumerate() {
            if escaped {
                escaped = false;
                continue;
            }
            if c == '\\' {
                escaped = true;
                continue;
            }
            if c == '=' || c == ':' || is_blank(c) {
                key_end = i;
                let mut rest = chars[n..].iter().peekable();
                let mut seen_separator = false;
                value_start = logical.len();
                while let Some(&&(j, d)) = rest.peek() {
                    if is_blank(d) {
                        rest.next();
                    } else if !seen_separator && (d == '=' || d == ':') {
                        seen_separator = true;
                        rest.next();
                    } else {
                        value_start = j;
                        break;
                    }
                }
                break;
            }
        }
        out.push(Property {
            key: unescape(&logical[..key_end])?,
            value: unescape(&logical[value_start..])?,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let got = kv("# c\n! c\n\n a=1\nb:2\nc 3\nd = : 4\ne\n");
        let want = [("a", "1"), ("b", "2"), ("c", "3"), ("d", ": 4"), ("e", "")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_captured_qv_text_parses_to_its_five_entries() {
        let text = "server.1=127.0.0.1:22881:23881:participant\nserver.2=127.0.0.1:22882:23882:participant\nserver.3=127.0.0.1:22883:23883:participant\nserver.4=127.0.0.1:22884:23884:observer\nversion=0";
        let got = kv(text);
        assert_eq!(got.len(), 5);
        assert_eq!(got[3].1, "127.0.0.1:22884:23884:observer");
        assert_eq!(got[4], ("version".to_string(), "0".to_string()));
    }

    #[test]
    fn continuation_escapes_and_trailing_space() {
        let got = kv("k\\ ey=v\\\n    alue \\u0041\\t\\:\\\\\nx=1 \r\ny=2\rz=3");
        assert_eq!(got[0], ("k ey".to_string(), "value A\t:\\".to_string()));
        assert_eq!(got[1], ("x".to_string(), "1 ".to_string()));
        assert_eq!(got[2], ("y".to_string(), "2".to_string()));
        assert_eq!(got[3], ("z".to_string(), "3".to_string()));
    }

    #[test]
    fn line_numbers_name_the_first_natural_line() {
        let got = parse("a=1\n\nb=2\\\n3\nc=4\n").unwrap();
        let lines: Vec<usize> = got.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 3, 5]);
        let crlf = parse("a=1\r\n\r\nb=2\r\n").unwrap();
        assert_eq!(crlf[1].line, 3);
    }

    #[test]
    fn malformed_unicode_escape_is_an_error() {
        assert!(parse("a=\\u12").is_err());
    }
}
