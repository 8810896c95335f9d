// The driver's futures nest deeply (runtime → driver → guard → resource → SDK); computing their
// layout needs more than the default limit of 128.
#![recursion_limit = "256"]
//! The Lambda binary: wires the AWS adapters into the resource and the protocol driver, and serves
//! the Lambda Runtime API.

use std::sync::Arc;

use cfn_custom_resource::{Deadline, Driver};
use lambda_runtime::{LambdaEvent, service_fn};
use remote_exports_app::{RemoteExports, Settings, SnapshotSource};
use remote_exports_aws::{
    CloudFormationExports, DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents, HttpResponseTransport,
    SsmParameters, TrustRoots, load_sdk_config,
};
use remote_exports_lambda::{AuditFailure, FunctionError, Invocation};
use serde_json::{Value, json};

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    remote_exports_lambda::init_logging();
    let settings = Settings::from_env();
    for warning in &settings.warnings {
        tracing::warn!(%warning, "function setting");
    }
    let setting = std::env::var("TLS_ROOTS").ok();
    // A bad setting must not stop the function: Deletes still have to be answered.
    let roots = TrustRoots::choose(setting.as_deref(), settings.function_region.as_deref()).unwrap_or_else(|error| {
        tracing::error!(%error, "falling back to the system's trusted roots");
        TrustRoots::System
    });
    let config = load_sdk_config(roots).await?;
    let url_policy = settings.url_policy;
    // Without READS_TABLE the registry is absent, not disabled: no client, no call, no cost.
    let registry = settings.reads_table.clone().map(|table| DynamoDbRegistry::new(&config, table));
    let events = EventBridgeEvents::new(&config);
    // Without EXPORTS_CACHE_TABLE every read is direct, exactly as before: no table, no call.
    let snapshots = settings.snapshot.as_ref().map(|s| DynamoDbSnapshots::new(&config, &s.table));
    let ttl = settings.snapshot.as_ref().map_or(std::time::Duration::ZERO, |s| s.ttl);
    let exports = SnapshotSource::new(CloudFormationExports::new(config.clone()), snapshots, ttl);
    let resource = RemoteExports::new(settings, exports, SsmParameters::new(&config));
    let transport = HttpResponseTransport::new(roots)?;
    let driver = Arc::new(Driver::new(resource.with_registry(registry), transport, url_policy));
    let events = Arc::new(events);
    let fallback_budget = Deadline::fallback_budget();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (driver, events) = (Arc::clone(&driver), Arc::clone(&events));
        async move {
            let deadline = Deadline::from_runtime_millis(event.context.deadline, fallback_budget);
            match Invocation::of(&event.payload) {
                Invocation::ScheduledAudit => audit(&driver, &events, deadline).await,
                Invocation::CustomResource => {
                    let handled = driver.handle(event.payload, deadline).await.map_err(FunctionError)?;
                    Ok(json!({
                        "Status": handled.status,
                        "PhysicalResourceId": handled.physical_resource_id,
                        "DataKeys": handled.data_keys,
                    }))
                }
            }
        }
    }))
    .await
}

type Exports = SnapshotSource<CloudFormationExports, DynamoDbSnapshots>;
type Function = Driver<RemoteExports<Exports, SsmParameters, DynamoDbRegistry>, HttpResponseTransport>;

async fn audit(
    driver: &Function,
    events: &EventBridgeEvents,
    deadline: Deadline,
) -> Result<Value, lambda_runtime::Diagnostic> {
    let run = driver.resource().audit_and_publish(events);
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
    Ok(json!({
        "Readers": outcome.report.readers,
        "Sources": outcome.report.sources.len(),
        "UncheckedSources": outcome.report.unchecked().count(),
        "Stale": outcome.report.stale.len(),
        "EventsPut": outcome.events_put,
    }))
}
