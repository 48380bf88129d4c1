//! Tab completion, as zkCli.sh's JLine completer does it: command names for the first word,
//! znode paths for a word that starts with `/`.
//!
//! The functions here are pure: the interactive binary fetches the children of
//! [`PathWord::parent`] from the server and hands them to [`PathWord::candidates`].

use super::usage::USAGE;

/// What the word under the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// The first word: a command name. `start` is where it begins.
    Command {
        /// Where the word begins in the line.
        start: usize,
        /// The command names it may complete to, each followed by a space.
        candidates: Vec<String>,
    },
    /// A path: the children of its parent complete it.
    Path(PathWord),
    /// Nothing to complete.
    None,
}

/// A partial znode path under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathWord {
    /// Where the word begins in the line.
    pub start: usize,
    /// The node whose children complete the word.
    pub parent: String,
    /// What the last component starts with.
    pub prefix: String,
}

impl PathWord {
    /// The completions of the word among `children` (names, not paths), in name order.
    pub fn candidates(&self, children: &[String]) -> Vec<String> {
        let mut out: Vec<String> = children
            .iter()
            .filter(|c| c.starts_with(&self.prefix))
            .map(|c| zk_core::path::join(&self.parent, c))
            .collect();
        out.sort();
        out
    }
}

/// Classifies the word that ends at `pos` in `line`.
pub fn word_at(line: &str, pos: usize) -> Word {
    let before = &line[..pos.min(line.len())];
    let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let word = &before[start..];
    if before[..start].trim().is_empty() {
        let mut candidates: Vec<String> = USAGE
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| name.starts_with(word))
            .map(|name| format!("{name} "))
            .collect();
        candidates.sort();
        return Word::Command { start, candidates };
    }
    if !word.starts_with('/') {
        return Word::None;
    }
    let slash = word.rfind('/').unwrap_or(0);
    let parent = if slash == 0 { "/" } else { &word[..slash] };
    Word::Path(PathWord {
        start,
        parent: parent.to_owned(),
        prefix: word[slash + 1..].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_command_names() {
        match word_at("ge", 2) {
            Word::Command { start, candidates } => {
                assert_eq!(start, 0);
                assert_eq!(
                    candidates,
                    ["get ", "getAcl ", "getAllChildrenNumber ", "getEphemerals "]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn completes_paths_from_their_parent() {
        let Word::Path(w) = word_at("get -s /app/wo", 14) else {
            panic!("a path");
        };
        assert_eq!(
            (w.start, w.parent.as_str(), w.prefix.as_str()),
            (7, "/app", "wo")
        );
        let children = ["workers".to_owned(), "tasks".to_owned(), "work".to_owned()];
        assert_eq!(w.candidates(&children), ["/app/work", "/app/workers"]);
        let Word::Path(root) = word_at("ls /", 4) else {
            panic!("a path");
        };
        assert_eq!((root.parent.as_str(), root.prefix.as_str()), ("/", ""));
        assert_eq!(root.candidates(&["zookeeper".to_owned()]), ["/zookeeper"]);
        assert_eq!(word_at("set /a da", 9), Word::None);
    }
}
