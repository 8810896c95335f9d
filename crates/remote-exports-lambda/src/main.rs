// The driver's futures nest deeply (runtime → driver → guard → resource → SDK); computing their
// layout needs more than the default limit of 128.
#![recursion_limit = "256"]
//! The Lambda binary: one of the template's functions, chosen by `FUNCTION_MODE` (set by the
//! template, never by an event). It reads its configuration once ([`FunctionConfig`]), wires the
//! AWS adapters into that mode's handler and serves the Lambda Runtime API.

use std::sync::Arc;
use std::time::Duration;

use cloudformation_custom_resource::Driver;
use cloudformation_lambda_hook::PayloadFetcher;
use lambda_runtime::service_fn;
use remote_exports_app::{Audit, ExportGuard, GuardScope, RemoteExports, SnapshotReader};
use remote_exports_aws::{
    CloudFormationExports, CloudFormationStacks, DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents,
    HttpResponseTransport, SsmParameters, load_sdk_config, registry_reader_config,
};
use remote_exports_lambda::metrics::RequestMeter;
use remote_exports_lambda::{AuditHandler, CustomResourceHandler, FunctionConfig, GuardHandler, Mode, stdout_metrics};

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    remote_exports_lambda::init_logging();
    let function = FunctionConfig::from_env();
    function.log();
    let guard = function.guard_setup();
    let FunctionConfig { mode, settings, tls_roots: roots, metrics, .. } = function;
    let config = load_sdk_config(roots).await?;
    if mode == Mode::Guard {
        // Its own stacks with its own credentials; the registry through the central role, as itself.
        let guard = guard.map(|setup| {
            let registry_config = match &setup.registry_role {
                Some(role) => registry_reader_config(&config, role, &setup.account),
                None => config.clone(),
            };
            let registry = DynamoDbRegistry::new(&registry_config, &setup.reads_table);
            let scope = GuardScope { account: setup.account, region: setup.region };
            ExportGuard::new(CloudFormationStacks::new(&config), registry, scope)
        });
        let fetcher = PayloadFetcher::from_builder(roots.reqwest_builder()?.connect_timeout(Duration::from_secs(5)))?;
        let loopback = settings.url_policy.allows_loopback();
        let handler = Arc::new(GuardHandler::new(guard, fetcher, loopback, metrics, stdout_metrics()));
        return lambda_runtime::run(service_fn(move |event| {
            let handler = Arc::clone(&handler);
            async move { handler.handle(event).await }
        }))
        .await;
    }
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
