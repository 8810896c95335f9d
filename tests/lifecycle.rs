//! Create, Update and Delete across accounts, as CloudFormation drives them.

use remote_exports_e2e::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn create_reads_the_publisher_account_not_the_decoy() {
    let world = World::start("create_reads_the_publisher_account_not_the_decoy", &[]).await;
    let account = publisher_account("create_reads_the_publisher_account_not_the_decoy");
    let name = format!("booking-{account}-BookingTopicArn");
    world.publish(&account, REGION, "booking", &[pair(&name, "arn:aws:sns:eu-west-1:publisher:BookingTopic")]).await;
    world.publish(CONSUMER_ACCOUNT, REGION, &format!("decoy-{account}"), &[pair(&name, "arn:decoy")]).await;

    let event = world.event("Create", "create", json!({"RoleArn": role_arn(&account), "ExportNames": [name]}));
    let (invocation, put) = world.send(&event).await;
    let answer = put.json();

    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"][&name], "arn:aws:sns:eu-west-1:publisher:BookingTopic");
    assert_eq!(answer["PhysicalResourceId"], format!("remote-exports:{account}:{REGION}"));
    assert_eq!(answer["StackId"], event["StackId"]);
    assert_eq!(answer["RequestId"], event["RequestId"]);
    assert_eq!(answer["LogicalResourceId"], "Lookup");
    assert_eq!(answer["NoEcho"], false);
    assert_eq!(put.content_type.as_deref(), Some(""), "S3 presigned PUTs need an empty Content-Type");
    assert_eq!(put.content_length, Some(put.body.len()));
    assert!(put.query.contains(ResponseEndpoint::signature()), "the PUT must carry the presigned query: {}", put.query);
    assert!(matches!(invocation.outcome, Outcome::Response(_)), "{:?}", invocation.outcome);
    assert_eq!(world.proxy.count("AssumeRole"), 1);
    assert_eq!(world.proxy.count("ListExports"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn update_rereads_values_and_keeps_its_id_while_the_source_is_the_same() {
    let test = "update_rereads_values_and_keeps_its_id_while_the_source_is_the_same";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let other_account = publisher_account(&format!("{test}-other"));
    let name = format!("svc-{account}-Url");
    let publisher = world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    world.publish(&other_account, REGION, "svc", &[pair(&name, "https://other")]).await;

    let create = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(create["Data"][&name], "https://v1");
    let id = create["PhysicalResourceId"].as_str().unwrap().to_owned();

    // The publisher redeploys with a new value; a Refresh change makes CloudFormation send an Update.
    publisher.delete_stack("svc-0").await.unwrap();
    world.publish(&account, REGION, "svc-v2", &[pair(&name, "https://v2")]).await;
    let mut update = world.event("Update", "update", json!({"RoleArn": role_arn(&account), "Refresh": "2"}));
    update["PhysicalResourceId"] = json!(id);
    let updated = world.answer(&update).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["Data"][&name], "https://v2");
    assert_eq!(updated["PhysicalResourceId"], id, "same source, same ID: no replacement");

    // A different account is a different source: a new ID, so CloudFormation replaces the resource.
    let mut moved = world.event("Update", "moved", json!({"RoleArn": role_arn(&other_account)}));
    moved["PhysicalResourceId"] = json!(id);
    let moved = world.answer(&moved).await;
    assert_eq!(moved["Data"][&name], "https://other");
    assert_eq!(moved["PhysicalResourceId"], format!("remote-exports:{other_account}:{REGION}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn delete_always_succeeds_without_calling_aws() {
    let world = World::start("delete_always_succeeds_without_calling_aws", &[("DEFAULT_ROLE_ARN", "garbage")]).await;
    let mut delete =
        world.event("Delete", "delete", json!({"RoleArn": "not-a-role", "ExportNames": 7, "Nonsense": true}));
    delete["PhysicalResourceId"] = json!("remote-exports:222222222222:eu-west-1");
    let answer = world.answer(&delete).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    assert!(world.proxy.calls().is_empty(), "Delete called AWS: {:?}", world.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_failed_create_is_followed_by_a_delete_that_succeeds() {
    let test = "a_failed_create_is_followed_by_a_delete_that_succeeds";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "svc", &[pair(&format!("svc-{account}-A"), "a")]).await;

    let failed = world
        .answer(&world.event(
            "Create",
            "create",
            json!({"RoleArn": role_arn(&account), "ExportNames": ["does-not-exist"]}),
        ))
        .await;
    assert_eq!(failed["Status"], "FAILED");
    let id = failed["PhysicalResourceId"].as_str().unwrap();
    assert!(!id.is_empty() && id.len() <= 1024);

    let mut rollback =
        world.event("Delete", "rollback", json!({"RoleArn": role_arn(&account), "ExportNames": ["does-not-exist"]}));
    rollback["PhysicalResourceId"] = json!(id);
    let deleted = world.answer(&rollback).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(deleted["PhysicalResourceId"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn pagination_reads_past_100_and_stops_at_the_last_requested_name() {
    let test = "pagination_reads_past_100_and_stops_at_the_last_requested_name";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let prefix = format!("p{account}-Export");
    let publisher = world.publish(&account, REGION, "many", &numbered(&prefix, 350)).await;
    // moto pages by 100; where a name lands depends on its listing order, so ask moto.
    let order = publisher.export_names().await.unwrap();
    assert_eq!(order.len(), 350);
    let pages_to_reach = |name: &str| order.iter().position(|n| n == name).unwrap() as u32 / 100 + 1;

    let (early, late) = (order[3].clone(), order[150].clone());
    let answer = world
        .answer(&world.event("Create", "names", json!({"RoleArn": role_arn(&account), "ExportNames": [early, late]})))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"].as_object().unwrap().len(), 2);
    assert_eq!(world.proxy.count("ListExports"), 2, "stopped on the second page, which holds the last name");

    world.proxy.reset();
    let last = order[349].clone();
    let answer = world
        .answer(&world.event("Create", "last", json!({"RoleArn": role_arn(&account), "ExportNames": [last]})))
        .await;
    let expected_value = format!("value-{}", last.trim_start_matches(&prefix));
    assert_eq!(answer["Data"][&last], expected_value);
    assert_eq!(world.proxy.count("ListExports"), pages_to_reach(&last));
    assert_eq!(world.proxy.count("ListExports"), 4);
    assert_eq!(world.proxy.count("AssumeRole"), 0, "credentials were cached from the first request");

    world.proxy.reset();
    let prefixed = world
        .answer(&world.event(
            "Create",
            "prefix",
            json!({"RoleArn": role_arn(&account), "ExportPrefix": format!("{prefix}34")}),
        ))
        .await;
    assert_eq!(prefixed["Data"].as_object().unwrap().len(), 11, "{prefixed}");
    assert_eq!(world.proxy.count("ListExports"), 4, "a prefix reads every page");
}
