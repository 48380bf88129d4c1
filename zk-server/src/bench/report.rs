//! What a run measured, as text or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::config::OpKind;

/// Per-operation counts and latencies.
#[derive(Debug, Clone, PartialEq)]
pub struct OpStats {
    /// The operation.
    pub kind: OpKind,
    /// Successful requests in the window.
    pub ops: u64,
    /// Failed requests in the window.
    pub errors: u64,
    /// Median latency (µs).
    pub p50_us: f64,
    /// 99th percentile latency (µs).
    pub p99_us: f64,
}

/// The result of one run. Latencies are of successful requests in the measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The operation mix.
    pub mix: String,
    /// Sessions.
    pub sessions: usize,
    /// Requests in flight per session.
    pub inflight: usize,
    /// Data size (bytes).
    pub data_size: usize,
    /// Key space size.
    pub keys: usize,
    /// Length of the measured window (s).
    pub duration_s: f64,
    /// Time the key space setup took (s).
    pub setup_s: f64,
    /// Successful requests in the window.
    pub ops: u64,
    /// Successful requests per second.
    pub ops_per_sec: f64,
    /// Failed requests in the window.
    pub errors: u64,
    /// Failures by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Mean latency (µs).
    pub mean_us: f64,
    /// Median latency (µs).
    pub p50_us: f64,
    /// 99th percentile latency (µs).
    pub p99_us: f64,
    /// 99.9th percentile latency (µs).
    pub p999_us: f64,
    /// Largest latency (µs).
    pub max_us: f64,
    /// CPU seconds (user + system) the generator itself used during the window.
    pub client_cpu_s: f64,
    /// Requests completed while `client_cpu_s` was measured (warm-up and drain included).
    pub completed_all: u64,
    /// Per operation kind.
    pub per_op: Vec<OpStats>,
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Report {
    /// Operations per client CPU second (how cheap the generator is per request).
    pub fn ops_per_client_cpu_s(&self) -> f64 {
        if self.client_cpu_s > 0.0 {
            self.completed_all as f64 / self.client_cpu_s
        } else {
            0.0
        }
    }

    /// A human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "mix {}  sessions {} x inflight {}  data {} B  keys {}",
            self.mix, self.sessions, self.inflight, self.data_size, self.keys
        );
        let _ = writeln!(
            s,
            "ops {}  in {:.2} s  = {:.0} ops/s  errors {}",
            self.ops, self.duration_s, self.ops_per_sec, self.errors
        );
        let _ = writeln!(
            s,
            "latency us: mean {:.0}  p50 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}",
            self.mean_us, self.p50_us, self.p99_us, self.p999_us, self.max_us
        );
        let _ = writeln!(
            s,
            "client cpu {:.2} s  ({:.0} ops per client cpu-second)",
            self.client_cpu_s,
            self.ops_per_client_cpu_s()
        );
        for o in &self.per_op {
            let _ = writeln!(
                s,
                "  {:<7} ops {:>9}  errors {:>6}  p50 {:>8.0} us  p99 {:>8.0} us",
                o.kind.name(),
                o.ops,
                o.errors,
                o.p50_us,
                o.p99_us
            );
        }
        for (k, v) in &self.error_kinds {
            let _ = writeln!(s, "  error {k}: {v}");
        }
        s
    }

    /// The report as one JSON object (latencies in µs).
    pub fn to_json(&self) -> String {
        let kinds: Vec<String> = self
            .error_kinds
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_str(k)))
            .collect();
        let per_op: Vec<String> = self
            .per_op
            .iter()
            .map(|o| {
                format!(
                    "{}:{{\"ops\":{},\"errors\":{},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
                    json_str(o.kind.name()),
                    o.ops,
                    o.errors,
                    o.p50_us,
                    o.p99_us
                )
            })
            .collect();
        format!(
            "{{\"mix\":{},\"sessions\":{},\"inflight\":{},\"data_size\":{},\"keys\":{},\
             \"duration_s\":{:.3},\"setup_s\":{:.3},\"ops\":{},\"ops_per_sec\":{:.1},\
             \"errors\":{},\"error_kinds\":{{{}}},\"mean_us\":{:.1},\"p50_us\":{:.1},\
             \"p99_us\":{:.1},\"p999_us\":{:.1},\"max_us\":{:.1},\"client_cpu_s\":{:.3},\
             \"completed_all\":{},\"ops_per_client_cpu_s\":{:.0},\"per_op\":{{{}}}}}",
            json_str(&self.mix),
            self.sessions,
            self.inflight,
            self.data_size,
            self.keys,
            self.duration_s,
            self.setup_s,
            self.ops,
            self.ops_per_sec,
            self.errors,
            kinds.join(","),
            self.mean_us,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.client_cpu_s,
            self.completed_all,
            self.ops_per_client_cpu_s(),
            per_op.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nests() {
        assert_eq!(json_str("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
        let r = Report {
            mix: "get=1".into(),
            sessions: 1,
            inflight: 1,
            data_size: 0,
            keys: 1,
            duration_s: 1.0,
            setup_s: 0.0,
            ops: 10,
            ops_per_sec: 10.0,
            errors: 1,
            error_kinds: [("Timeout".to_string(), 1)].into(),
            mean_us: 1.0,
            p50_us: 1.0,
            p99_us: 2.0,
            p999_us: 3.0,
            max_us: 4.0,
            client_cpu_s: 0.5,
            completed_all: 10,
            per_op: vec![],
        };
        let j = r.to_json();
        assert!(j.contains("\"error_kinds\":{\"Timeout\":1}"), "{j}");
        assert!(j.starts_with('{') && j.ends_with('}'));
        assert_eq!(r.ops_per_client_cpu_s(), 20.0);
    }
}
