//! Change events end to end: the real function in `change-check` mode gets a publisher's
//! CloudFormation or SSM change event (the documented shapes of `events/`), queries the registry for
//! that source's readers only, reads the source once and puts the audit's events for exactly the
//! readers whose value changed. Forged and replayed events cause no event and at most one re-check.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// A CloudFormation Stack Status Change as EventBridge delivers it, from the documented example.
fn stack_change(account: &str, stack_id: &str, status: &str, id: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../events/stack-status-change.json")).unwrap();
    event["id"] = json!(id);
    event["account"] = json!(account);
    event["region"] = json!(REGION);
    event["time"] = json!(now_rfc3339());
    event["resources"] = json!([stack_id]);
    event["detail"]["stack-id"] = json!(stack_id);
    event["detail"]["status-details"]["status"] = json!(status);
    event
}

/// A Parameter Store Change as EventBridge delivers it, from the documented example.
fn parameter_change(account: &str, name: &str, id: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../events/parameter-store-change.json")).unwrap();
    event["id"] = json!(id);
    event["account"] = json!(account);
    event["region"] = json!(REGION);
    event["time"] = json!(now_rfc3339());
    event["resources"] = json!([format!("arn:aws:ssm:{REGION}:{account}:parameter{name}")]);
    event["detail"]["name"] = json!(name);
    event["detail"]["operation"] = json!("Update");
    event
}

fn now_rfc3339() -> String {
    remote_exports_core::rfc3339(std::time::SystemTime::now())
}

/// What each test starts from: a publisher account of its own, the registry, the audit's bus with an
/// inbox for that publisher's events, the custom-resource function that records readers, and the
/// change check (its own process in `change-check` mode, as the template deploys it).
struct Setup {
    moto: String,
    account: String,
    table: ReadsTable,
    inbox: AuditInbox,
    world: World,
    check: World,
}

impl Setup {
    async fn start(test: &str) -> Setup {
        let moto = moto_endpoint(test);
        let account = publisher_account(test);
        let table = ReadsTable::create(&moto, REGION, &format!("reads-{account}")).await.unwrap();
        let bus = format!("remote-exports-audit-{account}");
        let inbox = AuditInbox::create_on(&moto, REGION, &format!("changes-{account}"), &account, &bus).await.unwrap();
        let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
        let env = [
            ("FUNCTION_MODE", "change-check"),
            ("READS_TABLE", table.name.as_str()),
            ("AUDIT_EVENT_BUS", bus.as_str()),
            ("CHANGE_CHECK_WINDOW_SECONDS", "2"),
        ];
        let check = World::start(&format!("{test}-changes"), &env).await;
        Setup { moto, account, table, inbox, world, check }
    }
}

async fn checked(check: &World, event: &Value) -> Value {
    let invocation = check.runtime.invoke(event, TIMEOUT).await.unwrap();
    match invocation.outcome {
        Outcome::Response(body) => body,
        other => panic!("{other:?}\n{}", check.function.logs()),
    }
}

/// The kind of a refusal, which the function answers as a result (no error: EventBridge's
/// asynchronous invocation would retry one twice).
async fn refused(check: &World, event: &Value) -> String {
    let invocation = check.runtime.invoke(event, TIMEOUT).await.unwrap();
    match invocation.outcome {
        Outcome::Response(result) if result.get("Refused").is_some() => {
            format!("RemoteExports.{}", result["Refused"].as_str().unwrap_or_default())
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_stack_change_alerts_exactly_its_readers_with_one_query_and_no_scan() {
    let test = "a_stack_change_alerts_exactly_its_readers_with_one_query_and_no_scan";
    let Setup { account, table, inbox, world, check, .. } = Setup::start(test).await;
    let topic = format!("booking-{account}-TopicArn");
    let queue = format!("booking-{account}-QueueUrl");
    let publisher = world.publish(&account, REGION, "booking", &[pair(&topic, "arn:v1")]).await;
    publisher.publish("queues", &[pair(&queue, "q1")]).await.unwrap();
    publisher.publish_outputs("network", &[pair("VpcId", "vpc-1")]).await.unwrap();

    // Three readers of the publisher: the topic, the queue, and another stack's output.
    let stack = |name: &str| format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/{name}/1");
    for (consumer, selection) in [
        ("airmiles", json!({"ExportNames": [topic]})),
        ("hotels", json!({"ExportNames": [queue]})),
        ("cars", json!({"StackOutputs": ["network.VpcId"]})),
    ] {
        let mut properties = selection;
        properties["RoleArn"] = json!(role_arn(&account));
        let created = world.answer(&world.event_for(&stack(consumer), "Create", consumer, properties)).await;
        assert_eq!(created["Status"], "SUCCESS", "{created}");
    }
    assert_eq!(table.items().await.unwrap().len(), 3);

    // Booking replaces the stack that exports its topic; CloudFormation says the new one is complete.
    publisher.delete_stack("booking-0").await.unwrap();
    publisher.publish("booking-v2", &[pair(&topic, "arn:v2")]).await.unwrap();
    let booking = publisher.stack_id("booking-v2-0").await.unwrap();
    let event = stack_change(&account, &booking, "CREATE_COMPLETE", "change-1");
    let result = checked(&check, &event).await;
    assert_eq!((result["ReadersOfSource"].as_u64(), result["Concerned"].as_u64()), (Some(3), Some(2)), "{result}");
    assert_eq!((result["Stale"].as_u64(), result["EventsPut"].as_u64()), (Some(1), Some(1)), "{result}");
    let calls = check.proxy.calls();
    assert_eq!(
        ["Query", "Scan", "AssumeRole", "ListExports", "DescribeStacks", "PutEvents"].map(|c| check.proxy.count(c)),
        [1, 0, 1, 1, 0, 1],
        "one query, one read of the source, no scan, and the other stack's output not described: {calls:?}"
    );
    let events = inbox.events(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Remote export changed");
    let about = |event: &Value| (event["detail"]["stack_name"].clone(), event["detail"]["export"].clone());
    assert_eq!(about(&events[0]), (json!("airmiles"), json!(topic)));
    assert!(!events[0].to_string().contains("arn:v"), "a value reached the event: {}", events[0]);
    let logs = check.function.logs_when(Duration::from_secs(5), |l| l.contains("PropagationTime")).await;
    let propagation = metric(&logs, "PropagationTime");
    assert!(propagation.len() == 1 && propagation[0] < 30_000, "{propagation:?}\n{logs}");

    // The network stack is updated in place: its output's reader is alerted, with one DescribeStacks.
    check.proxy.reset();
    publisher.update_outputs("network", &[pair("VpcId", "vpc-2")]).await.unwrap();
    let network = publisher.stack_id("network").await.unwrap();
    let updated = checked(&check, &stack_change(&account, &network, "UPDATE_COMPLETE", "change-2")).await;
    assert_eq!((updated["Concerned"].as_u64(), updated["EventsPut"].as_u64()), (Some(3), Some(1)), "{updated}");
    assert_eq!(["Query", "DescribeStacks", "PutEvents"].map(|c| check.proxy.count(c)), [1, 1, 1]);
    let events = inbox.events(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.iter().map(about).collect::<Vec<_>>(), [(json!("cars"), json!("network.VpcId"))]);

    // The same event again (EventBridge delivers at least once, or a replay): nothing read, nothing put.
    check.proxy.reset();
    assert_eq!(checked(&check, &event).await["Coalesced"], true);
    // A forged copy under a new id, of a change that happened before the last check: covered too.
    let mut older = event.clone();
    older["id"] = json!("forged-older");
    older["time"] = json!("2026-01-01T00:00:00Z");
    assert_eq!(checked(&check, &older).await["Coalesced"], true);
    // A detail naming this publisher's stack, sent from another account: refused before any call.
    let other = publisher_account(&format!("{test}-other"));
    let forged = stack_change(&other, &booking, "UPDATE_COMPLETE", "forged-foreign");
    assert_eq!(refused(&check, &forged).await, "RemoteExports.UntrustedChange");
    assert!(check.proxy.calls().is_empty(), "{:?}", check.proxy.calls());
    // A fresh forged event in the publisher's own name: one re-check, which finds nothing new.
    let mut fresh = stack_change(&account, &booking, "CREATE_COMPLETE", "forged-fresh");
    fresh["time"] = json!(now_rfc3339());
    let rechecked = checked(&check, &fresh).await;
    assert_eq!((rechecked["EventsPut"].as_u64(), check.proxy.count("Query")), (Some(0), 1), "{rechecked}");
    assert!(inbox.events(0, Duration::from_millis(500)).await.unwrap().is_empty(), "an event was put again");

    // Neither the custom-resource function nor the audit act on a change event.
    world.proxy.reset();
    let invocation = world.runtime.invoke(&event, TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.NotACustomResourceRequest");
    assert!(world.proxy.calls().is_empty());
    // And the change check refuses a custom-resource request and a schedule, with nothing read.
    check.proxy.reset();
    assert_eq!(refused(&check, &scheduled_event()).await, "RemoteExports.NotAChangeEvent");
    let request = world.event_for(&stack("airmiles"), "Create", "smuggled", json!({"RoleArn": role_arn(&account)}));
    assert_eq!(refused(&check, &request).await, "RemoteExports.NotAChangeEvent");
    assert!(check.proxy.calls().is_empty(), "{:?}", check.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_parameter_change_alerts_the_readers_of_that_parameter_only() {
    let test = "a_parameter_change_alerts_the_readers_of_that_parameter_only";
    let Setup { moto, account, inbox, world, check, .. } = Setup::start(test).await;
    let publisher = Publisher::connect(&moto, &account, REGION).await.unwrap();
    publisher.put_parameter("/booking/topic", "String", "arn:v1").await.unwrap();
    publisher.put_parameter("/booking/flag", "String", "on").await.unwrap();
    let stack = |name: &str| format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/{name}/1");
    for (consumer, parameter) in [("airmiles", "/booking/topic"), ("hotels", "/booking/flag")] {
        let properties = json!({"RoleArn": role_arn(&account), "Parameters": [parameter]});
        let created = world.answer(&world.event_for(&stack(consumer), "Create", consumer, properties)).await;
        assert_eq!(created["Status"], "SUCCESS", "{created}");
    }

    publisher.put_parameter("/booking/topic", "String", "arn:v2").await.unwrap();
    let result = checked(&check, &parameter_change(&account, "/booking/topic", "param-1")).await;
    assert_eq!((result["Concerned"].as_u64(), result["EventsPut"].as_u64()), (Some(1), Some(1)), "{result}");
    assert_eq!(
        ["Query", "Scan", "GetParameters", "ListExports", "PutEvents"].map(|c| check.proxy.count(c)),
        [1, 0, 1, 0, 1],
        "{:?}",
        check.proxy.calls()
    );
    let events = inbox.events(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["detail"]["stack_name"].as_str(), events[0]["detail"]["kind"].as_str()),
        (Some("airmiles"), Some("parameter"))
    );
    // A parameter ARN in the event's resources of another account is refused.
    let mut forged = parameter_change(&account, "/booking/flag", "param-forged");
    forged["resources"] = json!([format!("arn:aws:ssm:{REGION}:{CONSUMER_ACCOUNT}:parameter/booking/flag")]);
    assert_eq!(refused(&check, &forged).await, "RemoteExports.UntrustedChange");
}
