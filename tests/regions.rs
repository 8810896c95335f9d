//! One Organization, stacks in several regions: a function per region (CloudFormation invokes only a
//! ServiceToken in the stack's own region), one read registry in the home region that every region's
//! function reaches by ARN, `readers` and `stale` answering for every region from one command, and
//! one audit that alerts once per stale read.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

const HOME: &str = "eu-west-1";
const OTHER: &str = "us-east-1";

fn stack_in(region: &str) -> String {
    format!("arn:aws:cloudformation:{region}:{CONSUMER_ACCOUNT}:stack/airmiles/6f1c9a70-c7b1-11f0-8d2e-0a1b2c3d4e5f")
}

fn json_lines(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn two_regions_record_into_one_registry_and_are_audited_once() {
    let test = "two_regions_record_into_one_registry_and_are_audited_once";
    let moto = moto_endpoint(test);
    let name = format!("reads-{}", publisher_account(test));
    let table = ReadsTable::create(&moto, HOME, &name).await.unwrap();
    let arn = format!("arn:aws:dynamodb:{HOME}:{CONSUMER_ACCOUNT}:table/{name}");
    let inbox = AuditInbox::create(&moto, HOME, &name, &publisher_account(test)).await.unwrap();
    // Each region's deployment with ReadsTableArn, as template.yaml passes it on.
    let home = World::start_in(test, HOME, &[("READS_TABLE", &arn)]).await;
    let other = World::start_in(&format!("{test}-{OTHER}"), OTHER, &[("READS_TABLE", &arn)]).await;

    let account = publisher_account(test);
    let topic = format!("booking-{account}-BookingTopicArn");
    let publisher = home.publish(&account, HOME, "booking", &[pair(&topic, "arn:v1")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "Region": HOME, "ExportNames": [topic]});
    for (world, region) in [(&home, HOME), (&other, OTHER)] {
        let event = world.event_for(&stack_in(region), "Create", &format!("create-{region}"), properties.clone());
        let answer = world.answer(&event).await;
        assert_eq!(answer["Status"], "SUCCESS", "{answer}\n{}", world.function.logs());
        assert_eq!(world.proxy.count("PutItem"), 1, "{region}: {:?}", world.proxy.calls());
    }
    let mut regions: Vec<String> = table
        .items()
        .await
        .unwrap()
        .iter()
        .map(|item| item["StackId"]["S"].as_str().unwrap().split(':').nth(3).unwrap().to_owned())
        .collect();
    regions.sort();
    assert_eq!(regions, [HOME, OTHER], "one table holds the reads of both regions");

    // One command, from a third region's shell, answers for every region.
    let far = [("AWS_REGION", "ap-southeast-2")];
    let readers = cli(&home.proxy.url(), &["readers", "--export", &topic, "--table", &arn, "--output", "json"], &far);
    let mut stacks: Vec<String> =
        json_lines(&readers).as_array().unwrap().iter().map(|r| r["stack_id"].as_str().unwrap().to_owned()).collect();
    stacks.sort();
    assert_eq!(stacks, vec![stack_in(HOME), stack_in(OTHER)]);

    // The publisher changes the topic: each reader is stale once.
    publisher.delete_stack("booking-0").await.unwrap();
    home.publish(&account, HOME, "booking-v2", &[pair(&topic, "arn:v2")]).await;
    let stale = cli(&home.proxy.url(), &["stale", "--table", &arn, "--output", "json"], &far);
    assert_eq!(stale.status.code(), Some(1), "{}", String::from_utf8_lossy(&stale.stderr));
    let mut stale_stacks: Vec<String> =
        json_lines(&stale).as_array().unwrap().iter().map(|r| r["stack_id"].as_str().unwrap().to_owned()).collect();
    stale_stacks.sort();
    assert_eq!(stale_stacks, vec![stack_in(HOME), stack_in(OTHER)]);

    // The one audit, in the home region, puts one event per stale read, whatever region reads it.
    let audit = audit_function(test, &[("READS_TABLE", &name)]).await;
    let audited = run_audit(&audit).await;
    assert_eq!((audited["Stale"].as_u64(), audited["EventsPut"].as_u64()), (Some(2), Some(2)), "{audited}");
    assert_eq!(run_audit(&audit).await["EventsPut"], 0);
    let events = inbox.events(2, Duration::from_secs(10)).await.unwrap();
    let mut alerted: Vec<String> =
        events.iter().map(|e| e["detail"]["stack_id"].as_str().unwrap().to_owned()).collect();
    alerted.sort();
    assert_eq!(alerted, vec![stack_in(HOME), stack_in(OTHER)], "{events:?}");
}
