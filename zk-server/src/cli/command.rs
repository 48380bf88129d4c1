//! zkCli.sh's command language: tokenizing a line, POSIX-style flags, and the commands.
//!
//! [`parse`] is pure: it turns a line into a [`Command`] or a [`ParseError`] whose text is what
//! zkCli.sh prints for the same mistake.

use zk_core::{Acl, Id, Perms};

/// One parsed zkCli command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `create [-s] [-e] [-c] [-t ttl] path [data] [acl]`
    Create {
        /// `-s`
        sequential: bool,
        /// `-e`
        ephemeral: bool,
        /// `-c`
        container: bool,
        /// `-t ttl`, as written.
        ttl: Option<String>,
        /// The node's path.
        path: String,
        /// The data, absent when not given.
        data: Option<String>,
        /// The ACL text, absent when not given.
        acl: Option<String>,
    },
    /// `ls [-s] [-w] [-R] path`
    Ls {
        /// `-s`
        stat: bool,
        /// `-w`
        watch: bool,
        /// `-R`
        recursive: bool,
        /// The node's path.
        path: String,
    },
    /// `get [-s] [-w] path`
    Get {
        /// `-s`
        stat: bool,
        /// `-w`
        watch: bool,
        /// The node's path.
        path: String,
    },
    /// `set [-s] [-v version] path data`
    Set {
        /// `-s`
        stat: bool,
        /// `-v version`, as written.
        version: Option<String>,
        /// The node's path.
        path: String,
        /// The new data.
        data: String,
    },
    /// `stat [-w] path`
    Stat {
        /// `-w`
        watch: bool,
        /// The node's path.
        path: String,
    },
    /// `delete [-v version] path`
    Delete {
        /// `-v version`, as written.
        version: Option<String>,
        /// The node's path.
        path: String,
    },
    /// `deleteall path [-b batch size]`
    DeleteAll {
        /// The subtree's root.
        path: String,
    },
    /// `addWatch [-m mode] path`
    AddWatch {
        /// True for `PERSISTENT_RECURSIVE` (the default), false for `PERSISTENT`.
        recursive: bool,
        /// The watched path.
        path: String,
    },
    /// `removewatches path [-c|-d|-a] [-l]`
    RemoveWatches {
        /// The watched path.
        path: String,
        /// `-c` child, `-d` data, otherwise any.
        kind: WatchKindArg,
        /// `-l`: remove locally even when the server is unreachable.
        local: bool,
    },
    /// `getAcl [-s] path`
    GetAcl {
        /// `-s`
        stat: bool,
        /// The node's path.
        path: String,
    },
    /// `setAcl [-s] [-v version] [-R] path acl`
    SetAcl {
        /// `-s`
        stat: bool,
        /// `-v version`, as written.
        version: Option<String>,
        /// `-R`
        recursive: bool,
        /// The node's path.
        path: String,
        /// The ACL text.
        acl: String,
    },
    /// `addauth scheme auth`
    AddAuth {
        /// The auth scheme, e.g. `digest`.
        scheme: String,
        /// The credential, e.g. `user:password` (empty when omitted).
        auth: String,
    },
    /// `sync path`
    Sync {
        /// The path.
        path: String,
    },
    /// `whoami`
    WhoAmI,
    /// `getEphemerals path`
    GetEphemerals {
        /// The prefix, `/` when omitted.
        path: String,
    },
    /// `getAllChildrenNumber path`
    GetAllChildrenNumber {
        /// The subtree's root.
        path: String,
    },
    /// `config [-c] [-w] [-s]`
    Config {
        /// `-c`: only the client connect string.
        client: bool,
        /// `-w`
        watch: bool,
        /// `-s`
        stat: bool,
    },
    /// `connect host:port`
    Connect {
        /// The connect string; the current one when omitted.
        hosts: Option<String>,
    },
    /// `close`
    Close,
    /// `history`
    History,
    /// `redo cmdno`
    Redo {
        /// The history number to run again.
        number: String,
    },
    /// `printwatches on|off`
    PrintWatches {
        /// `on` or `off`; absent prints the current setting.
        on: Option<String>,
    },
    /// `quit`
    Quit,
    /// `version`
    Version,
    /// A zkCli.sh command zkcli does not implement (quotas, reconfig).
    Unsupported(String),
}

/// Which watches `removewatches` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKindArg {
    /// `-c`
    Children,
    /// `-d`
    Data,
    /// `-a` or nothing.
    Any,
}

/// Why a line is not a command, with zkCli.sh's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// An empty line: nothing to do.
    Empty,
    /// Not a command: zkCli.sh prints the whole usage, then this.
    NotFound(String),
    /// Wrong arguments: the message (usually the command's usage line).
    Usage(String),
}

/// The usage lines, as zkCli.sh lists them. zkcli does not implement the quota commands and
/// `reconfig`; they are listed so the usage text is zkCli.sh's, and say so when run.
pub const USAGE: &[(&str, &str)] = &[
    ("addWatch", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "addauth scheme auth"),
    ("close", "close "),
    ("config", "config [-c] [-w] [-s]"),
    ("connect", "connect host:port"),
    ("create", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "delete [-v version] path"),
    ("deleteall", "deleteall path [-b batch size]"),
    ("delquota", "delquota [-n|-b|-N|-B] path"),
    ("get", "get [-s] [-w] path"),
    ("getAcl", "getAcl [-s] path"),
    ("getAllChildrenNumber", "getAllChildrenNumber path"),
    ("getEphemerals", "getEphemerals path"),
    ("history", "history "),
    ("listquota", "listquota path"),
    ("ls", "ls [-s] [-w] [-R] path"),
    ("printwatches", "printwatches on|off"),
    ("quit", "quit "),
    ("reconfig", "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"),
    ("redo", "redo cmdno"),
    ("removewatches", "removewatches path [-c|-d|-a] [-l]"),
    ("set", "set [-s] [-v version] path data"),
    ("setAcl", "setAcl [-s] [-v version] [-R] path acl"),
    ("setquota", "setquota -n|-b|-N|-B val path"),
    ("stat", "stat [-w] path"),
    ("sync", "sync path"),
    ("version", "version "),
    ("whoami", "whoami "),
];

/// The whole usage text zkCli.sh prints for an unknown command.
pub fn usage_text() -> String {
    let mut out = String::from(
        "ZooKeeper -server host:port -client-configuration properties-file cmd args\n",
    );
    for (_, line) in USAGE {
        out.push('\t');
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn usage(cmd: &str) -> ParseError {
    let line = USAGE
        .iter()
        .find(|(name, _)| *name == cmd)
        .map(|(_, line)| *line)
        .unwrap_or(cmd);
    ParseError::Usage(line.to_owned())
}

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
struct Flags {
    set: Vec<char>,
    values: Vec<(char, String)>,
    args: Vec<String>,
}

impl Flags {
    fn has(&self, c: char) -> bool {
        self.set.contains(&c)
    }

    fn value(&self, c: char) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.clone())
    }
}

/// Parses `tokens` (the command name excluded) against `switches` (flags without a value) and
/// `valued` (flags that take one).
fn flags(cmd: &str, tokens: &[String], switches: &str, valued: &str) -> Result<Flags, ParseError> {
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

/// Parses one line.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens = tokenize(line);
    let Some((name, rest)) = tokens.split_first() else {
        return Err(ParseError::Empty);
    };
    let name = name.as_str();
    let need = |f: &Flags, n: usize| -> Result<(), ParseError> {
        if f.args.len() < n {
            Err(usage(name))
        } else {
            Ok(())
        }
    };
    let arg = |f: &Flags, i: usize| f.args[i].clone();
    let cmd = match name {
        "create" => {
            let f = flags(name, rest, "esc", "t")?;
            need(&f, 1)?;
            Command::Create {
                sequential: f.has('s'),
                ephemeral: f.has('e'),
                container: f.has('c'),
                ttl: f.value('t'),
                path: arg(&f, 0),
                data: f.args.get(1).cloned(),
                acl: f.args.get(2).cloned(),
            }
        }
        "ls" => {
            let f = flags(name, rest, "swR", "")?;
            need(&f, 1)?;
            Command::Ls {
                stat: f.has('s'),
                watch: f.has('w'),
                recursive: f.has('R'),
                path: arg(&f, 0),
            }
        }
        "get" => {
            let f = flags(name, rest, "sw", "")?;
            need(&f, 1)?;
            Command::Get {
                stat: f.has('s'),
                watch: f.has('w'),
                path: arg(&f, 0),
            }
        }
        "set" => {
            let f = flags(name, rest, "s", "v")?;
            need(&f, 2)?;
            Command::Set {
                stat: f.has('s'),
                version: f.value('v'),
                path: arg(&f, 0),
                data: arg(&f, 1),
            }
        }
        "stat" => {
            let f = flags(name, rest, "w", "")?;
            need(&f, 1)?;
            Command::Stat {
                watch: f.has('w'),
                path: arg(&f, 0),
            }
        }
        "delete" => {
            let f = flags(name, rest, "", "v")?;
            need(&f, 1)?;
            Command::Delete {
                version: f.value('v'),
                path: arg(&f, 0),
            }
        }
        "deleteall" | "rmr" => {
            let f = flags("deleteall", rest, "", "b")?;
            need(&f, 1)?;
            Command::DeleteAll { path: arg(&f, 0) }
        }
        "addWatch" => {
            let f = flags(name, rest, "", "m")?;
            need(&f, 1)?;
            let recursive = match f.value('m').as_deref() {
                None | Some("PERSISTENT_RECURSIVE") => true,
                Some("PERSISTENT") => false,
                Some(_) => return Err(usage(name)),
            };
            Command::AddWatch {
                recursive,
                path: arg(&f, 0),
            }
        }
        "removewatches" => {
            let f = flags(name, rest, "cdal", "")?;
            need(&f, 1)?;
            let kind = if f.has('c') {
                WatchKindArg::Children
            } else if f.has('d') {
                WatchKindArg::Data
            } else {
                WatchKindArg::Any
            };
            Command::RemoveWatches {
                path: arg(&f, 0),
                kind,
                local: f.has('l'),
            }
        }
        "getAcl" => {
            let f = flags(name, rest, "s", "")?;
            need(&f, 1)?;
            Command::GetAcl {
                stat: f.has('s'),
                path: arg(&f, 0),
            }
        }
        "setAcl" => {
            let f = flags(name, rest, "sR", "v")?;
            need(&f, 2)?;
            Command::SetAcl {
                stat: f.has('s'),
                version: f.value('v'),
                recursive: f.has('R'),
                path: arg(&f, 0),
                acl: arg(&f, 1),
            }
        }
        "addauth" => {
            let f = flags(name, rest, "", "")?;
            need(&f, 1)?;
            Command::AddAuth {
                scheme: arg(&f, 0),
                auth: f.args.get(1).cloned().unwrap_or_default(),
            }
        }
        "sync" => {
            let f = flags(name, rest, "", "")?;
            need(&f, 1)?;
            Command::Sync { path: arg(&f, 0) }
        }
        "whoami" => Command::WhoAmI,
        "getEphemerals" => {
            let f = flags(name, rest, "", "")?;
            Command::GetEphemerals {
                path: f.args.first().cloned().unwrap_or_else(|| "/".to_owned()),
            }
        }
        "getAllChildrenNumber" => {
            let f = flags(name, rest, "", "")?;
            need(&f, 1)?;
            Command::GetAllChildrenNumber { path: arg(&f, 0) }
        }
        "config" => {
            let f = flags(name, rest, "cws", "")?;
            Command::Config {
                client: f.has('c'),
                watch: f.has('w'),
                stat: f.has('s'),
            }
        }
        "connect" => Command::Connect {
            hosts: rest.first().cloned(),
        },
        "close" => Command::Close,
        "history" => Command::History,
        "redo" => match rest.first() {
            Some(n) => Command::Redo { number: n.clone() },
            None => return Err(usage(name)),
        },
        "printwatches" => Command::PrintWatches {
            on: rest.first().cloned(),
        },
        "quit" => Command::Quit,
        "version" => Command::Version,
        "delquota" | "listquota" | "setquota" | "reconfig" => Command::Unsupported(name.to_owned()),
        other => return Err(ParseError::NotFound(other.to_owned())),
    };
    Ok(cmd)
}

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
    fn tokenizes_quotes() {
        assert_eq!(
            tokenize("  set /a \"hello world\" 'x y' z"),
            ["set", "/a", "hello world", "x y", "z"]
        );
        assert!(tokenize("   ").is_empty());
    }

    #[test]
    fn parses_create_flags() {
        assert_eq!(
            parse("create -s -e /a d world:anyone:r").unwrap(),
            Command::Create {
                sequential: true,
                ephemeral: true,
                container: false,
                ttl: None,
                path: "/a".into(),
                data: Some("d".into()),
                acl: Some("world:anyone:r".into()),
            }
        );
        assert_eq!(
            parse("create -se -t 500 /a").unwrap(),
            Command::Create {
                sequential: true,
                ephemeral: true,
                container: false,
                ttl: Some("500".into()),
                path: "/a".into(),
                data: None,
                acl: None,
            }
        );
        assert_eq!(
            parse("create").unwrap_err(),
            ParseError::Usage("create [-s] [-e] [-c] [-t ttl] path [data] [acl]".into())
        );
    }

    #[test]
    fn parses_the_rest() {
        assert_eq!(
            parse("set -v 3 /a b").unwrap(),
            Command::Set {
                stat: false,
                version: Some("3".into()),
                path: "/a".into(),
                data: "b".into()
            }
        );
        assert_eq!(
            parse("ls -R -s /").unwrap(),
            Command::Ls {
                stat: true,
                watch: false,
                recursive: true,
                path: "/".into()
            }
        );
        assert_eq!(
            parse("addWatch -m PERSISTENT /a").unwrap(),
            Command::AddWatch {
                recursive: false,
                path: "/a".into()
            }
        );
        assert!(matches!(
            parse("addWatch -m BOGUS /a"),
            Err(ParseError::Usage(_))
        ));
        assert_eq!(
            parse("removewatches /a -x").unwrap_err(),
            ParseError::Usage(
                "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
                    .into()
            )
        );
        assert_eq!(
            parse("bogus 1").unwrap_err(),
            ParseError::NotFound("bogus".into())
        );
        assert_eq!(parse("").unwrap_err(), ParseError::Empty);
        assert_eq!(parse("quit").unwrap(), Command::Quit);
    }

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

    #[test]
    fn usage_lists_every_command() {
        let text = usage_text();
        assert!(text.starts_with("ZooKeeper -server host:port"));
        assert!(text.contains("\tls [-s] [-w] [-R] path\n"));
    }
}
