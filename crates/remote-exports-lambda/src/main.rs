// The driver's futures nest deeply (runtime → driver → guard → resource → SDK); computing their
// layout needs more than the default limit of 128.
#![recursion_limit = "256"]
//! The Lambda binary: one of the template's two functions, chosen by `FUNCTION_MODE` (set by the
//! template, never by an event). Wires the AWS adapters into the resource and the protocol driver,
//! or into the audit, and serves the Lambda Runtime API.

use std::sync::Arc;

use cfn_custom_resource::{Driver, HandleError, StackArn, Status, lambda};
use lambda_runtime::{LambdaEvent, service_fn};
use remote_exports_app::{RemoteExports, Settings, SnapshotSource};
use remote_exports_aws::{
    CloudFormationExports, DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents, HttpResponseTransport,
    SsmParameters, TrustRoots, load_sdk_config,
};
use remote_exports_lambda::metrics::{self, Ending, MetricsSettings, RequestMeter};
use remote_exports_lambda::{AuditFailure, FunctionError, Invocation, Mode, Refused};
use serde_json::{Value, json};

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    remote_exports_lambda::init_logging();
    let settings = Settings::from_env();
    for warning in &settings.warnings {
        tracing::warn!(%warning, "function setting");
    }
    // A bad mode must not stop the function: Deletes still have to be answered, and an audit is
    // never run by mistake.
    let mode = Mode::from_setting(std::env::var("FUNCTION_MODE").ok().as_deref()).unwrap_or_else(|error| {
        tracing::error!(%error, "serving custom-resource requests only");
        Mode::CustomResource
    });
    let setting = std::env::var("TLS_ROOTS").ok();
    let roots = TrustRoots::choose(setting.as_deref(), settings.function_region.as_deref()).unwrap_or_else(|error| {
        tracing::error!(%error, "falling back to the system's trusted roots");
        TrustRoots::System
    });
    let config = load_sdk_config(roots).await?;
    let metrics = Arc::new(MetricsSettings::from_vars(|name| std::env::var(name).ok()));
    match mode {
        Mode::CustomResource => serve_custom_resources(settings, &config, roots, metrics).await,
        Mode::Audit => serve_audits(settings, &config, metrics).await,
    }
}

type Exports = SnapshotSource<CloudFormationExports, DynamoDbSnapshots>;
type Function = Driver<RemoteExports<Exports, SsmParameters, DynamoDbRegistry>, HttpResponseTransport>;
type Auditor = RemoteExports<CloudFormationExports, SsmParameters, DynamoDbRegistry>;

/// `RemoteExportsFunction`: custom-resource requests, and nothing else.
async fn serve_custom_resources(
    settings: Settings,
    config: &aws_config::SdkConfig,
    roots: TrustRoots,
    metrics: Arc<MetricsSettings>,
) -> Result<(), lambda_runtime::Error> {
    let meter = Arc::new(RequestMeter::default());
    let url_policy = settings.url_policy.clone();
    // Without READS_TABLE the registry is absent, not disabled: no client, no call, no cost.
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(config, table));
    // Without EXPORTS_CACHE_TABLE every read is direct, exactly as before: no table, no call.
    let snapshots = settings.snapshot.as_ref().map(|s| DynamoDbSnapshots::new(config, &s.table));
    let ttl = settings.snapshot.as_ref().map_or(std::time::Duration::ZERO, |s| s.ttl);
    let direct = CloudFormationExports::new(config.clone()).with_meter(meter.clone());
    let exports = SnapshotSource::new(direct, snapshots, ttl).with_meter(meter.clone());
    let resource = RemoteExports::new(settings, exports, SsmParameters::new(config)).with_meter(meter.clone());
    let transport = HttpResponseTransport::new(roots)?;
    let driver: Arc<Function> =
        Arc::new(Driver::new(resource.with_registry(registry), transport).with_url_policy(url_policy));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (driver, meter, metrics) = (Arc::clone(&driver), Arc::clone(&meter), Arc::clone(&metrics));
        async move {
            if Invocation::of(&event.payload) == Invocation::ScheduledAudit {
                // Anyone in the Organization may invoke this function: a forged schedule gets
                // nothing, not one AWS call.
                tracing::warn!("refused a scheduled event: this function serves custom-resource requests only");
                return Err(lambda_runtime::Diagnostic::from(Refused::NotACustomResourceRequest));
            }
            // Vouched for by the bound ResponseURL once answered; used only then.
            let stack_id = event.payload["StackId"].as_str().map(str::to_owned);
            let handled = lambda::handle(&driver, event).await;
            let counts = meter.take();
            let ending = match &handled {
                Ok(handled) => Ending::Answered {
                    request_type: handled.kind.map_or("Invalid", |kind| kind.as_str()),
                    status: handled.status.as_str(),
                    // A FAILED answer the resource did not name came from a malformed request or a panic.
                    failure_kind: counts.failure_kind.or_else(|| {
                        (handled.status == Status::Failed && handled.kind.is_none()).then_some("InvalidRequest")
                    }),
                    follow_up_failed: handled.follow_up.as_ref().is_some_and(|f| f.error.is_some()),
                    consumer_account: stack_id.as_deref().and_then(StackArn::parse).map(|stack| stack.account),
                },
                Err(HandleError::ResponseUrlRefused(_)) => Ending::Refused,
                Err(_) => Ending::NotAnswered,
            };
            metrics::emit(&metrics::request_document(&metrics, ending, &counts, remote_exports_app::now_ms()));
            let handled = handled.map_err(|e| lambda_runtime::Diagnostic::from(FunctionError(e)))?;
            Ok(lambda::reply(&handled))
        }
    }))
    .await
}

/// `AuditFunction`: the scheduled audit, invoked by its EventBridge rule alone. It reads every
/// publisher directly, never through the shared snapshot, so a change made just after a read that
/// filled the snapshot is still found.
async fn serve_audits(
    settings: Settings,
    config: &aws_config::SdkConfig,
    metrics: Arc<MetricsSettings>,
) -> Result<(), lambda_runtime::Error> {
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(config, table));
    let events = EventBridgeEvents::new(config, &settings.audit_event_bus);
    let resource: Auditor =
        RemoteExports::new(settings, CloudFormationExports::new(config.clone()), SsmParameters::new(config))
            .with_registry(registry);
    let (auditor, events) = (Arc::new(resource), Arc::new(events));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (auditor, events, metrics) = (Arc::clone(&auditor), Arc::clone(&events), Arc::clone(&metrics));
        async move {
            if Invocation::of(&event.payload) != Invocation::ScheduledAudit {
                tracing::warn!("refused an event that is not the audit's schedule; nothing was answered");
                return Err(lambda_runtime::Diagnostic::from(Refused::NotAScheduledAudit));
            }
            audit(&auditor, &events, &metrics, lambda::deadline(&event.context)).await
        }
    }))
    .await
}

async fn audit(
    auditor: &Auditor,
    events: &EventBridgeEvents,
    metrics: &MetricsSettings,
    deadline: cfn_custom_resource::Deadline,
) -> Result<Value, lambda_runtime::Diagnostic> {
    let run = auditor.audit_and_publish(events);
    let outcome = match tokio::time::timeout_at(deadline.work_deadline(), run).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            tracing::error!(%error, "scheduled audit failed");
            return Err(AuditFailure::from(error).into());
        }
        Err(_) => {
            tracing::error!("scheduled audit did not finish before the deadline");
            return Err(AuditFailure::TimedOut.into());
        }
    };
    let unchecked = outcome.report.unchecked().count();
    let document = metrics::audit_document(
        metrics,
        outcome.report.stale.len(),
        outcome.events_put,
        unchecked,
        remote_exports_app::now_ms(),
    );
    metrics::emit(&document);
    Ok(json!({
        "Readers": outcome.report.readers,
        "Sources": outcome.report.sources.len(),
        "UncheckedSources": outcome.report.unchecked().count(),
        "Stale": outcome.report.stale.len(),
        "EventsPut": outcome.events_put,
    }))
}
