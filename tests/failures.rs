//! Each kind of failure gets one FAILED answer whose Reason says what to do.

use remote_exports_e2e::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn missing_names_are_all_named_with_suggestions() {
    let test = "missing_names_are_all_named_with_suggestions";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world
        .publish(
            &account,
            REGION,
            "booking",
            &[pair("booking-lambda-BookingTopicArn", "arn"), pair("booking-lambda-BookingQueueUrl", "url")],
        )
        .await;
    let answer = world
        .answer(&world.event(
            "Create",
            "missing",
            json!({"RoleArn": role_arn(&account), "ExportNames": ["booking-lambda-BookingTopicARN", "vpc-Id", "booking-lambda-BookingQueueUrl"]}),
        ))
        .await;
    assert_eq!(
        reason(&answer),
        format!(
            "2 requested export(s) not found in account {account} in {REGION} (through {}): \
             'booking-lambda-BookingTopicARN' (did you mean 'booking-lambda-BookingTopicArn'?), 'vpc-Id'. \
             2 export(s) were visible there. Check the names and the Region/RoleArn, or that the publisher stack \
             has been deployed; a value that may be missing for a while can have a Defaults entry.",
            role_arn(&account)
        )
    );
    assert!(answer.get("Data").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_selection_over_4096_bytes_fails_and_says_how_to_narrow_it() {
    let test = "a_selection_over_4096_bytes_fails_and_says_how_to_narrow_it";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let arns: Vec<(String, String)> = (0..60)
        .map(|i| {
            (format!("big-Topic{i}"), format!("arn:aws:sns:eu-west-1:{account}:a-rather-long-topic-name-number-{i}"))
        })
        .collect();
    world.publish(&account, REGION, "big", &arns).await;
    let (_, put) = world.send(&world.event("Create", "big", json!({"RoleArn": role_arn(&account)}))).await;
    let answer = put.json();
    let text = reason(&answer);
    assert!(text.starts_with("The 60 selected export(s) make a "), "{text}");
    assert!(text.contains("over CloudFormation's 4096-byte limit"), "{text}");
    assert!(put.body.len() <= 4096);

    // Parameters too large: the Reason speaks of parameters and of Parameters, nothing it does not read.
    let publisher = Publisher::connect(&world.moto, &account, REGION).await.unwrap();
    let names: Vec<String> = (0..3).map(|i| format!("/big/{account}/list-{i}")).collect();
    for name in &names {
        publisher.put_parameter(name, "StringList", &"subnet-0123456789abcdef0,".repeat(60)).await.unwrap();
    }
    let properties = json!({"RoleArn": role_arn(&account), "Parameters": names});
    let (_, put) = world.send(&world.event("Create", "big-parameters", properties)).await;
    let answer = put.json();
    let text = reason(&answer);
    assert!(text.starts_with("The 3 selected SSM parameter(s) make a "), "{text}");
    assert!(text.contains("Read fewer Parameters"), "{text}");
    for other in ["ExportNames", "ExportPrefix", "StackOutputs"] {
        assert!(!text.contains(other), "{other} in: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn invalid_properties_fail_before_any_call() {
    let world = World::start("invalid_properties_fail_before_any_call", &[]).await;
    let cases = [
        (
            json!({"RoleArn": "arn:aws:iam::123:role/x"}),
            "Invalid properties: RoleArn 'arn:aws:iam::123:role/x' is not an IAM role ARN",
        ),
        (json!({"ExportName": ["x"]}), "unknown property 'ExportName' (did you mean ExportNames?)"),
        (json!({"Region": "mars-1"}), "Region 'mars-1' is not an AWS region name"),
        (json!({"NoEcho": "maybe"}), "NoEcho must be \"true\" or \"false\""),
        (json!({"ExportNames": ["bad name"]}), "'bad name', which is not a valid export name"),
    ];
    for (i, (properties, expected)) in cases.into_iter().enumerate() {
        let answer = world.answer(&world.event("Create", &format!("invalid-{i}"), properties)).await;
        assert!(reason(&answer).contains(expected), "{answer}");
        assert_eq!(answer["PhysicalResourceId"], "remote-exports:failed:Lookup");
    }
    assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn aws_errors_become_reasons_that_say_what_to_fix() {
    let test = "aws_errors_become_reasons_that_say_what_to_fix";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);

    let message = format!(
        "User: arn:aws:sts::{CONSUMER_ACCOUNT}:assumed-role/remote-exports/remote-exports is not authorized to perform: \
         sts:AssumeRole on resource: {}",
        role_arn(&account)
    );
    world.proxy.fail("AssumeRole", AwsError::sts(403, "AccessDenied", &message));
    let denied = world.answer(&world.event("Create", "assume-denied", json!({"RoleArn": role_arn(&account)}))).await;
    let text = reason(&denied);
    assert!(text.starts_with(&format!("Could not read exports from account {account} in {REGION}")), "{text}");
    assert!(text.contains("AssumeRole was denied (AccessDenied: User: arn:aws:sts::"), "{text}");
    assert!(text.contains("trust policy"), "{text}");

    world.proxy.heal();
    let other = publisher_account(&format!("{test}-list"));
    let message = format!(
        "User: arn:aws:sts::{other}:assumed-role/remote-exports-reader/airmiles-Lookup is not authorized to perform: \
         cloudformation:ListExports because no identity-based policy allows the cloudformation:ListExports action"
    );
    world.proxy.fail("ListExports", AwsError::cloudformation(403, "AccessDenied", &message));
    let denied = world.answer(&world.event("Create", "list-denied", json!({"RoleArn": role_arn(&other)}))).await;
    let text = reason(&denied);
    assert!(text.contains("ListExports was denied (AccessDenied"), "{text}");
    assert!(text.contains("The role needs cloudformation:ListExports"), "{text}");
}

/// Throttling is waited out until the work deadline; only then is it the Reason, with the attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn throttling_is_waited_out_and_reported_only_at_the_deadline() {
    let test = "throttling_is_waited_out_and_reported_only_at_the_deadline";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Url");
    world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;

    // Throttled for 3 s of a 20 s budget: more attempts than any fixed retry count would allow, then SUCCESS.
    world.proxy.fail("ListExports", AwsError::cloudformation_throttling());
    let event = world.event("Create", "waited-out", json!({"RoleArn": role_arn(&account), "ExportNames": [name]}));
    let invocation = world.runtime.invoke(&event, std::time::Duration::from_secs(20));
    let heal = async {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        world.proxy.heal();
    };
    let (invocation, ()) = tokio::join!(invocation, heal);
    invocation.unwrap();
    let answer = world.responses.delivered("waited-out", std::time::Duration::from_secs(5)).await.unwrap().json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"][&name], "https://v1");
    assert!(world.proxy.count("ListExports") >= 3, "{:?}", world.proxy.calls());

    // Throttled for good: the function keeps trying until its work deadline, then says so.
    world.proxy.fail("ListExports", AwsError::cloudformation_throttling());
    world.proxy.reset();
    let event = world.event("Create", "throttled", json!({"RoleArn": role_arn(&account), "ExportNames": [name]}));
    world.runtime.invoke(&event, std::time::Duration::from_secs(6)).await.unwrap();
    let answer = world.responses.delivered("throttled", std::time::Duration::from_secs(5)).await.unwrap().json();
    let text = reason(&answer);
    assert!(
        text.starts_with(&format!(
            "Reads (ListExports, DescribeStacks, GetParameters) from account {account} in {REGION}"
        )),
        "{text}"
    );
    assert!(text.contains("were throttled: ") && text.contains("SNAPSHOT_TABLE"), "{text}");
    let counted: Vec<u32> =
        text.split("throttled: ").nth(1).unwrap().split(' ').filter_map(|word| word.parse().ok()).take(2).collect();
    let on_the_wire = world.proxy.count("ListExports");
    assert_eq!(counted[0], counted[1], "every attempt was throttled: {text}");
    // An attempt in flight when the deadline came reached the proxy but was never answered.
    assert!(on_the_wire - counted[0] <= 1 && counted[0] >= 5, "{on_the_wire} on the wire: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_misconfigured_function_fails_creates_but_not_deletes() {
    let test = "a_misconfigured_function_fails_creates_but_not_deletes";
    let world = World::start(test, &[("DEFAULT_ROLE_ARN", "reader")]).await;
    let create = world.answer(&world.event("Create", "create", json!({}))).await;
    assert!(
        reason(&create)
            .contains("The remote-exports function is misconfigured: the function's DEFAULT_ROLE_ARN is invalid"),
        "{create}"
    );
    let delete = world.answer(&world.event("Delete", "delete", json!({}))).await;
    assert_eq!(delete["Status"], "SUCCESS");
}
