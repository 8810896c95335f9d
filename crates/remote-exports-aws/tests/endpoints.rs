//! Which endpoint each adapter's SDK client resolves from the process's configuration, with no
//! endpoint override: `AWS_USE_FIPS_ENDPOINT` and `AWS_USE_DUALSTACK_ENDPOINT` reach every call, in
//! every partition, because every call goes through an SDK client built from the one `SdkConfig`.

use std::future::Future;
use std::ops::ControlFlow;

use aws_config::SdkConfig;
use aws_smithy_http_client::test_util::capture_request;
use aws_types::os_shim_internal::{Env, Fs};
use remote_exports_aws::{
    DynamoDbRegistry, DynamoDbSnapshots, EventBridgeEvents, PublisherAccounts, SsmConsumerPolicy, TrustRoots,
    sdk_config_loader,
};
use remote_exports_core::{
    AuditEvents, ConsumerPolicyStore, PublishedExports, PublisherRef, ReadRecord, ReadRegistry, RoleArn, SnapshotStore,
    Source, StaleRead, Staleness,
};

/// The host of the first request `call` makes, with the function's loader and only these variables.
async fn host_of<F, Fut>(variables: &[(&str, &str)], call: F) -> String
where
    F: FnOnce(SdkConfig) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut env = vec![("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")];
    env.extend_from_slice(variables);
    let (http_client, request) = capture_request(None);
    let config = sdk_config_loader(TrustRoots::AmazonTrustServices)
        .unwrap()
        .env(Env::from_slice(&env))
        .fs(Fs::from_slice(&[]))
        .http_client(http_client)
        .load()
        .await;
    assert!(config.endpoint_url().is_none(), "an endpoint override would hide the resolver");
    call(config).await;
    request.expect_request().uri().parse::<http::Uri>().unwrap().host().unwrap().to_owned()
}

fn source(region: &str, role: Option<&str>) -> Source {
    Source {
        role: role.map(|r| RoleArn::parse(r).unwrap()),
        external_id: None,
        region: region.into(),
        session_name: "endpoints".into(),
        consumer: None,
        not_before_ms: None,
    }
}

fn record() -> ReadRecord {
    ReadRecord {
        stack_id: "arn:aws:cloudformation:us-east-1:111111111111:stack/s/g".into(),
        logical_resource_id: "L".into(),
        consumer_account: "111111111111".into(),
        stack_name: "s".into(),
        source: PublisherRef { account: "2".into(), region: "us-east-1".into(), role_arn: None },
        exports: Vec::new(),
        read_at: "2026-11-28T00:00:00Z".into(),
        request_type: "Create".into(),
        no_echo: false,
        fingerprint_scheme: "s".into(),
        physical_resource_id: None,
        alerted: Default::default(),
    }
}

fn stale() -> StaleRead {
    let record = record();
    StaleRead {
        stack_id: record.stack_id,
        logical_resource_id: record.logical_resource_id,
        consumer_account: record.consumer_account,
        stack_name: record.stack_name,
        key: "k".into(),
        export: "e".into(),
        source: record.source,
        read_at: record.read_at,
        state: Staleness::Removed,
        alert: "removed".into(),
        already_alerted: false,
        parameter: false,
    }
}

/// The host every adapter's first request goes to, by service, in `region` with `variables`.
async fn hosts(region: &str, variables: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut variables = variables.to_vec();
    variables.push(("AWS_REGION", region));
    let variables = &variables;
    let role = "arn:aws:iam::222222222222:role/reader";
    let keep_reading = |_| ControlFlow::Continue(());
    vec![
        (
            "sts",
            host_of(variables, |config| async move {
                let exports = PublisherAccounts::with_max_attempts(config, 1);
                let _ = exports.scan_exports(&source(region, Some(role)), &mut keep_reading.clone()).await;
            })
            .await,
        ),
        (
            "cloudformation",
            host_of(variables, |config| async move {
                let exports = PublisherAccounts::with_max_attempts(config, 1);
                let _ = exports.scan_exports(&source(region, None), &mut keep_reading.clone()).await;
            })
            .await,
        ),
        (
            "ssm",
            host_of(variables, |config| async move {
                let _ = SsmConsumerPolicy::new(&config).get("/policy").await;
            })
            .await,
        ),
        (
            "dynamodb (registry)",
            host_of(variables, |config| async move {
                let _ = DynamoDbRegistry::new(&config, "reads").record(&record()).await;
            })
            .await,
        ),
        (
            "dynamodb (snapshot)",
            host_of(variables, |config| async move {
                let _ = DynamoDbSnapshots::new(&config, "cache").meta("k").await;
            })
            .await,
        ),
        (
            "events",
            host_of(variables, |config| async move {
                let _ = EventBridgeEvents::new(&config, "default").publish(&[stale()]).await;
            })
            .await,
        ),
    ]
}

fn expected(pattern: &str, region: &str, suffix: &str) -> Vec<(&'static str, String)> {
    let host = |service: &str| pattern.replace("{service}", service).replace("{region}", region) + suffix;
    vec![
        ("sts", host("sts")),
        ("cloudformation", host("cloudformation")),
        ("ssm", host("ssm")),
        ("dynamodb (registry)", host("dynamodb")),
        ("dynamodb (snapshot)", host("dynamodb")),
        ("events", host("events")),
    ]
}

#[tokio::test]
async fn without_settings_every_client_uses_the_regional_endpoint() {
    assert_eq!(hosts("eu-west-1", &[]).await, expected("{service}.{region}.", "eu-west-1", "amazonaws.com"));
}

#[tokio::test]
async fn fips_reaches_every_client() {
    let fips = [("AWS_USE_FIPS_ENDPOINT", "true")];
    let found = hosts("us-east-1", &fips).await;
    println!("AWS_USE_FIPS_ENDPOINT=true, us-east-1: {found:#?}");
    assert_eq!(found, expected("{service}-fips.{region}.", "us-east-1", "amazonaws.com"));
}

#[tokio::test]
async fn dual_stack_reaches_every_client() {
    let dual_stack = [("AWS_USE_DUALSTACK_ENDPOINT", "true")];
    let found = hosts("eu-west-1", &dual_stack).await;
    println!("AWS_USE_DUALSTACK_ENDPOINT=true, eu-west-1: {found:#?}");
    assert_eq!(found, expected("{service}.{region}.", "eu-west-1", "api.aws"));
}

#[tokio::test]
async fn every_client_follows_the_partition_of_the_region() {
    assert_eq!(hosts("eusc-de-east-1", &[]).await, expected("{service}.{region}.", "eusc-de-east-1", "amazonaws.eu"));
    let fips = [("AWS_USE_FIPS_ENDPOINT", "true")];
    assert_eq!(
        hosts("cn-north-1", &fips).await,
        expected("{service}-fips.{region}.", "cn-north-1", "amazonaws.com.cn")
    );
}
