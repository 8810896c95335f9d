//! Stacks outside the commercial partition: the European Sovereign Cloud is answered like any other,
//! and a partition this version does not know is refused by name, before any AWS call.

use remote_exports_e2e::*;
use serde_json::json;

const EUSC: &str = "eusc-de-east-1";
const EUSC_STACK: &str =
    "arn:aws-eusc:cloudformation:eusc-de-east-1:123456789012:stack/airmiles/6f1c9a70-c7b1-11f0-8d2e-0a1b2c3d4e5f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_stack_in_the_european_sovereign_cloud_is_answered() {
    let test = "a_stack_in_the_european_sovereign_cloud_is_answered";
    let world = World::start_in(test, EUSC, &[]).await;
    let account = publisher_account(test);
    let export = format!("booking{account}-TopicArn");
    let topic = format!("arn:aws-eusc:sns:{EUSC}:{account}:BookingTopic");
    world.publish(&account, EUSC, "booking", &[pair(&export, &topic)]).await;

    let properties =
        json!({"RoleArn": format!("arn:aws-eusc:iam::{account}:role/remote-exports-reader"), "ExportNames": [export]});
    let mut event = world.event_for(EUSC_STACK, "Create", "eusc-create", properties);
    // The URL written out as CloudFormation shapes it (bucket per region, key `:` → %3A, `|` → %7C),
    // not built by the crate under test; only the host is this test's loopback endpoint.
    let port = world.responses.local_addr().port();
    event["ResponseURL"] = json!(format!(
        "http://127.0.0.1:{port}/cloudformation-custom-resource-response-euscdeeast1/\
         arn%3Aaws-eusc%3Acloudformation%3Aeusc-de-east-1%3A123456789012%3Astack/airmiles/\
         6f1c9a70-c7b1-11f0-8d2e-0a1b2c3d4e5f%7CLookup%7Ceusc-create?X-Amz-Algorithm=AWS4-HMAC-SHA256&{}",
        ResponseEndpoint::signature()
    ));
    let answer = world.answer(&event).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}\n{}", world.function.logs());
    assert_eq!(answer["Data"][&export], topic);
    assert_eq!(answer["PhysicalResourceId"], format!("remote-exports:{account}:{EUSC}"));
    assert_eq!(world.responses.puts("eusc-create")[0].bucket, "cloudformation-custom-resource-response-euscdeeast1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn an_unknown_partition_is_refused_by_name_before_any_call() {
    let test = "an_unknown_partition_is_refused_by_name_before_any_call";
    let world = World::start(test, &[]).await;
    let stack = "arn:aws-xx:cloudformation:xx-east-1:123456789012:stack/airmiles/guid";
    let event = world.event_for(stack, "Create", "unknown-partition", json!({}));
    let invocation = world.runtime.invoke(&event, TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.ResponseUrlRefused", "{error}");
    assert!(world.responses.puts("unknown-partition").is_empty(), "nothing may be sent");
    assert!(world.proxy.calls().is_empty(), "no AWS call for a refused request");
    let logs = world.function.stop().await;
    let line = logs.lines().find(|l| l.contains("ResponseURL refused")).unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains("ERROR") && line.contains("'aws-xx'") && line.contains("upgrade the function"), "{line}");
}
