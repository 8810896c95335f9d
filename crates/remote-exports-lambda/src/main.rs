// The driver's futures nest deeply (runtime → driver → guard → resource → SDK); computing their
// layout needs more than the default limit of 128.
#![recursion_limit = "256"]
//! The Lambda binary: one of the template's functions, chosen by `FUNCTION_MODE` (set by the
//! template, never by an event). It reads its configuration once ([`FunctionConfig`]), wires the
//! AWS adapters into that mode's handler and serves the Lambda Runtime API.

use std::sync::Arc;

use cloudformation_custom_resource::Driver;
use lambda_runtime::service_fn;
use remote_exports_app::{Audit, RemoteExports, SnapshotReader};
use remote_exports_aws::{
    CloudFormationExports, DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents, HttpResponseTransport,
    SsmParameters, load_sdk_config,
};
use remote_exports_lambda::metrics::RequestMeter;
use remote_exports_lambda::{AuditHandler, CustomResourceHandler, FunctionConfig, Mode, stdout_metrics};

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    remote_exports_lambda::init_logging();
    let FunctionConfig { mode, settings, tls_roots: roots, metrics, .. } = {
        let config = FunctionConfig::from_env();
        config.log();
        config
    };
    let config = load_sdk_config(roots).await?;
    // Without READS_TABLE the registry is absent, not disabled: no client, no call, no cost.
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(&config, table));
    if mode == Mode::Audit {
        // Every publisher read directly, never through the shared snapshot.
        let audit = Audit::new(CloudFormationExports::new(config.clone()), registry, settings.governance.clone());
        let events = EventBridgeEvents::new(&config, &settings.audit_event_bus);
        let handler = Arc::new(AuditHandler::new(audit, events, metrics, stdout_metrics()));
        return lambda_runtime::run(service_fn(move |event| {
            let handler = Arc::clone(&handler);
            async move { handler.handle(event).await }
        }))
        .await;
    }
    let meter = Arc::new(RequestMeter::default());
    // Without EXPORTS_CACHE_TABLE every read is direct: no table, no call.
    let snapshots = settings.snapshot.as_ref().map(|s| DynamoDbSnapshots::new(&config, &s.table));
    let ttl = settings.snapshot.as_ref().map_or(std::time::Duration::ZERO, |s| s.ttl);
    let direct = CloudFormationExports::new(config.clone()).with_meter(meter.clone());
    let exports = SnapshotReader::new(direct, snapshots, ttl).with_meter(meter.clone());
    let url_policy = settings.url_policy.clone();
    let resource = RemoteExports::new(settings, exports, SsmParameters::new(&config)).with_meter(meter.clone());
    let driver = Driver::new(resource.with_registry(registry), HttpResponseTransport::new(roots)?);
    let handler = CustomResourceHandler::new(driver.with_url_policy(url_policy), meter, metrics, stdout_metrics());
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event).await }
    }))
    .await
}
