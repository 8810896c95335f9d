// The driver's futures nest deeply (runtime → driver → guard → resource → SDK); computing their
// layout needs more than the default limit of 128.
#![recursion_limit = "256"]
//! The Lambda binary: one of the template's functions, chosen by `FUNCTION_MODE` (set by the
//! template, never by an event). It reads its configuration once ([`FunctionConfig`]), wires the
//! AWS adapters into that mode's handler and serves it.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use cloudformation_custom_resource::Driver;
use cloudformation_lambda_hook::PayloadFetcher;
use remote_exports_app::{Audit, ChangeCheck, ExportGuard, GuardScope, Refresher, RemoteExports};
use remote_exports_aws::{
    CloudFormationStacks, DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents, HttpResponseTransport,
    PublisherAccounts, SnapshotReader, SsmConsumerPolicy, guard_registry, load_sdk_config,
};
use remote_exports_lambda::metrics::RequestMeter;
use remote_exports_lambda::{
    AuditHandler, ChangeHandler, CustomResourceHandler, FunctionConfig, GuardHandler, Handler, Mode, RefreshHandler,
    serve, stdout_metrics,
};

type Error = lambda_runtime::Error;

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    remote_exports_lambda::init_logging();
    let function = FunctionConfig::from_env();
    function.log();
    let config = load_sdk_config(function.tls_roots).await?;
    match function.mode {
        Mode::Guard => serve(guard(function, &config)?).await,
        Mode::Audit => serve(audit(function, &config)).await,
        Mode::ChangeCheck => serve(change_check(function, &config)).await,
        Mode::Refresher => serve(refresher(function, &config)?).await,
        Mode::CustomResource => serve(custom_resource(function, &config)?).await,
    }
}

/// `ExportGuardFunction`: its own stacks with its own credentials; the registry through the
/// central role, as itself.
fn guard(
    function: FunctionConfig,
    config: &SdkConfig,
) -> Result<GuardHandler<CloudFormationStacks, DynamoDbRegistry>, Error> {
    let guard = function.guard_setup().map(|setup| {
        let registry = guard_registry(config, &setup.reads_table, setup.registry_role.as_deref(), &setup.account);
        let scope = GuardScope { account: setup.account, region: setup.region };
        ExportGuard::new(CloudFormationStacks::new(config), registry, scope)
    });
    let builder = function.tls_roots.reqwest_builder()?.connect_timeout(Duration::from_secs(5));
    let fetcher = PayloadFetcher::from_builder(builder)?;
    let loopback = function.settings.url_policy.allows_loopback();
    Ok(GuardHandler::new(guard, fetcher, loopback, function.metrics, stdout_metrics()))
}

/// `AuditFunction`: every publisher read directly, never through the shared snapshot.
fn audit(
    function: FunctionConfig,
    config: &SdkConfig,
) -> AuditHandler<PublisherAccounts, DynamoDbRegistry, EventBridgeEvents> {
    let settings = function.settings;
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(config, table));
    let governance = settings.governed.clone().map(|governed| governed.governance);
    let audit = Audit::new(PublisherAccounts::new(config.clone()), registry, governance);
    let events = EventBridgeEvents::new(config, &settings.audit_event_bus);
    AuditHandler::new(audit, events, function.metrics, stdout_metrics())
}

/// `ChangeCheckFunction`: the readers of a changed source, read directly, alerted on the audit's bus.
fn change_check(
    function: FunctionConfig,
    config: &SdkConfig,
) -> ChangeHandler<PublisherAccounts, DynamoDbRegistry, EventBridgeEvents> {
    let settings = function.settings;
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(config, table));
    let governance = settings.governed.clone().map(|governed| governed.governance);
    let check = ChangeCheck::new(PublisherAccounts::new(config.clone()), registry, governance)
        .with_window(function.change_check_window);
    let events = EventBridgeEvents::new(config, &settings.audit_event_bus);
    ChangeHandler::new(check, events, function.metrics, stdout_metrics())
}

/// `RefresherFunction`: this account's own stacks, with its own credentials.
fn refresher(function: FunctionConfig, config: &SdkConfig) -> Result<RefreshHandler<CloudFormationStacks>, Error> {
    let (central, own) = function.refresher_setup()?;
    let refresher = Refresher::new(CloudFormationStacks::new(config));
    Ok(RefreshHandler::new(refresher, central, own, function.metrics, stdout_metrics()))
}

/// `RemoteExportsFunction`: reads through the shared snapshot when there is one.
fn custom_resource(function: FunctionConfig, config: &SdkConfig) -> Result<impl Handler + use<>, Error> {
    let settings = function.settings;
    let meter = Arc::new(RequestMeter::default());
    // Without READS_TABLE the registry is absent, not disabled: no client, no call, no cost.
    let registry = settings.reads_table.as_deref().map(|table| DynamoDbRegistry::new(config, table));
    // Without SNAPSHOT_TABLE every read is direct: no table, no call.
    let snapshots = settings.snapshot.as_ref().map(|s| DynamoDbSnapshots::new(config, &s.table));
    let ttl = settings.snapshot.as_ref().map_or(Duration::ZERO, |s| s.ttl);
    let direct = PublisherAccounts::new(config.clone());
    let exports = SnapshotReader::new(direct, snapshots, ttl).with_meter(meter.clone());
    let url_policy = settings.url_policy.clone();
    let resource = RemoteExports::new(settings, exports, SsmConsumerPolicy::new(config)).with_meter(meter.clone());
    let driver = Driver::new(resource.with_registry(registry), HttpResponseTransport::new(function.tls_roots)?);
    Ok(CustomResourceHandler::new(driver.with_url_policy(url_policy), meter, function.metrics, stdout_metrics()))
}
