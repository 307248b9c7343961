//! The group server's Prometheus metrics (issue 16): what it counts, and
//! the text exposition format 0.0.4 it is scraped in. Counted by
//! [`super::server`] as each answer is sent; served on a listen
//! address of its own (`group serve --metrics ADDR`), plain HTTP, so that
//! it can stay on loopback or a management network while releases face
//! members.
//!
//! NOTE: written by hand rather than with the `prometheus` crate: four
//! counters, one gauge and one histogram are a few lines of text, and the
//! crate would bring protobuf and a registry we do not need.
//!
//! Nothing here names a group or a member: refusals are counted by code
//! only, so the metrics reveal no more than the refusal log's codes.
//!
//! May use: the release protocol's refusal codes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::group::release::protocol::RefusalCode;

/// Upper bounds of the latency histogram's buckets, in seconds: one RSA
/// private operation is a few milliseconds, a slow store hundreds.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// What one answered request is, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A release granted.
    Released,
    /// Refused with this code.
    Refused(RefusalCode),
    /// Anything else answered (a signed call's success, `GET /health`).
    Other,
}

/// The counters, shared by every connection thread.
pub struct Metrics {
    released: AtomicU64,
    /// Indexed as [`RefusalCode::ALL`].
    refused: Vec<AtomicU64>,
    /// Indexed as [`LATENCY_BUCKETS`]; not cumulative (summed when rendered).
    buckets: Vec<AtomicU64>,
    /// Requests above the last bucket.
    slower: AtomicU64,
    latency_micros: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let zeros = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        Metrics {
            released: AtomicU64::new(0),
            refused: zeros(RefusalCode::ALL.len()),
            buckets: zeros(LATENCY_BUCKETS.len()),
            slower: AtomicU64::new(0),
            latency_micros: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts one answered request that took `took` from its last byte read
    /// to its answer ready to send (counted before it is sent).
    pub fn observe(&self, outcome: Outcome, took: Duration) {
        match outcome {
            Outcome::Released => {
                self.released.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Refused(code) => {
                if let Some(i) = RefusalCode::ALL.iter().position(|&c| c == code) {
                    self.refused[i].fetch_add(1, Ordering::Relaxed);
                }
            }
            Outcome::Other => {}
        }
        let secs = took.as_secs_f64();
        match LATENCY_BUCKETS.iter().position(|&le| secs <= le) {
            Some(i) => self.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => self.slower.fetch_add(1, Ordering::Relaxed),
        };
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The text exposition (format 0.0.4), with `open_connections` now.
    pub fn render(&self, open_connections: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        family(
            &mut out,
            "sealpost_group_releases_total",
            "counter",
            "Content keys released to members.",
        );
        let _ = writeln!(out, "sealpost_group_releases_total {}", get(&self.released));
        family(
            &mut out,
            "sealpost_group_refusals_total",
            "counter",
            "Requests refused, by refusal code.",
        );
        for (code, count) in RefusalCode::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "sealpost_group_refusals_total{{code=\"{}\"}} {}",
                code.as_str(),
                get(count)
            );
        }
        let internal = RefusalCode::ALL
            .iter()
            .position(|&c| c == RefusalCode::Internal)
            .map_or(0, |i| get(&self.refused[i]));
        family(
            &mut out,
            "sealpost_group_store_errors_total",
            "counter",
            "Requests the server failed (refused internal): the store, or opening a group key.",
        );
        let _ = writeln!(out, "sealpost_group_store_errors_total {internal}");
        family(
            &mut out,
            "sealpost_group_request_duration_seconds",
            "histogram",
            "Time from a request's last byte read to its answer ready to send.",
        );
        let mut cumulative = 0;
        for (le, count) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += get(count);
            let _ = writeln!(
                out,
                "sealpost_group_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += get(&self.slower);
        let _ = writeln!(
            out,
            "sealpost_group_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n\
             sealpost_group_request_duration_seconds_sum {}\n\
             sealpost_group_request_duration_seconds_count {cumulative}",
            get(&self.latency_micros) as f64 / 1e6
        );
        family(
            &mut out,
            "sealpost_group_open_connections",
            "gauge",
            "Connections open on the release listener.",
        );
        let _ = writeln!(out, "sealpost_group_open_connections {open_connections}");
        out
    }
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let m = Metrics::default();
        m.observe(Outcome::Released, Duration::from_micros(800));
        m.observe(
            Outcome::Refused(RefusalCode::NotMember),
            Duration::from_millis(30),
        );
        m.observe(Outcome::Other, Duration::from_secs(3));
        let text = m.render(2);
        for line in [
            "sealpost_group_releases_total 1",
            "sealpost_group_refusals_total{code=\"not_member\"} 1",
            "sealpost_group_store_errors_total 0",
            "sealpost_group_request_duration_seconds_bucket{le=\"0.001\"} 1",
            "sealpost_group_request_duration_seconds_bucket{le=\"0.025\"} 1",
            "sealpost_group_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "sealpost_group_request_duration_seconds_bucket{le=\"2.5\"} 2",
            "sealpost_group_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "sealpost_group_request_duration_seconds_count 3",
            "sealpost_group_open_connections 2",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
