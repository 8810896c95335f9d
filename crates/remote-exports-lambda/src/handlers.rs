//! One handler per mode of the function, each refusing what is not its own before any AWS call:
//! what `main` hands the Lambda runtime, and what the tests here call directly.

use std::sync::Arc;

use cloudformation_custom_resource::{
    CustomResource, Deadline, Driver, HandleError, Handled, ResponseTransport, StackArn, Status,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use remote_exports_app::{Audit, ChangeCheck, ChangeOutcome, RefreshError, RefreshOutcome, Refresher};
use remote_exports_core::{
    AuditEvents, ConsumerStacks, PublisherReads, ReadRegistry, ReadersBySource, SourceChange, StaleEvent, now_ms,
};
use serde_json::{Value, json};

use crate::metrics::{self, ChangeCounts, Counts, Ending, MetricsSettings, RefreshEnding, RequestMeter};
use crate::{Check, CheckFailure, EventShape, FunctionError, Handler, RefreshFailure, Refused};

/// Where a handler's metrics documents go: one line on stdout in the function, a list in tests.
pub type MetricsSink = Arc<dyn Fn(&Value) + Send + Sync>;

/// The EMF line on stdout, as CloudWatch reads it.
pub fn stdout_metrics() -> MetricsSink {
    Arc::new(metrics::emit)
}

/// `RemoteExportsFunction`: custom-resource requests, and nothing else.
pub struct CustomResourceHandler<R, T> {
    driver: Driver<R, T>,
    meter: Arc<RequestMeter>,
    metrics: MetricsSettings,
    sink: MetricsSink,
}

impl<R: CustomResource, T: ResponseTransport> CustomResourceHandler<R, T> {
    /// `meter` is the one the driver's resource and adapters count into.
    pub fn new(driver: Driver<R, T>, meter: Arc<RequestMeter>, metrics: MetricsSettings, sink: MetricsSink) -> Self {
        CustomResourceHandler { driver, meter, metrics, sink }
    }
}

impl<R: CustomResource, T: ResponseTransport> Handler for CustomResourceHandler<R, T> {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if EventShape::of(&event.payload) != EventShape::CustomResource {
            // Anyone in the Organization may invoke this function: a forged schedule or hook request
            // gets nothing, not one AWS call.
            tracing::warn!(
                "refused a scheduled event, hook request or change event: this function serves custom-resource \
                 requests only"
            );
            return Err(refuse(Refused::NotACustomResourceRequest, None, &self.metrics, &self.sink));
        }
        let handled = cloudformation_custom_resource::lambda::handle(&self.driver, event).await;
        let counts = self.meter.take();
        let ending = ending(&handled, &counts);
        (self.sink)(&metrics::request_document(&self.metrics, ending, &counts, now_ms()));
        let handled = handled.map_err(FunctionError)?;
        Ok(cloudformation_custom_resource::lambda::reply(&handled))
    }
}

/// The runtime's error for a refused invocation, after its metric line (with `also`, a mode's own
/// count of it): a refusal is never silent in CloudWatch.
pub(crate) fn refuse(
    refused: Refused,
    also: Option<&str>,
    settings: &MetricsSettings,
    sink: &MetricsSink,
) -> Diagnostic {
    sink(&metrics::refused_document(settings, refused.kind(), also, now_ms()));
    refused.into()
}

/// A refusal answered as a result, not an error, after its metric line: for the functions EventBridge
/// invokes asynchronously, an error would make Lambda refuse the same event twice more, and count as
/// the function failing (its errors alarm says the registry or the bus is down).
fn refused_result(refused: Refused, settings: &MetricsSettings, sink: &MetricsSink) -> Value {
    sink(&metrics::refused_document(settings, refused.kind(), None, now_ms()));
    json!({"Refused": refused.kind(), "Reason": refused.to_string()})
}

/// `work` (`check`'s run), cut off at the work deadline; a failure logged with `what` and typed as
/// `check`'s.
async fn within_deadline<T>(
    check: Check,
    what: &str,
    deadline: Deadline,
    work: impl std::future::Future<Output = Result<T, remote_exports_app::AuditError>>,
) -> Result<T, CheckFailure> {
    match tokio::time::timeout_at(deadline.work_deadline(), work).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(error)) => {
            tracing::error!(%error, "{what} failed");
            Err(CheckFailure::Failed(check, error))
        }
        Err(_) => {
            tracing::error!("{what} did not finish before the deadline");
            Err(CheckFailure::TimedOut(check))
        }
    }
}

/// How a custom-resource invocation ended, for its metrics.
fn ending<'a>(handled: &'a Result<Handled, HandleError>, counts: &Counts) -> Ending<'a> {
    match handled {
        Ok(handled) => Ending::Answered {
            request_type: handled.kind.map_or("Invalid", |kind| kind.as_str()),
            status: handled.status.as_str(),
            // A FAILED answer the resource did not name came from a malformed request or a panic.
            failure_kind: counts
                .failure_kind
                .or_else(|| (handled.status == Status::Failed && handled.kind.is_none()).then_some("InvalidRequest")),
            follow_up_failed: handled.follow_up.as_ref().is_some_and(|f| f.error.is_some()),
            // The stack the bound ResponseURL vouched for.
            consumer_account: StackArn::parse(&handled.stack_id).map(|stack| stack.account),
        },
        Err(HandleError::ResponseUrlRefused(_)) => Ending::Refused,
        Err(_) => Ending::NotAnswered,
    }
}

/// `AuditFunction`: the scheduled audit, invoked by its EventBridge rule alone.
pub struct AuditHandler<S, R, E> {
    audit: Audit<S, R>,
    events: E,
    metrics: MetricsSettings,
    sink: MetricsSink,
}

impl<S: PublisherReads, R: ReadRegistry, E: AuditEvents> Handler for AuditHandler<S, R, E> {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if EventShape::of(&event.payload) != EventShape::ScheduledAudit {
            tracing::warn!("refused an event that is not the audit's schedule; nothing was answered");
            return Err(refuse(Refused::NotAScheduledAudit, None, &self.metrics, &self.sink));
        }
        self.run(cloudformation_custom_resource::lambda::deadline(&event.context)).await.map_err(Diagnostic::from)
    }
}

impl<S: PublisherReads, R: ReadRegistry, E: AuditEvents> AuditHandler<S, R, E> {
    pub fn new(audit: Audit<S, R>, events: E, metrics: MetricsSettings, sink: MetricsSink) -> Self {
        AuditHandler { audit, events, metrics, sink }
    }

    /// One run, cut off at the work deadline; its counts as the invocation's result.
    async fn run(&self, deadline: Deadline) -> Result<Value, CheckFailure> {
        let outcome = within_deadline(Check::Audit, "scheduled audit", deadline, self.audit.run(&self.events)).await?;
        let (stale, unchecked) = (outcome.report.stale.len(), outcome.report.unchecked().count());
        (self.sink)(&metrics::audit_document(&self.metrics, stale, outcome.events_put, unchecked, now_ms()));
        Ok(json!({
            "Readers": outcome.report.readers,
            "Sources": outcome.report.sources.len(),
            "UncheckedSources": unchecked,
            "Stale": stale,
            "EventsPut": outcome.events_put,
        }))
    }
}

/// `ChangeCheckFunction`: publishers' change events, forwarded to the central bus, invoked by that
/// bus's rule alone. It trusts the envelope's account and region (EventBridge's), never an account in
/// the detail, and reads what changed from the publisher itself.
pub struct ChangeHandler<S, R, E> {
    check: ChangeCheck<S, R>,
    events: E,
    metrics: MetricsSettings,
    sink: MetricsSink,
}

impl<S: PublisherReads, R: ReadersBySource + ReadRegistry, E: AuditEvents> Handler for ChangeHandler<S, R, E> {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if EventShape::of(&event.payload) != EventShape::SourceChange {
            tracing::warn!("refused an event that is not a CloudFormation or SSM change event; nothing was read");
            return Ok(refused_result(Refused::NotAChangeEvent, &self.metrics, &self.sink));
        }
        let change = match SourceChange::from_event(&event.payload) {
            Ok(Ok(change)) => change,
            Ok(Err(ignored)) => {
                tracing::info!(?ignored, "a change of no consequence to readers; nothing was read");
                let counts = ChangeCounts { ignored: true, ..ChangeCounts::default() };
                (self.sink)(&metrics::change_document(&self.metrics, counts, now_ms()));
                return Ok(json!({"Ignored": format!("{ignored:?}")}));
            }
            Err(refused) => {
                tracing::warn!(%refused, "refused a change event; nothing was read");
                return Ok(refused_result(Refused::UntrustedChange, &self.metrics, &self.sink));
            }
        };
        self.run(&change, cloudformation_custom_resource::lambda::deadline(&event.context))
            .await
            .map_err(Diagnostic::from)
    }
}

impl<S: PublisherReads, R: ReadersBySource + ReadRegistry, E: AuditEvents> ChangeHandler<S, R, E> {
    pub fn new(check: ChangeCheck<S, R>, events: E, metrics: MetricsSettings, sink: MetricsSink) -> Self {
        ChangeHandler { check, events, metrics, sink }
    }

    /// One check, cut off at the work deadline; its counts as the invocation's result.
    async fn run(&self, change: &SourceChange, deadline: Deadline) -> Result<Value, CheckFailure> {
        let what = format!("change check of {}", change.describe());
        let outcome = within_deadline(Check::Change, &what, deadline, self.check.check(change, &self.events)).await?;
        let now = now_ms();
        let counts = match &outcome {
            ChangeOutcome::Coalesced => ChangeCounts { coalesced: true, ..ChangeCounts::default() },
            ChangeOutcome::Checked(checked) => ChangeCounts {
                sources_checked: checked.report.sources.len(),
                stale_reads: checked.report.stale.len(),
                events_put: checked.events_put,
                unchecked_sources: checked.report.unchecked().count(),
                propagation_ms: checked.propagation.map(|p| p.as_millis() as u64),
                ..ChangeCounts::default()
            },
        };
        (self.sink)(&metrics::change_document(&self.metrics, counts, now));
        Ok(match outcome {
            ChangeOutcome::Coalesced => json!({"Coalesced": true}),
            ChangeOutcome::Checked(checked) => json!({
                "ReadersOfSource": checked.readers_of_source,
                "Concerned": checked.concerned,
                "Sources": checked.report.sources.len(),
                "UncheckedSources": counts.unchecked_sources,
                "Stale": counts.stale_reads,
                "EventsPut": checked.events_put,
                "PropagationMs": checked.propagation.map(|p| p.as_millis() as u64),
                "WaitedMs": checked.waited.as_millis() as u64,
            }),
        })
    }
}

/// `RefresherFunction`, in a consumer account: stale-read events that the central account put about
/// this account's own stacks, from its own default bus's rule only. It trusts the envelope's account
/// (EventBridge's) to be the central account, never a field of the detail.
pub struct RefreshHandler<C> {
    refresher: Refresher<C>,
    /// The central account whose events are taken, this account and region.
    central_account: String,
    own_account: String,
    own_region: String,
    metrics: MetricsSettings,
    sink: MetricsSink,
}

impl<C: ConsumerStacks> RefreshHandler<C> {
    pub fn new(
        refresher: Refresher<C>,
        central_account: String,
        (own_account, own_region): (String, String),
        metrics: MetricsSettings,
        sink: MetricsSink,
    ) -> Self {
        RefreshHandler { refresher, central_account, own_account, own_region, metrics, sink }
    }
}

impl<C: ConsumerStacks> Handler for RefreshHandler<C> {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        if EventShape::of(&event.payload) != EventShape::StaleRead {
            tracing::warn!("refused an event that is not a remote-exports stale-read event; nothing was read");
            return Ok(refused_result(Refused::NotAStaleEvent, &self.metrics, &self.sink));
        }
        let stale =
            match StaleEvent::from_event(&event.payload, &self.central_account, &self.own_account, &self.own_region) {
                Ok(stale) => stale,
                Err(refused) => {
                    tracing::warn!(%refused, "refused a stale-read event; nothing was read");
                    return Ok(refused_result(Refused::UntrustedStaleEvent, &self.metrics, &self.sink));
                }
            };
        let refreshed = self.refresher.refresh(&stale).await;
        let ending = match &refreshed {
            Ok(RefreshOutcome::Proposed(_) | RefreshOutcome::AlreadyProposed(_)) => RefreshEnding::Proposed,
            Ok(RefreshOutcome::Started) => RefreshEnding::Started,
            Ok(RefreshOutcome::Skipped(_)) => RefreshEnding::Skipped,
            Err(RefreshError::Busy(_)) => RefreshEnding::Deferred,
            Err(RefreshError::Stacks(_)) => RefreshEnding::Failed,
        };
        (self.sink)(&metrics::refresh_document(&self.metrics, ending, now_ms()));
        match refreshed.map_err(RefreshFailure::from)? {
            RefreshOutcome::Proposed(name) => Ok(json!({"Proposed": name})),
            RefreshOutcome::AlreadyProposed(name) => Ok(json!({"AlreadyProposed": name})),
            RefreshOutcome::Started => Ok(json!({"Started": stale.stack_name})),
            RefreshOutcome::Skipped(why) => Ok(json!({"Skipped": why})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    use cloudformation_custom_resource::testing::{REGION, RecordingTransport, event};
    use cloudformation_custom_resource::{Data, Deleted, Failure, Request, RequestKind, Success, UrlPolicy};
    use remote_exports_app::NoRegistry;
    use remote_exports_core::StaleRead;
    use remote_exports_core::testing::MemoryPublishers;

    /// A metrics sink that keeps the documents.
    fn kept() -> (MetricsSink, Arc<Mutex<Vec<Value>>>) {
        let documents = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&documents);
        (Arc::new(move |document: &Value| into.lock().unwrap().push(document.clone())), documents)
    }

    fn invocation(payload: Value) -> LambdaEvent<Value> {
        let mut context = lambda_runtime::Context::default();
        context.deadline = now_ms() + 10_000;
        LambdaEvent::new(payload, context)
    }

    fn scheduled() -> Value {
        json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
    }

    /// Answers every Create with one key, and counts how often it was asked.
    #[derive(Default)]
    struct Counting(std::sync::atomic::AtomicU32);

    impl CustomResource for Counting {
        type Properties = Value;
        async fn create(&self, _: &Request) -> Result<Success, Failure> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Success::new("id", Data::from_iter([("Key", "value")])))
        }
        async fn update(&self, request: &Request) -> Result<Success, Failure> {
            self.create(request).await
        }
        async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
            Ok(Deleted::new())
        }
    }

    fn custom_resource_handler(
        transport: &RecordingTransport,
    ) -> (CustomResourceHandler<Counting, &RecordingTransport>, Arc<Mutex<Vec<Value>>>) {
        let policy = UrlPolicy::strict().in_region(REGION).with_loopback(true);
        let driver = Driver::new(Counting::default(), transport).with_url_policy(policy);
        let (sink, documents) = kept();
        let handler = CustomResourceHandler::new(driver, Arc::default(), MetricsSettings::from_vars(|_| None), sink);
        (handler, documents)
    }

    #[tokio::test]
    async fn the_custom_resource_handler_answers_requests_and_counts_each_ending() {
        let transport = RecordingTransport::new();
        let (handler, documents) = custom_resource_handler(&transport);
        let reply = handler.handle(invocation(event(RequestKind::Create, json!({})))).await.unwrap();
        assert_eq!((reply["Status"].as_str(), transport.answers().len()), (Some("SUCCESS"), 1));

        let mut forged = event(RequestKind::Create, json!({}));
        forged["ResponseURL"] = json!("https://collector.example.com/steal?X-Amz-Signature=abc");
        let refused = handler.handle(invocation(forged)).await.unwrap_err();
        assert_eq!(refused.error_type, "RemoteExports.ResponseUrlRefused");
        assert_eq!(handler.driver.resource().0.load(std::sync::atomic::Ordering::SeqCst), 1, "the forged one ran");

        let documents = documents.lock().unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!((documents[0]["Answered"].as_u64(), documents[0]["Status"].as_str()), (Some(1), Some("SUCCESS")));
        assert_eq!(documents[1]["Refused"], 1);
    }

    #[tokio::test]
    async fn the_custom_resource_handler_refuses_a_schedule_with_nothing_done() {
        let transport = RecordingTransport::new();
        let (handler, documents) = custom_resource_handler(&transport);
        let refused = handler.handle(invocation(scheduled())).await.unwrap_err();
        assert_eq!(refused.error_type, "RemoteExports.NotACustomResourceRequest");
        assert!(transport.answers().is_empty());
        let documents = documents.lock().unwrap();
        assert_eq!(documents.len(), 1, "a refusal writes its metric line");
        assert_eq!(
            (documents[0]["Refused"].as_u64(), documents[0]["RefusedKind"].as_str()),
            (Some(1), Some("NotACustomResourceRequest"))
        );
    }

    /// Puts nothing anywhere; counts what it was given.
    #[derive(Default)]
    struct KeptEvents(Mutex<Vec<StaleRead>>);

    impl AuditEvents for KeptEvents {
        async fn publish(&self, stale: &[StaleRead]) -> Result<usize, remote_exports_core::PublishError> {
            self.0.lock().unwrap().extend_from_slice(stale);
            Ok(stale.len())
        }
    }

    #[tokio::test]
    async fn the_audit_handler_runs_on_its_schedule_only() {
        let exports = Arc::new(MemoryPublishers::new());
        let audit = Audit::new(Arc::clone(&exports), None::<NoRegistry>, Ok(Default::default()));
        let (sink, documents) = kept();
        let handler = AuditHandler::new(audit, KeptEvents::default(), MetricsSettings::from_vars(|_| None), sink);
        for request in [event(RequestKind::Create, json!({})), json!({"source": "aws.events"})] {
            let refused = handler.handle(invocation(request)).await.unwrap_err();
            assert_eq!(refused.error_type, "RemoteExports.NotAScheduledAudit");
        }
        assert_eq!(exports.read_count(), 0);
        // Its schedule runs it; without a registry the run fails, naming the setting.
        let failed = handler.handle(invocation(scheduled())).await.unwrap_err();
        assert_eq!(failed.error_type, "RemoteExports.AuditFailed");
        assert!(failed.error_message.contains("READS_TABLE"), "{}", failed.error_message);
        let documents = documents.lock().unwrap();
        let kinds: Vec<_> = documents.iter().map(|d| d["RefusedKind"].as_str()).collect();
        assert_eq!(kinds, [Some("NotAScheduledAudit"); 2], "each refusal counted, and a failed run wrote no counts");
    }

    /// A registry that never answers its scan: a table that hangs.
    struct HangingRegistry;

    impl ReadRegistry for HangingRegistry {
        async fn record(&self, _: &remote_exports_core::ReadRecord) -> Result<(), remote_exports_core::RegistryError> {
            Ok(())
        }
        async fn forget(&self, _: &str, _: Option<&str>) -> Result<bool, remote_exports_core::RegistryError> {
            Ok(true)
        }
        async fn scan(&self) -> Result<Vec<remote_exports_core::ReadRecord>, remote_exports_core::RegistryError> {
            std::future::pending().await
        }
        async fn mark_alerted(
            &self,
            _: &remote_exports_core::AlertUpdate,
        ) -> Result<bool, remote_exports_core::RegistryError> {
            Ok(true)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_audit_past_its_deadline_fails_as_timed_out() {
        let audit = Audit::new(MemoryPublishers::new(), Some(HangingRegistry), Ok(Default::default()));
        let (sink, _) = kept();
        let handler = AuditHandler::new(audit, KeptEvents::default(), MetricsSettings::from_vars(|_| None), sink);
        let deadline = Deadline::after(Duration::from_secs(30));
        let error = handler.run(deadline).await.unwrap_err();
        assert!(matches!(error, CheckFailure::TimedOut(Check::Audit)), "{error:?}");
        assert_eq!(error.to_string(), "the audit did not finish before the function's deadline");
    }
}
