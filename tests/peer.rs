//! The one policy for tests that need an external peer (Apache ZooKeeper, a JDK, kazoo, the C
//! client, Curator): [`require_peer`], and the checks that tell whether a peer is installed.
//!
//! Under CI ([`under_ci`]) a missing peer, or one that fails to start, fails the test with the
//! reason: a green run must mean every comparison ran. Outside CI the test is skipped, with a
//! banner on stderr that names the test, the peer and the reason, so a skip is never silent.

use std::fmt::Display;
use std::path::Path;
use std::process::{Command, Stdio};

/// The environment variable that says the tests run under CI.
pub const CI_VAR: &str = "CI";

/// True when the tests run under CI: `CI` is set to anything but empty, `0` or `false`
/// (CI systems set `CI=true`; `scripts/test` sets `CI=1` when it is unset).
pub fn under_ci() -> bool {
    ci_value_means_ci(std::env::var(CI_VAR).ok().as_deref())
}

fn ci_value_means_ci(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

/// The peer a test needs, or `None` when the test is to be skipped.
///
/// `peer` is the outcome of finding or starting the peer; `what` names it for the message
/// ("Apache ZooKeeper 3.8", "kazoo"). Under CI an error panics with the reason; outside CI it
/// prints a loud banner and returns `None`, and the test returns at once:
///
/// ```no_run
/// let Some(zk) = tests::require_peer(tests::ApacheZk::start(&[]), "Apache ZooKeeper 3.8")
/// else {
///     return;
/// };
/// ```
pub fn require_peer<T, E: Display>(peer: Result<T, E>, what: &str) -> Option<T> {
    require_peer_in(under_ci(), peer, what)
}

/// [`require_peer`] with the CI decision given (for tests of the policy itself).
pub fn require_peer_in<T, E: Display>(ci: bool, peer: Result<T, E>, what: &str) -> Option<T> {
    let reason = match peer {
        Ok(p) => return Some(p),
        Err(e) => e.to_string(),
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if ci {
        panic!(
            "{test} needs {what}, which is missing or did not start: {reason}\n\
             (under CI, {CI_VAR} set, a missing peer fails the test; scripts/deps installs \
             the peers)"
        );
    }
    let rule = "=".repeat(78);
    eprintln!(
        "{rule}\nSKIPPED {test}: it needs {what}, which is missing or did not start:\n  \
         {reason}\nOutside CI this skips the test; under CI ({CI_VAR}=1) it fails. \
         scripts/deps installs the peers.\n{rule}"
    );
    None
}

/// Ok when `program` runs and exits successfully with `args` (output discarded).
pub fn command_runs(program: &str, args: &[&str]) -> Result<(), String> {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{program} {}` exited with {s}", args.join(" "))),
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

/// Ok when every file of `paths` exists.
pub fn files_exist(paths: &[&str]) -> Result<(), String> {
    match paths.iter().find(|p| !Path::new(p).exists()) {
        None => Ok(()),
        Some(p) => Err(format!("{p} does not exist")),
    }
}

/// A JDK (`javac`) and Debian's zookeeper package (the Java client's jar).
pub fn java_client() -> Result<(), String> {
    files_exist(&["/usr/share/java/zookeeper.jar"])?;
    command_runs("javac", &["-version"])
}

/// python3 with kazoo (Debian's python3-kazoo).
pub fn kazoo() -> Result<(), String> {
    command_runs("/usr/bin/python3", &["-c", "import kazoo"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        assert!(!ci_value_means_ci(None));
        assert!(!ci_value_means_ci(Some("")));
        assert!(!ci_value_means_ci(Some("0")));
        assert!(!ci_value_means_ci(Some("false")));
        assert!(!ci_value_means_ci(Some("FALSE")));
        assert!(ci_value_means_ci(Some("1")));
        assert!(ci_value_means_ci(Some("true")));
    }

    #[test]
    fn a_present_peer_is_handed_over_in_and_outside_ci() {
        assert_eq!(require_peer_in(true, Ok::<_, String>(7), "seven"), Some(7));
        assert_eq!(require_peer_in(false, Ok::<_, String>(7), "seven"), Some(7));
    }

    #[test]
    fn a_missing_peer_skips_outside_ci() {
        let r = require_peer_in(false, command_runs("/nonexistent/zk-peer", &[]), "a peer");
        assert_eq!(r, None);
    }

    #[test]
    #[should_panic(expected = "needs a peer that does not exist")]
    fn a_missing_peer_fails_under_ci() {
        let _ = require_peer_in(
            true,
            command_runs("/nonexistent/zk-peer", &["--version"]),
            "a peer that does not exist",
        );
    }
}
