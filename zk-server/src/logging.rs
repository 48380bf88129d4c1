//! The binaries' log output: `tracing` events on stderr, filtered by `RUST_LOG`, as text or as
//! JSON lines.
//!
//! Text is coloured only when stderr is a terminal (and `NO_COLOR` is not set): written to a
//! file or a pipe (`zk-server > log 2>&1`) it carries no ANSI escape codes. JSON (one object
//! per line, `--log-format json` or `ZK_LOG_FORMAT=json`) is for log shippers.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

/// The environment variable that chooses the log format when no flag does.
pub const LOG_FORMAT_ENV: &str = "ZK_LOG_FORMAT";

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal only.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (text or json)")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        })
    }
}

/// Whether text output is coloured: only on a terminal, and never when `NO_COLOR` is set to
/// something (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// Installs the global subscriber: stderr, `RUST_LOG` as the filter (`default_filter` when it
/// is unset or invalid), in `format`. Does nothing if one is installed already.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => {
            let no_color = std::env::var("NO_COLOR").ok();
            builder
                .with_ansi(use_colour(
                    std::io::stderr().is_terminal(),
                    no_color.as_deref(),
                ))
                .try_init()
        }
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(
            !use_colour(false, None),
            "a file or a pipe gets no ANSI codes"
        );
    }

    #[test]
    fn formats_parse_and_print() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!(" Text ".parse(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::Json.to_string(), "json");
    }
}
