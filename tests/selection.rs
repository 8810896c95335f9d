//! Every selection mode, the sources (role, default role, own account, other region) and governance.

use remote_exports_e2e::*;
use serde_json::{Value, json};

fn keys(answer: &Value) -> Vec<String> {
    answer["Data"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn every_selection_mode_over_more_than_one_page() {
    let test = "every_selection_mode_over_more_than_one_page";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let mut exports = numbered("bulk-", 120);
    exports.push(pair("booking-lambda-BookingTopicArn", "arn:topic"));
    exports.push(pair("booking-lambda-BookingQueueUrl", "https://queue"));
    exports.push(pair("shared:vpc:id", "vpc-123"));
    world.publish(&account, REGION, "all", &exports).await;
    let role = role_arn(&account);

    let prefixed =
        world.answer(&world.event("Create", "prefixed", json!({"RoleArn": role, "ExportPrefix": "booking-"}))).await;
    assert_eq!(keys(&prefixed), ["booking-lambda-BookingQueueUrl", "booking-lambda-BookingTopicArn"]);

    let named = world
        .answer(&world.event("Create", "named", json!({"RoleArn": role, "ExportNames": ["shared:vpc:id", "bulk-7"]})))
        .await;
    assert_eq!(named["Data"], json!({"bulk-7": "value-7", "shared:vpc:id": "vpc-123"}));

    let aliased = world
        .answer(&world.event(
            "Create",
            "aliased",
            json!({"RoleArn": role, "Exports": {"VpcId": "shared:vpc:id", "Topic": "booking-lambda-BookingTopicArn"}}),
        ))
        .await;
    assert_eq!(aliased["Data"], json!({"Topic": "arn:topic", "VpcId": "vpc-123"}));

    let combined = world
        .answer(&world.event(
            "Create",
            "combined",
            json!({"RoleArn": role, "ExportPrefix": "booking-lambda-BookingT", "ExportNames": "bulk-1,bulk-2", "Exports": {"Vpc": "shared:vpc:id"}}),
        ))
        .await;
    assert_eq!(keys(&combined), ["Vpc", "booking-lambda-BookingTopicArn", "bulk-1", "bulk-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn no_selection_returns_every_export() {
    let test = "no_selection_returns_every_export";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "few", &numbered("few-", 12)).await;
    let answer = world.answer(&world.event("Create", "all", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"].as_object().unwrap().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn region_property_reads_another_region() {
    let test = "region_property_reads_another_region";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let name = format!("r{account}-Endpoint");
    world.publish(&account, "us-east-1", "east", &[pair(&name, "in-us-east-1")]).await;
    world.publish(&account, REGION, "west", &[pair(&name, "in-eu-west-1")]).await;

    let east = world
        .answer(&world.event(
            "Create",
            "east",
            json!({"RoleArn": role_arn(&account), "Region": "us-east-1", "ExportNames": [name]}),
        ))
        .await;
    assert_eq!(east["Data"][&name], "in-us-east-1");
    assert_eq!(east["PhysicalResourceId"], format!("remote-exports:{account}:us-east-1"));
    let west = world
        .answer(&world.event("Create", "west", json!({"RoleArn": role_arn(&account), "ExportNames": [name]})))
        .await;
    assert_eq!(west["Data"][&name], "in-eu-west-1", "the stack's region is the default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_default_role_applies_and_no_role_reads_the_own_account() {
    let test = "the_default_role_applies_and_no_role_reads_the_own_account";
    let account = publisher_account(test);
    let default_role = role_arn(&account);
    let world = World::start(test, &[("DEFAULT_ROLE_ARN", &default_role)]).await;
    let name = format!("d{account}-Value");
    world.publish(&account, REGION, "pub", &[pair(&name, "from-publisher")]).await;
    let answer = world.answer(&world.event("Create", "default", json!({"ExportNames": [name]}))).await;
    assert_eq!(answer["Data"][&name], "from-publisher");
    assert_eq!(world.proxy.count("AssumeRole"), 1);

    // Without DEFAULT_ROLE_ARN and RoleArn, the function reads its own account with its own credentials.
    let own = World::start(&format!("{test}-own"), &[]).await;
    own.publish(CONSUMER_ACCOUNT, "ap-south-1", &format!("own-{account}"), &[pair(&name, "from-own-account")]).await;
    let answer = own.answer(&own.event("Create", "own", json!({"Region": "ap-south-1", "ExportNames": [name]}))).await;
    assert_eq!(answer["Data"][&name], "from-own-account", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "remote-exports:self:ap-south-1");
    assert_eq!(own.proxy.count("AssumeRole"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn no_echo_is_set_and_values_stay_out_of_the_logs() {
    let test = "no_echo_is_set_and_values_stay_out_of_the_logs";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "secret", &[pair("db-Password", "correct-horse-battery-staple")]).await;
    let answer = world
        .answer(&world.event(
            "Create",
            "secret",
            json!({"RoleArn": role_arn(&account), "ExportNames": ["db-Password"], "NoEcho": "true"}),
        ))
        .await;
    assert_eq!(answer["NoEcho"], true);
    assert_eq!(answer["Data"]["db-Password"], "correct-horse-battery-staple");
    let logs = world.function.stop().await;
    // Positive control: the log holds this request's answered line, so it was read in full.
    assert!(logs.lines().any(|l| l.contains("answered") && l.contains("secret")), "log incomplete:\n{logs}");
    assert!(!logs.contains("correct-horse-battery-staple"), "a NoEcho value was logged:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn governance_refuses_roles_and_hides_exports() {
    let test = "governance_refuses_roles_and_hides_exports";
    let account = publisher_account(test);
    let allowed_roles = format!("arn:aws:iam::{account}:role/remote-exports-*");
    let env = [("ALLOWED_ROLE_ARNS", allowed_roles.as_str()), ("ALLOWED_EXPORTS", "public-*")];
    let world = World::start(test, &env).await;
    world
        .publish(&account, REGION, "gov", &[pair("public-Url", "https://public"), pair("private-Key", "hidden")])
        .await;

    let refused = world
        .answer(&world.event("Create", "refused", json!({"RoleArn": format!("arn:aws:iam::{account}:role/admin")})))
        .await;
    assert_eq!(refused["Status"], "FAILED");
    let reason = refused["Reason"].as_str().unwrap();
    assert!(reason.contains("is not allowed by the function's ALLOWED_ROLE_ARNS"), "{refused}");
    assert!(!reason.contains("remote-exports-*"), "the Reason revealed the allow-list: {reason}");
    assert_eq!(world.proxy.count("AssumeRole"), 0, "a refused role was assumed");

    let everything = world.answer(&world.event("Create", "everything", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(everything["Data"], json!({"public-Url": "https://public"}));

    let asked = world
        .answer(&world.event("Create", "asked", json!({"RoleArn": role_arn(&account), "ExportNames": ["private-Key"]})))
        .await;
    assert_eq!(asked["Status"], "FAILED");
    assert!(asked["Reason"].as_str().unwrap().contains("'private-Key' are not allowed"), "{asked}");
}
