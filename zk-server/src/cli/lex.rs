//! Splitting a zkCli line into words, and flags as commons-cli reads them: POSIX-style
//! (`PosixParser`, `flags`) for most commands, and `DefaultParser` (`default_flags`) for
//! the commands with multi-letter options (`reconfig -members ...`).

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

/// Options after commons-cli's `DefaultParser`, the parser of the commands whose options
/// have names longer than a letter (`-file`, `-members`): each occurrence in order, with its
/// value for options that take one.
#[derive(Debug, Default)]
pub(crate) struct DefaultFlags {
    seen: Vec<(String, Option<String>)>,
    /// Words that are not options (zkCli's command ignores them).
    pub(crate) args: Vec<String>,
}

impl DefaultFlags {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.seen.iter().any(|(n, _)| n == name)
    }

    /// The value of the first occurrence (`CommandLine.getOptionValue`).
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.seen
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

fn unrecognized(token: &str) -> ParseError {
    ParseError::Usage(format!(
        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {token}"
    ))
}

fn missing(name: &str) -> ParseError {
    ParseError::Usage(format!(
        "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {name}"
    ))
}

/// Parses `tokens` (the command name excluded) as commons-cli's `DefaultParser` does with
/// single-dash options: `switches` take no value, `valued` take one (`-v 5`, `-v5`, `-v=5`,
/// `-members x`; the value may not look like an option). Bursts of one-letter options
/// (`-sv 5`) work as there.
pub(crate) fn default_flags(
    tokens: &[String],
    switches: &[&str],
    valued: &[&str],
) -> Result<DefaultFlags, ParseError> {
    let known = |name: &str| switches.contains(&name) || valued.contains(&name);
    let is_option = |t: &str| {
        if !t.starts_with('-') || t.len() < 2 {
            return false;
        }
        let name = t[1..].split('=').next().unwrap_or("");
        known(name) || name.get(..1).is_some_and(known)
    };
    let mut f = DefaultFlags::default();
    // The option waiting for its value.
    let mut waiting: Option<String> = None;
    let mut skip = false;
    for t in tokens {
        if skip {
            f.args.push(t.clone());
            continue;
        }
        if t == "--" {
            skip = true;
            continue;
        }
        if let Some(name) = &waiting {
            let negative = t.len() > 1 && t.starts_with('-') && t[1..].parse::<f64>().is_ok();
            if !is_option(t) || negative {
                if let Some(last) = f.seen.iter_mut().rev().find(|(n, _)| n == name) {
                    last.1 = Some(t.clone());
                }
                waiting = None;
                continue;
            }
            return Err(missing(name));
        }
        if t.starts_with("--") {
            // No option has a long name.
            return Err(unrecognized(t));
        }
        if !t.starts_with('-') || t == "-" {
            f.args.push(t.clone());
            continue;
        }
        let body = &t[1..];
        let mut take = |name: &str, value: Option<String>| {
            let waits = valued.contains(&name) && value.is_none();
            f.seen.push((name.to_owned(), value));
            waits.then(|| name.to_owned())
        };
        match body.split_once('=') {
            _ if known(body) => waiting = take(body, None),
            Some((name, value)) if name.len() == 1 => {
                if !valued.contains(&name) {
                    return Err(unrecognized(t));
                }
                take(name, Some(value.to_owned()));
            }
            Some(_) => return Err(unrecognized(t)),
            None => {
                // A burst of one-letter options; a valued one takes the rest as its value.
                for (i, c) in body.char_indices() {
                    let name = c.to_string();
                    if !known(&name) {
                        return Err(unrecognized(t));
                    }
                    let rest = &body[i + c.len_utf8()..];
                    if valued.contains(&name.as_str()) && !rest.is_empty() {
                        take(&name, Some(rest.to_owned()));
                        break;
                    }
                    waiting = take(&name, None);
                    if waiting.is_some() {
                        break;
                    }
                }
            }
        }
    }
    if let Some(name) = waiting {
        return Err(missing(&name));
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

    fn words(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn default_parser_options() {
        let sw = ["s"];
        let va = ["v", "file", "members", "add", "remove"];
        let f = default_flags(&words("-s -v 1f -add a -add b -remove 3 x"), &sw, &va).unwrap();
        assert!(f.has("s") && f.has("add") && f.has("remove") && !f.has("file"));
        assert_eq!(f.value("v"), Some("1f"));
        assert_eq!(f.value("add"), Some("a"), "the first occurrence");
        assert_eq!(f.args, ["x"]);
        let f = default_flags(&words("-sv5 -v=6 -members -x"), &sw, &va).unwrap();
        assert_eq!(f.value("v"), Some("5"));
        assert_eq!(f.value("members"), Some("-x"), "not an option: a value");
        let err = |line: &str| match default_flags(&words(line), &sw, &va) {
            Err(ParseError::Usage(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err("-members -s"),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: members"
        );
        assert_eq!(
            err("-add"),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: add"
        );
        assert_eq!(
            err("-x"),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            err("--members a"),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --members"
        );
        assert_eq!(
            err("-s5"),
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -s5"
        );
    }
}
