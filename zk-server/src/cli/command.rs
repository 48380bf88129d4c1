//! zkCli.sh's command language: tokenizing a line, POSIX-style flags, and the commands.
//!
//! [`parse`] is pure: it turns a line into a [`Command`] or a [`ParseError`] whose text is what
//! zkCli.sh prints for the same mistake.

use super::lex::{default_flags, flags, tokenize, Flags};
use super::usage::usage;
pub use super::usage::{usage_text, USAGE};

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
    /// `reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]`
    Reconfig {
        /// `-s`
        stat: bool,
        /// `-v version` (hexadecimal, as the config's `version=`); `-1` when absent.
        version: i64,
        /// `-add`, lower-cased as zkCli.sh does.
        joining: Option<String>,
        /// `-remove`, lower-cased.
        leaving: Option<String>,
        /// `-members`, lower-cased.
        members: Option<String>,
        /// `-file path`: the membership is read from this dynamic config file when run.
        file: Option<String>,
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
    /// A zkCli.sh command zkcli does not implement (quotas).
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
        "reconfig" => reconfig(rest)?,
        "delquota" | "listquota" | "setquota" => Command::Unsupported(name.to_owned()),
        other => return Err(ParseError::NotFound(other.to_owned())),
    };
    Ok(cmd)
}

/// `reconfig`'s flags and their checks, in zkCli.sh's order (`ReconfigCommand.parse`).
fn reconfig(rest: &[String]) -> Result<Command, ParseError> {
    let f = default_flags(rest, &["s"], &["v", "file", "members", "add", "remove"])?;
    let non_incremental = f.has("file") || f.has("members");
    let incremental = f.has("add") || f.has("remove");
    if !non_incremental && !incremental {
        return Err(usage("reconfig"));
    }
    let version = match f.value("v") {
        None => -1,
        Some(v) => i64::from_str_radix(v, 16).map_err(|_| {
            ParseError::Usage("-v must be followed by a long (configuration version)".into())
        })?,
    };
    if non_incremental && incremental {
        return Err(ParseError::Usage(
            "Can't use -file or -members together with -add or -remove (mixing incremental and \
             non-incremental modes is not allowed)"
                .into(),
        ));
    }
    if f.has("file") && f.has("members") {
        return Err(ParseError::Usage(
            "Can't use -file and -members together (conflicting non-incremental modes)".into(),
        ));
    }
    let lower = |name: &str| f.value(name).map(str::to_lowercase);
    Ok(Command::Reconfig {
        stat: f.has("s"),
        version,
        joining: lower("add"),
        leaving: lower("remove"),
        members: lower("members"),
        file: f.value("file").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn parses_reconfig_as_zkcli_sh() {
        assert_eq!(
            parse("reconfig -s -v 1A -add SERVER.4=H:1:2;3 -remove 2,3").unwrap(),
            Command::Reconfig {
                stat: true,
                version: 0x1a,
                joining: Some("server.4=h:1:2;3".into()),
                leaving: Some("2,3".into()),
                members: None,
                file: None,
            }
        );
        assert_eq!(
            parse("reconfig -file /tmp/dyn.cfg").unwrap(),
            Command::Reconfig {
                stat: false,
                version: -1,
                joining: None,
                leaving: None,
                members: None,
                file: Some("/tmp/dyn.cfg".into()),
            }
        );
        let usage = |line: &str| match parse(line) {
            Err(ParseError::Usage(m)) => m,
            other => panic!("{line}: {other:?}"),
        };
        assert!(usage("reconfig").starts_with("reconfig [-s] [-v version] [[-file path]"));
        assert!(usage("reconfig -s -v 1").starts_with("reconfig [-s]"));
        assert_eq!(
            usage("reconfig -remove 3 -v zz"),
            "-v must be followed by a long (configuration version)"
        );
        assert_eq!(
            usage("reconfig -members a -remove 3"),
            "Can't use -file or -members together with -add or -remove (mixing incremental and \
             non-incremental modes is not allowed)"
        );
        assert_eq!(
            usage("reconfig -members a -file b"),
            "Can't use -file and -members together (conflicting non-incremental modes)"
        );
        assert_eq!(
            usage("reconfig -remove"),
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: remove"
        );
    }

    #[test]
    fn usage_lists_every_command() {
        let text = usage_text();
        assert!(text.starts_with("ZooKeeper -server host:port"));
        assert!(text.contains("\tls [-s] [-w] [-R] path\n"));
    }
}
