//! Splitting a zkCli line into words, and POSIX-style flags as commons-cli's `PosixParser`
//! reads them.

use super::command::ParseError;

/// Splits a line as zkCli.sh does: on whitespace, with `"..."` and `'...'` kept whole (quotes
/// removed).
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return out;
        };
        let mut token = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == first {
                    closed = true;
                    break;
                }
                token.push(c);
            }
            if !closed {
                // An unclosed quote: keep it, as the regex in zkCli.sh falls back to \S+.
                token.insert(0, first);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                token.push(c);
                chars.next();
            }
        }
        out.push(token);
    }
}

/// Flags and positional arguments after commons-cli's `PosixParser`.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    set: Vec<char>,
    values: Vec<(char, String)>,
    pub(crate) args: Vec<String>,
}

impl Flags {
    pub(crate) fn has(&self, c: char) -> bool {
        self.set.contains(&c)
    }

    pub(crate) fn value(&self, c: char) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.clone())
    }
}

/// Parses `tokens` (the command name excluded) against `switches` (flags without a value) and
/// `valued` (flags that take one).
pub(crate) fn flags(
    cmd: &str,
    tokens: &[String],
    switches: &str,
    valued: &str,
) -> Result<Flags, ParseError> {
    let mut f = Flags::default();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        i += 1;
        if t == "--" {
            f.args.extend(tokens[i..].iter().cloned());
            break;
        }
        if t.len() < 2 || !t.starts_with('-') {
            f.args.push(t.clone());
            continue;
        }
        let body: Vec<char> = t[1..].chars().collect();
        let mut j = 0;
        while j < body.len() {
            let c = body[j];
            if switches.contains(c) {
                f.set.push(c);
                j += 1;
            } else if valued.contains(c) {
                let rest: String = body[j + 1..].iter().collect();
                let value = if !rest.is_empty() {
                    rest
                } else if i < tokens.len() {
                    i += 1;
                    tokens[i - 1].clone()
                } else {
                    return Err(ParseError::Usage(format!(
                        "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {c}"
                    )));
                };
                f.set.push(c);
                f.values.push((c, value));
                break;
            } else if j == 0 {
                let _ = cmd;
                return Err(ParseError::Usage(format!(
                    "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {t}"
                )));
            } else {
                // The rest of a burst that is not a flag: commons-cli keeps it as an argument.
                f.args.push(body[j..].iter().collect());
                break;
            }
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_quotes() {
        assert_eq!(
            tokenize("  set /a \"hello world\" 'x y' z"),
            ["set", "/a", "hello world", "x y", "z"]
        );
        assert!(tokenize("   ").is_empty());
    }
}
