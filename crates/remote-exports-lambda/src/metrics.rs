//! CloudWatch metrics as Embedded Metric Format (EMF): one JSON line on stdout per invocation, which
//! CloudWatch Logs turns into metrics. No API call and no background flush: the line is written
//! before the invocation returns, so a frozen or recycled container loses nothing.
//!
//! The document's shape follows the specification
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! `_aws.Timestamp` in ms, `_aws.CloudWatchMetrics` directives of `Namespace`, `Dimensions` (sets of
//! member names) and `Metrics`, and every named metric and dimension as a member of the root.
//! Dimensions are low-cardinality labels; no value, URL, session or export name is ever written.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use remote_exports_core::{Count, Meter};
use serde_json::{Map, Value, json};

/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "RemoteExports";

/// How metrics are published, read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `METRICS_NAMESPACE`.
    pub namespace: String,
    /// `METRICS_CONSUMER_ACCOUNT_DIMENSION=true`: `Answered` also per consumer account. Off by
    /// default, because each account is a metric of its own (and a cost of its own).
    pub consumer_account_dimension: bool,
}

impl MetricsSettings {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> MetricsSettings {
        let namespace = var("METRICS_NAMESPACE").map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        MetricsSettings {
            namespace: namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            consumer_account_dimension: var("METRICS_CONSUMER_ACCOUNT_DIMENSION")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        }
    }
}

/// Counts of one invocation, as the adapters and the resource report them through [`Meter`].
#[derive(Debug, Default)]
pub struct RequestMeter {
    snapshot_hits: AtomicU32,
    snapshot_misses: AtomicU32,
    throttled_attempts: AtomicU32,
    failure_kind: Mutex<Option<&'static str>>,
}

/// What [`RequestMeter::take`] hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub snapshot_hits: u32,
    pub snapshot_misses: u32,
    pub throttled_attempts: u32,
    pub failure_kind: Option<&'static str>,
}

impl Meter for RequestMeter {
    fn add(&self, count: Count, n: u32) {
        let counter = match count {
            Count::SnapshotHit => &self.snapshot_hits,
            Count::SnapshotMiss => &self.snapshot_misses,
            Count::ThrottledAttempt => &self.throttled_attempts,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn failed(&self, kind: &'static str) {
        *self.failure_kind.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(kind);
    }
}

impl RequestMeter {
    /// The counts so far, leaving zero: called once per invocation (a container serves one at a time).
    pub fn take(&self) -> Counts {
        Counts {
            snapshot_hits: self.snapshot_hits.swap(0, Ordering::Relaxed),
            snapshot_misses: self.snapshot_misses.swap(0, Ordering::Relaxed),
            throttled_attempts: self.throttled_attempts.swap(0, Ordering::Relaxed),
            failure_kind: self.failure_kind.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(),
        }
    }
}

/// How a custom-resource invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// An answer reached CloudFormation.
    Answered {
        request_type: &'a str,
        /// `SUCCESS` or `FAILED`.
        status: &'a str,
        /// For FAILED: the kind, when the resource named one.
        failure_kind: Option<&'a str>,
        follow_up_failed: bool,
        /// Only with [`MetricsSettings::consumer_account_dimension`].
        consumer_account: Option<&'a str>,
    },
    /// The ResponseURL was refused: nothing was done.
    Refused,
    /// No answer could be delivered (or none could be addressed).
    NotAnswered,
}

/// The EMF document of one custom-resource invocation.
pub fn request_document(settings: &MetricsSettings, ending: Ending<'_>, counts: &Counts, now_ms: u64) -> Value {
    let mut document = Document::new(settings, now_ms);
    match ending {
        Ending::Answered { request_type, status, failure_kind, follow_up_failed, consumer_account } => {
            document.member("RequestType", request_type).member("Status", status);
            let mut dimensions = vec![vec!["RequestType", "Status"], vec!["Status"]];
            if let Some(account) = consumer_account.filter(|_| settings.consumer_account_dimension) {
                document.member("ConsumerAccount", account);
                dimensions.push(vec!["ConsumerAccount"]);
            }
            document.directive(dimensions, &[("Answered", 1)]);
            if status == "FAILED" {
                document.member("Kind", failure_kind.unwrap_or("Internal"));
                document.directive(vec![vec!["Kind"]], &[("FailedReason", 1)]);
            }
            let mut metrics = read_counts(counts);
            metrics.push(("FollowUpFailures", u32::from(follow_up_failed)));
            document.directive(vec![vec![]], &metrics);
        }
        Ending::Refused => return refused_document(settings, "ResponseUrlRefused", None, now_ms),
        Ending::NotAnswered => {
            document.directive(vec![vec![]], &read_counts(counts));
        }
    }
    document.finish()
}

/// The EMF document of an invocation refused before any work, in any mode: `Refused` (1), without
/// dimensions (the alarm's series) and by `RefusedKind` (`ResponseUrlRefused`, `NotAHookRequest`, …).
/// `also` adds a mode's own count, such as the guard's `GuardUndecided`: a hook request the guard
/// refused got no verdict, and its FailureMode decided.
pub fn refused_document(settings: &MetricsSettings, kind: &str, also: Option<&str>, now_ms: u64) -> Value {
    let mut document = Document::new(settings, now_ms);
    document.member("RefusedKind", kind);
    document.directive(vec![vec![], vec!["RefusedKind"]], &[("Refused", 1)]);
    if let Some(name) = also {
        document.directive(vec![vec![]], &[(name, 1)]);
    }
    document.finish()
}

/// The dimensionless counts of an invocation that was not refused: what its reads cost.
fn read_counts(counts: &Counts) -> Vec<(&'static str, u32)> {
    vec![
        ("Refused", 0),
        ("ThrottledAttempts", counts.throttled_attempts),
        ("SnapshotHits", counts.snapshot_hits),
        ("SnapshotMisses", counts.snapshot_misses),
    ]
}

/// The EMF document of one audit run.
pub fn audit_document(
    settings: &MetricsSettings,
    stale_reads: usize,
    events_put: usize,
    unchecked_sources: usize,
    now_ms: u64,
) -> Value {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut document = Document::new(settings, now_ms);
    document.directive(
        vec![vec![]],
        &[
            ("StaleReads", count(stale_reads)),
            ("EventsPut", count(events_put)),
            ("UncheckedSources", count(unchecked_sources)),
        ],
    );
    document.finish()
}

/// What one change event led to, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeCounts {
    /// A change of no consequence to readers (a status or operation that changes no value).
    pub ignored: bool,
    /// Covered by a check that started after it.
    pub coalesced: bool,
    pub sources_checked: usize,
    pub stale_reads: usize,
    pub events_put: usize,
    pub unchecked_sources: usize,
    /// From the publisher's change (the event's time) to the stale events being put, when any were.
    pub propagation_ms: Option<u64>,
}

/// The EMF document of one change event: `ChangeEvents` (1), `ChangesIgnored`, `ChangesCoalesced`,
/// `SourcesChecked`, `ChangeStaleReads`, `ChangeEventsPut`, `ChangeUncheckedSources` (names of their
/// own, so that the audit's series and alarm stay the audit's), and `PropagationTime` (ms) when stale
/// events were put.
pub fn change_document(settings: &MetricsSettings, counts: ChangeCounts, now_ms: u64) -> Value {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut document = Document::new(settings, now_ms);
    document.directive(
        vec![vec![]],
        &[
            ("ChangeEvents", 1),
            ("ChangesIgnored", u32::from(counts.ignored)),
            ("ChangesCoalesced", u32::from(counts.coalesced)),
            ("SourcesChecked", count(counts.sources_checked)),
            ("ChangeStaleReads", count(counts.stale_reads)),
            ("ChangeEventsPut", count(counts.events_put)),
            ("ChangeUncheckedSources", count(counts.unchecked_sources)),
        ],
    );
    if let Some(ms) = counts.propagation_ms {
        document.timing("PropagationTime", ms);
    }
    document.finish()
}

/// How one refresh ended, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshEnding {
    Proposed,
    Started,
    /// The stack was busy: Lambda tries again.
    Deferred,
    Skipped,
    Failed,
}

/// The EMF document of one refresh: `RefreshesProposed`, `RefreshesStarted`, `RefreshesDeferred`,
/// `RefreshesSkipped` and `RefreshesFailed`, one of them 1.
pub fn refresh_document(settings: &MetricsSettings, ending: RefreshEnding, now_ms: u64) -> Value {
    let mut document = Document::new(settings, now_ms);
    let one = |wanted: RefreshEnding| u32::from(ending == wanted);
    document.directive(
        vec![vec![]],
        &[
            ("RefreshesProposed", one(RefreshEnding::Proposed)),
            ("RefreshesStarted", one(RefreshEnding::Started)),
            ("RefreshesDeferred", one(RefreshEnding::Deferred)),
            ("RefreshesSkipped", one(RefreshEnding::Skipped)),
            ("RefreshesFailed", one(RefreshEnding::Failed)),
        ],
    );
    document.finish()
}

/// How one guard invocation ended, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardEnding {
    /// SUCCESS: nothing that is read is removed.
    Passed,
    /// FAILED with NonCompliant: a live reader would be broken.
    Blocked,
    /// FAILED with InternalFailure: the guard could not decide (the hook's FailureMode decides).
    Undecided,
}

/// The EMF document of one guard invocation: `GuardChecked` (1), `GuardBlocked` and
/// `GuardUndecided` (0 or 1), without dimensions.
pub fn guard_document(settings: &MetricsSettings, ending: GuardEnding, now_ms: u64) -> Value {
    let mut document = Document::new(settings, now_ms);
    document.directive(
        vec![vec![]],
        &[
            ("GuardChecked", 1),
            ("GuardBlocked", u32::from(ending == GuardEnding::Blocked)),
            ("GuardUndecided", u32::from(ending == GuardEnding::Undecided)),
        ],
    );
    document.finish()
}

/// Writes the document as one line on stdout, where the Lambda runtime sends it to CloudWatch Logs.
pub fn emit(document: &Value) {
    let mut line = document.to_string();
    line.push('\n');
    // One write of the whole line, so that it is never interleaved with a log line.
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

struct Document<'s> {
    settings: &'s MetricsSettings,
    root: Map<String, Value>,
    directives: Vec<Value>,
    timestamp_ms: u64,
}

impl<'s> Document<'s> {
    fn new(settings: &'s MetricsSettings, timestamp_ms: u64) -> Self {
        Document { settings, root: Map::new(), directives: Vec::new(), timestamp_ms }
    }

    fn member(&mut self, name: &str, value: &str) -> &mut Self {
        self.root.insert(name.to_owned(), json!(value));
        self
    }

    fn directive(&mut self, dimensions: Vec<Vec<&str>>, metrics: &[(&str, u32)]) {
        for (name, value) in metrics {
            self.root.insert((*name).to_owned(), json!(value));
        }
        let metrics: Vec<Value> = metrics.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect();
        self.directives.push(json!({
            "Namespace": self.settings.namespace,
            "Dimensions": dimensions,
            "Metrics": metrics,
        }));
    }

    /// One duration in milliseconds, without dimensions.
    fn timing(&mut self, name: &str, ms: u64) {
        self.root.insert(name.to_owned(), json!(ms));
        self.directives.push(json!({
            "Namespace": self.settings.namespace,
            "Dimensions": [[]],
            "Metrics": [{"Name": name, "Unit": "Milliseconds"}],
        }));
    }

    fn finish(mut self) -> Value {
        // A property, not a dimension: it says which version wrote a line, at no metric's cost.
        self.root.insert("Version".to_owned(), json!(crate::VERSION));
        self.root
            .insert("_aws".to_owned(), json!({"Timestamp": self.timestamp_ms, "CloudWatchMetrics": self.directives}));
        Value::Object(self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MetricsSettings {
        MetricsSettings::from_vars(|_| None)
    }

    /// The specification's rules: every metric and dimension a member of the root, values numbers.
    fn assert_valid_emf(document: &Value) {
        assert_eq!(document["Version"], crate::VERSION, "every document says which version wrote it");
        let aws = &document["_aws"];
        assert!(aws["Timestamp"].as_u64().is_some(), "{document}");
        for directive in aws["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], "RemoteExports");
            for set in directive["Dimensions"].as_array().unwrap() {
                let names = set.as_array().unwrap();
                assert!(names.len() <= 30);
                for name in names {
                    assert!(document[name.as_str().unwrap()].is_string(), "dimension {name} missing: {document}");
                }
            }
            let metrics = directive["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().unwrap();
                assert!(document[name].is_number(), "metric {name} missing: {document}");
            }
        }
    }

    #[test]
    fn a_failed_answer_counts_once_by_type_status_and_kind() {
        let counts = Counts { throttled_attempts: 3, snapshot_misses: 1, ..Counts::default() };
        let ending = Ending::Answered {
            request_type: "Create",
            status: "FAILED",
            failure_kind: Some("MissingExport"),
            follow_up_failed: false,
            consumer_account: Some("111111111111"),
        };
        let document = request_document(&settings(), ending, &counts, 1_795_438_442_000);
        assert_valid_emf(&document);
        assert_eq!((document["Answered"].as_u64(), document["FailedReason"].as_u64()), (Some(1), Some(1)));
        assert_eq!(
            (document["Kind"].as_str(), document["ThrottledAttempts"].as_u64()),
            (Some("MissingExport"), Some(3))
        );
        assert!(document.get("ConsumerAccount").is_none(), "the account dimension is opt-in");
        assert_eq!(document["_aws"]["Timestamp"], 1_795_438_442_000u64);
    }

    #[test]
    fn the_consumer_account_dimension_is_opt_in_and_the_namespace_configurable() {
        let settings = MetricsSettings::from_vars(|name| match name {
            "METRICS_NAMESPACE" => Some("Platform/RemoteExports".into()),
            "METRICS_CONSUMER_ACCOUNT_DIMENSION" => Some("true".into()),
            _ => None,
        });
        let ending = Ending::Answered {
            request_type: "Update",
            status: "SUCCESS",
            failure_kind: None,
            follow_up_failed: true,
            consumer_account: Some("111111111111"),
        };
        let document = request_document(&settings, ending, &Counts::default(), 0);
        assert_eq!(document["ConsumerAccount"], "111111111111");
        assert_eq!(document["FollowUpFailures"], 1);
        assert!(document.get("FailedReason").is_none());
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Platform/RemoteExports");
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][2], json!(["ConsumerAccount"]));
    }

    #[test]
    fn a_refusal_and_an_audit_are_documents_of_their_own() {
        let refused = request_document(&settings(), Ending::Refused, &Counts::default(), 0);
        assert_valid_emf(&refused);
        assert_eq!(refused["Refused"], 1);
        assert_eq!(refused["RefusedKind"], "ResponseUrlRefused");
        let directive = &refused["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([[], ["RefusedKind"]]), "the alarm's series and one per kind");
        let guard = refused_document(&settings(), "NotAHookRequest", Some("GuardUndecided"), 0);
        assert_valid_emf(&guard);
        assert_eq!((guard["Refused"].as_u64(), guard["GuardUndecided"].as_u64()), (Some(1), Some(1)));
        assert!(refused.get("Answered").is_none());
        let change = change_document(
            &settings(),
            ChangeCounts {
                sources_checked: 1,
                stale_reads: 2,
                events_put: 2,
                propagation_ms: Some(850),
                ..Default::default()
            },
            0,
        );
        assert_valid_emf(&change);
        assert_eq!((change["ChangeEvents"].as_u64(), change["PropagationTime"].as_u64()), (Some(1), Some(850)));
        let units: Vec<_> = change["_aws"]["CloudWatchMetrics"][1]["Metrics"].as_array().unwrap().to_vec();
        assert_eq!(units, [json!({"Name": "PropagationTime", "Unit": "Milliseconds"})]);
        let coalesced = change_document(&settings(), ChangeCounts { coalesced: true, ..Default::default() }, 0);
        assert!(coalesced.get("PropagationTime").is_none() && coalesced["ChangesCoalesced"] == 1, "{coalesced}");
        let audit = audit_document(&settings(), 2, 1, 0, 0);
        assert_valid_emf(&audit);
        assert_eq!((audit["StaleReads"].as_u64(), audit["EventsPut"].as_u64()), (Some(2), Some(1)));
    }

    #[test]
    fn the_meter_counts_one_invocation_and_starts_again_at_zero() {
        let meter = RequestMeter::default();
        meter.add(Count::ThrottledAttempt, 2);
        meter.add(Count::SnapshotHit, 1);
        meter.failed("Throttled");
        let counts = meter.take();
        assert_eq!((counts.throttled_attempts, counts.snapshot_hits, counts.failure_kind), (2, 1, Some("Throttled")));
        assert_eq!(meter.take(), Counts::default());
    }
}
