//! The read registry end to end: the real function writes and forgets readers in a moto DynamoDB
//! table, the CLI answers `readers` and `stale` from it, and the scheduled audit puts events on
//! EventBridge, read back from an SQS queue.

use std::process::Output;
use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// The CLI with the test's reads table as `READS_TABLE`.
fn cli_with(endpoint: &str, table: &str, args: &[&str]) -> Output {
    cli(endpoint, args, &[("READS_TABLE", table)])
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A table name of this test's own, so that tests sharing one moto never see each other's readers.
fn table_name(test: &str) -> String {
    format!("reads-{}", publisher_account(test))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn create_update_and_delete_maintain_one_item_that_holds_no_value() {
    let test = "create_update_and_delete_maintain_one_item_that_holds_no_value";
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name), ("FUNCTION_ACCOUNT_ID", CONSUMER_ACCOUNT)]).await;
    let account = publisher_account(test);
    let topic = format!("booking-{account}-BookingTopicArn");
    let flag = format!("booking-{account}-Enabled");
    let publisher = world
        .publish(&account, REGION, "booking", &[pair(&topic, "arn:aws:sns:secret-topic-v1"), pair(&flag, "true")])
        .await;

    let properties = json!({"RoleArn": role_arn(&account), "Exports": {"Topic": topic}, "ExportNames": [flag]});
    let created = world.answer(&world.event("Create", "create", properties.clone())).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let items = table.items().await.unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    let stack_id = created["StackId"].as_str().unwrap();
    assert_eq!(item["Reader"]["S"], format!("{stack_id}|Lookup"));
    assert_eq!(item["SourceAccount"]["S"], account);
    assert_eq!(item["SourceRoleArn"]["S"], role_arn(&account));
    assert_eq!(item["ConsumerAccount"]["S"], CONSUMER_ACCOUNT);
    assert_eq!(item["RequestType"]["S"], "Create");
    let exports: Vec<(&str, &str)> = item["Exports"]["L"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["M"]["Key"]["S"].as_str().unwrap(), e["M"]["Export"]["S"].as_str().unwrap()))
        .collect();
    assert_eq!(exports, vec![("Topic", topic.as_str()), (flag.as_str(), flag.as_str())]);
    let scanned = serde_json::to_string(&items).unwrap();
    assert!(!scanned.contains("secret-topic") && !scanned.contains("\"true\""), "a value reached the table: {scanned}");
    let logs = world.function.logs_when(Duration::from_secs(10), |logs| logs.contains("follow_up=")).await;
    assert!(logs.contains("follow_up=reads-registry:ok"), "{logs}");
    assert_eq!(world.proxy.count("PutItem"), 1);

    // The publisher replaces the topic; an Update re-reads it and the fingerprint follows.
    let first_fingerprint = item["Exports"]["L"][0]["M"]["Fingerprint"]["S"].clone();
    publisher.delete_stack("booking-0").await.unwrap();
    world
        .publish(&account, REGION, "booking-v2", &[pair(&topic, "arn:aws:sns:secret-topic-v2"), pair(&flag, "true")])
        .await;
    let updated = world.answer(&world.event("Update", "update", properties)).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    let items = table.items().await.unwrap();
    assert_eq!(items.len(), 1, "an Update replaces the item: {items:?}");
    assert_eq!(items[0]["RequestType"]["S"], "Update");
    assert_ne!(items[0]["Exports"]["L"][0]["M"]["Fingerprint"]["S"], first_fingerprint);

    assert_eq!(items[0]["PhysicalResourceId"]["S"], format!("remote-exports:{account}:{REGION}"));
    let mut delete = world.event("Delete", "delete", json!({"RoleArn": 42}));
    delete["PhysicalResourceId"] = json!(format!("remote-exports:{account}:{REGION}"));
    world.responses.address(&mut delete);
    let deleted = world.answer(&delete).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(table.items().await.unwrap().is_empty(), "Delete forgets the reader");
    assert_eq!(world.proxy.count("DeleteItem"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn an_unavailable_registry_is_a_warning_never_a_failed_answer() {
    let test = "an_unavailable_registry_is_a_warning_never_a_failed_answer";
    let world = World::start(test, &[("READS_TABLE", "no-such-table")]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Url");
    world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [name]});

    let missing = world.answer(&world.event("Create", "missing-table", properties.clone())).await;
    assert_eq!(missing["Status"], "SUCCESS", "{missing}");
    assert_eq!(missing["Data"][&name], "https://v1");

    let denied = |action: &str| {
        format!(
            "User: arn:aws:sts::{CONSUMER_ACCOUNT}:assumed-role/remote-exports/remote-exports is not authorized to \
             perform: dynamodb:{action} on resource: arn:aws:dynamodb:{REGION}:{CONSUMER_ACCOUNT}:table/reads"
        )
    };
    // The error type in the body for one, in the X-Amzn-Errortype header for the other: both are AWS's.
    world.proxy.fail("PutItem", AwsError::dynamodb("AccessDeniedException", &denied("PutItem")));
    world.proxy.fail(
        "DeleteItem",
        AwsError::error_type_header("application/x-amz-json-1.0", "AccessDeniedException", &denied("DeleteItem")),
    );
    let denied = world.answer(&world.event("Update", "denied", properties)).await;
    assert_eq!(denied["Status"], "SUCCESS", "{denied}");
    let deleted = world.answer(&world.event("Delete", "delete-denied", json!({}))).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");

    let answered_lines = |logs: &str| logs.lines().filter(|l| l.contains("answered")).count();
    let logs = world.function.logs_when(Duration::from_secs(10), |logs| answered_lines(logs) == 3).await;
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN") && l.contains("follow-up failed")).collect();
    assert_eq!(warnings.len(), 3, "{logs}");
    assert!(warnings[0].contains("ResourceNotFoundException"), "{}", warnings[0]);
    assert!(warnings[1].contains("PutItem") && warnings[1].contains("AccessDeniedException"), "{}", warnings[1]);
    assert!(warnings[2].contains("DeleteItem") && warnings[2].contains("AccessDeniedException"), "{}", warnings[2]);
    let answered = logs.lines().filter(|l| l.contains("answered") && l.contains("follow_up_failures=1")).count();
    assert_eq!(answered, 3, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn without_reads_table_there_is_no_registry_call() {
    let test = "without_reads_table_there_is_no_registry_call";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "svc", &[pair(&format!("svc-{account}-Url"), "https://v1")]).await;
    let created = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let deleted = world.answer(&world.event("Delete", "delete", json!({}))).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let calls = world.proxy.calls();
    assert_eq!(calls.keys().collect::<Vec<_>>(), vec!["AssumeRole", "ListExports"], "{calls:?}");
    let logs = world.function.logs_when(Duration::from_secs(10), |logs| logs.matches("follow_up=").count() >= 2).await;
    assert_eq!(logs.matches("follow_up=none").count(), 2, "no registry, so no follow-up work: {logs}");
}

/// Two publishers, three consumer resources; then one export changes and one disappears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn readers_and_stale_answer_from_the_registry_with_one_read_per_source() {
    let test = "readers_and_stale_answer_from_the_registry_with_one_read_per_source";
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let booking = publisher_account(test);
    let hotels = publisher_account(&format!("{test}-hotels"));
    let topic = format!("booking-{booking}-BookingTopicArn");
    let queue = format!("booking-{booking}-QueueUrl");
    let rooms = format!("hotels-{hotels}-RoomsApi");
    let booking_publisher =
        world.publish(&booking, REGION, "booking", &[pair(&topic, "arn:v1"), pair(&queue, "q1")]).await;
    world.publish(&booking, REGION, "booking-queue", &[]).await;
    world.publish(&hotels, REGION, "hotels", &[pair(&rooms, "https://rooms")]).await;

    let read = |logical: &str, request: &str, properties: Value| {
        let mut event = world.event("Create", request, properties);
        event["LogicalResourceId"] = json!(logical);
        world.responses.address(&mut event);
        event
    };
    for event in [
        read("Topic", "topic", json!({"RoleArn": role_arn(&booking), "ExportNames": [topic]})),
        read("Queue", "queue", json!({"RoleArn": role_arn(&booking), "ExportNames": [queue]})),
        read("Rooms", "rooms", json!({"RoleArn": role_arn(&hotels), "ExportNames": [rooms]})),
    ] {
        let answer = world.answer(&event).await;
        assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    }

    let by_export =
        json_out(&cli_with(&world.proxy.url(), &table.name, &["readers", "--export", &topic, "--output", "json"]));
    assert_eq!(by_export.as_array().unwrap().len(), 1, "{by_export}");
    let reader = &by_export[0];
    assert_eq!(
        (reader["logical_resource_id"].as_str(), reader["source_account"].as_str()),
        (Some("Topic"), Some(booking.as_str()))
    );
    assert_eq!(reader["exports"], json!([topic]));
    assert_eq!(reader["region"], REGION);
    assert_eq!(reader["consumer_account"], CONSUMER_ACCOUNT);
    assert!(reader["stack_id"].as_str().unwrap().starts_with("arn:aws:cloudformation:"));
    assert!(reader["read_at"].as_str().unwrap().ends_with('Z'));
    let by_prefix =
        json_out(&cli_with(&world.proxy.url(), &table.name, &["readers", "--prefix", "booking-", "--output", "json"]));
    assert_eq!(by_prefix.as_array().unwrap().len(), 2, "{by_prefix}");
    let by_account = json_out(&cli_with(
        &world.proxy.url(),
        &table.name,
        &["readers", "--source-account", &hotels, "--output", "json"],
    ));
    assert_eq!(by_account[0]["logical_resource_id"], "Rooms", "{by_account}");
    let elsewhere =
        json_out(&cli_with(&world.proxy.url(), &table.name, &["readers", "--region", "us-east-1", "--output", "json"]));
    assert_eq!(elsewhere, json!([]));
    let table_view = cli_with(&world.proxy.url(), &table.name, &["readers", "--export", &topic]);
    let text = String::from_utf8_lossy(&table_view.stdout);
    assert!(text.starts_with("READER") && text.contains("airmiles/Topic"), "{text}");

    let current = cli_with(&world.proxy.url(), &table.name, &["stale", "--output", "json"]);
    assert_eq!(current.status.code(), Some(0), "{}", stderr(&current));
    assert_eq!(json_out(&current), json!([]));

    // Booking replaces the topic and drops the queue export.
    booking_publisher.delete_stack("booking-0").await.unwrap();
    world.publish(&booking, REGION, "booking-v2", &[pair(&topic, "arn:v2")]).await;
    world.proxy.reset();
    let stale = cli_with(&world.proxy.url(), &table.name, &["stale", "--output", "json"]);
    assert_eq!(stale.status.code(), Some(1), "{}", stderr(&stale));
    let mut found: Vec<(String, String, String)> = json_out(&stale)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["logical_resource_id"].as_str().unwrap().into(),
                s["export"].as_str().unwrap().into(),
                s["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![("Queue".into(), queue.clone(), "removed".into()), ("Topic".into(), topic.clone(), "changed".into())]
    );
    assert_eq!(world.proxy.count("AssumeRole"), 2, "one credential per source: {:?}", world.proxy.calls());
    assert_eq!(world.proxy.count("ListExports"), 2, "one read per source: {:?}", world.proxy.calls());
    assert_eq!(world.proxy.count("Scan"), 1);
    let table_view = cli_with(&world.proxy.url(), &table.name, &["stale"]);
    let text = String::from_utf8_lossy(&table_view.stdout);
    assert!(text.contains("new Refresh value") && text.contains("Remove '"), "{text}");

    // Airmiles re-reads the topic (a Refresh bump) and drops the queue lookup: clean again.
    let mut refreshed =
        read("Topic", "refresh", json!({"RoleArn": role_arn(&booking), "ExportNames": [topic], "Refresh": "2"}));
    refreshed["RequestType"] = json!("Update");
    refreshed["OldResourceProperties"] = json!({"RoleArn": role_arn(&booking), "ExportNames": [topic]});
    refreshed["PhysicalResourceId"] = json!(format!("remote-exports:{booking}:{REGION}"));
    let refreshed = world.answer(&refreshed).await;
    assert_eq!(refreshed["Status"], "SUCCESS", "{refreshed}");
    let mut dropped = read("Queue", "drop-queue", json!({}));
    dropped["RequestType"] = json!("Delete");
    dropped["PhysicalResourceId"] = json!(format!("remote-exports:{booking}:{REGION}"));
    assert_eq!(world.answer(&dropped).await["Status"], "SUCCESS");
    let clean = cli_with(&world.proxy.url(), &table.name, &["stale"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_audit_alerts_once_per_change() {
    let test = "the_audit_alerts_once_per_change";
    let moto = moto_endpoint(test);
    let table = ReadsTable::create(&moto, REGION, &table_name(test)).await.unwrap();
    // The audit's bus of its own, as the template creates it; nothing goes to the default bus.
    let bus = format!("remote-exports-audit-{}", publisher_account(test));
    let inbox = AuditInbox::create_on(&moto, REGION, &table_name(test), &publisher_account(test), &bus).await.unwrap();
    let on_default =
        AuditInbox::create(&moto, REGION, &format!("{}-default", table_name(test)), &publisher_account(test))
            .await
            .unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let audit = audit_function(test, &[("READS_TABLE", &table.name), ("AUDIT_EVENT_BUS", &bus)]).await;
    let account = publisher_account(test);
    let topic = format!("booking-{account}-BookingTopicArn");
    let publisher = world.publish(&account, REGION, "booking", &[pair(&topic, "arn:v1")]).await;
    let created = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");

    // Nothing stale: the cold audit process assumes the role once, reads, finds nothing, writes nothing.
    assert_eq!(run_audit(&audit).await["Stale"], 0);
    let calls = audit.proxy.calls();
    assert_eq!(
        ["Scan", "AssumeRole", "ListExports", "PutEvents", "UpdateItem"].map(|c| audit.proxy.count(c)),
        [1, 1, 1, 0, 0],
        "{calls:?}"
    );

    // One change, then two audits with nothing in between: exactly one event.
    publisher.delete_stack("booking-0").await.unwrap();
    let v2 = world.publish(&account, REGION, "booking-v2", &[pair(&topic, "arn:v2")]).await;
    // EventBridge refuses first (AWS JSON 1.1): the run fails, says why, and marks nothing alerted.
    let refusal = format!(
        "User: arn:aws:sts::{CONSUMER_ACCOUNT}:assumed-role/remote-exports-audit/remote-exports is not authorized to \
         perform: events:PutEvents on resource: arn:aws:events:{REGION}:{CONSUMER_ACCOUNT}:event-bus/default because \
         no identity-based policy allows the events:PutEvents action"
    );
    audit.proxy.fail("PutEvents", AwsError::json_1_1("AccessDeniedException", &refusal));
    let refused = audit.runtime.invoke(&scheduled_event(), TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &refused.outcome else { panic!("{:?}", refused.outcome) };
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("PutEvents") && message.contains("AccessDeniedException"), "{error}");
    assert!(message.contains("not authorized to perform: events:PutEvents"), "{error}");
    audit.proxy.heal();
    audit.proxy.reset();
    let first = run_audit(&audit).await;
    assert_eq!((first["Stale"].as_u64(), first["EventsPut"].as_u64()), (Some(1), Some(1)), "{first}");
    // Its credential is still warm: one read, one event, one record of what was alerted.
    let calls = audit.proxy.calls();
    assert_eq!(
        ["AssumeRole", "ListExports", "PutEvents", "UpdateItem"].map(|c| audit.proxy.count(c)),
        [0, 1, 1, 1],
        "{calls:?}"
    );
    let second = run_audit(&audit).await;
    assert_eq!((second["Stale"].as_u64(), second["EventsPut"].as_u64()), (Some(1), Some(0)), "{second}");
    assert!(world.responses.all_puts().len() == 1, "the audit answered no custom resource");
    let events = inbox.events(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (event["source"].as_str(), event["detail-type"].as_str()),
        (Some("remote-exports"), Some("Remote export changed"))
    );
    assert_eq!(event["detail"]["export"], topic);
    assert_eq!(event["detail"]["stack_id"], created["StackId"]);
    assert_eq!(event["detail"]["logical_resource_id"], "Lookup");
    assert_eq!(event["detail"]["source_account"], account);
    assert!(!event.to_string().contains("arn:v"), "a value reached the event: {event}");
    // `stale` still lists what is stale, alerted or not.
    let stale = cli_with(&world.proxy.url(), &table.name, &["stale", "--output", "json"]);
    assert_eq!(json_out(&stale).as_array().map(Vec::len), Some(1), "{}", stderr(&stale));

    // A second change alerts again, once.
    v2.delete_stack("booking-v2-0").await.unwrap();
    world.publish(&account, REGION, "booking-v3", &[pair(&topic, "arn:v3")]).await;
    assert_eq!(run_audit(&audit).await["EventsPut"], 1);
    assert_eq!(run_audit(&audit).await["EventsPut"], 0);
    let events = inbox.events(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["state"], "changed");
    let puts = audit.proxy.requests("PutEvents");
    assert!(
        !puts.is_empty() && puts.iter().all(|body| body.contains(&format!("\"EventBusName\":\"{bus}\""))),
        "{puts:?}"
    );
    assert!(on_default.events(0, Duration::ZERO).await.unwrap().is_empty(), "an event reached the default bus");

    // The consumer's Update reads the new value and clears what was alerted.
    let mut update = world.event("Update", "refresh", json!({"RoleArn": role_arn(&account), "Refresh": "2"}));
    update["PhysicalResourceId"] = json!(format!("remote-exports:{account}:{REGION}"));
    world.responses.address(&mut update);
    assert_eq!(world.answer(&update).await["Status"], "SUCCESS");
    assert!(table.items().await.unwrap()[0].get("Alerted").is_none(), "an Update clears the alerted state");
    assert_eq!(run_audit(&audit).await["Stale"], 0);
    assert!(audit.function.logs().contains("audited"), "{}", audit.function.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_audit_reads_fresh_past_the_snapshot() {
    let test = "the_audit_reads_fresh_past_the_snapshot";
    let moto = moto_endpoint(test);
    let table = ReadsTable::create(&moto, REGION, &table_name(test)).await.unwrap();
    let cache = SnapshotTable::create(&moto, REGION, &format!("cache-{}", table_name(test))).await.unwrap();
    let inbox = AuditInbox::create(&moto, REGION, &table_name(test), &publisher_account(test)).await.unwrap();
    let env = [("READS_TABLE", table.name.as_str()), ("SNAPSHOT_TABLE", &cache.name), ("SNAPSHOT_TTL_SECONDS", "600")];
    let world = World::start(test, &env).await;
    // Configured with the snapshot as well, to show that the audit does not read through it.
    let audit = audit_function(test, &env).await;
    let account = publisher_account(test);
    let topic = format!("booking-{account}-BookingTopicArn");
    let publisher = world.publish(&account, REGION, "booking", &[pair(&topic, "arn:v1")]).await;
    let created = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert!(!cache.items().await.unwrap().is_empty(), "the read filled the snapshot");

    // Changed a moment later, well within the snapshot's TTL.
    publisher.delete_stack("booking-0").await.unwrap();
    world.publish(&account, REGION, "booking-v2", &[pair(&topic, "arn:v2")]).await;
    let audited = run_audit(&audit).await;
    assert_eq!((audited["Stale"].as_u64(), audited["EventsPut"].as_u64()), (Some(1), Some(1)), "{audited}");
    assert_eq!(audit.proxy.count("GetItem"), 0, "the audit read the snapshot: {:?}", audit.proxy.calls());
    assert_eq!(inbox.events(1, Duration::from_secs(10)).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_delete_removes_only_the_record_its_own_id_wrote() {
    let test = "a_delete_removes_only_the_record_its_own_id_wrote";
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap();
    let world =
        World::start(test, &[("READS_TABLE", &table.name), ("RUST_LOG", "remote_exports_app=debug,info")]).await;
    let (a, b) = (publisher_account(test), publisher_account(&format!("{test}-b")));
    let name = |account: &str| format!("svc-{account}-Url");
    world.publish(&a, REGION, "svc", &[pair(&name(&a), "https://a")]).await;
    world.publish(&b, REGION, "svc", &[pair(&name(&b), "https://b")]).await;
    let (id_a, id_b) = (format!("remote-exports:{a}:{REGION}"), format!("remote-exports:{b}:{REGION}"));
    let reads_from = |account: &str| json!({"RoleArn": role_arn(account), "ExportNames": [name(account)]});
    let request = |kind: &str, request: &str, properties: Value, physical: &str| {
        let mut event = world.event(kind, request, properties.clone());
        event["PhysicalResourceId"] = json!(physical);
        if kind == "Update" {
            event["OldResourceProperties"] = json!({});
        }
        world.responses.address(&mut event);
        event
    };
    let source_of_the_record = || async {
        let items = table.items().await.unwrap();
        assert_eq!(items.len(), 1, "{items:?}");
        (
            items[0]["SourceAccount"]["S"].as_str().unwrap().to_owned(),
            items[0]["PhysicalResourceId"]["S"].as_str().unwrap().to_owned(),
        )
    };

    assert_eq!(world.answer(&world.event("Create", "create-a", reads_from(&a))).await["Status"], "SUCCESS");
    // An Update to another account is a replacement: a new ID, then CloudFormation's cleanup
    // Delete of the old one, which must leave the new record.
    let updated = world.answer(&request("Update", "update-b", reads_from(&b), &id_a)).await;
    assert_eq!(updated["PhysicalResourceId"], id_b.as_str(), "{updated}");
    let cleanup = world.answer(&request("Delete", "cleanup-a", json!({}), &id_a)).await;
    assert_eq!(cleanup["Status"], "SUCCESS");
    assert_eq!(source_of_the_record().await, (b.clone(), id_b.clone()));

    // A rollback: the Update back to A's properties and ID, then the Delete of B's ID.
    let back = world.answer(&request("Update", "rollback-a", reads_from(&a), &id_b)).await;
    assert_eq!(back["PhysicalResourceId"], id_a.as_str(), "{back}");
    assert_eq!(world.answer(&request("Delete", "rollback-cleanup-b", json!({}), &id_b)).await["Status"], "SUCCESS");
    assert_eq!(source_of_the_record().await, (a.clone(), id_a.clone()));
    let written_by_another = "another PhysicalResourceId of this resource wrote it";
    let logs =
        world.function.logs_when(Duration::from_secs(10), |logs| logs.matches(written_by_another).count() >= 2).await;
    assert_eq!(logs.matches(written_by_another).count(), 2, "{logs}");

    // The stack's own Delete, with the ID that reads now, forgets it.
    assert_eq!(world.answer(&request("Delete", "delete-a", json!({}), &id_a)).await["Status"], "SUCCESS");
    assert!(table.items().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn each_function_refuses_the_other_ones_events_without_a_call() {
    let test = "each_function_refuses_the_other_ones_events_without_a_call";
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap();
    let inbox =
        AuditInbox::create(&moto_endpoint(test), REGION, &table_name(test), &publisher_account(test)).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let audit = audit_function(test, &[("READS_TABLE", &table.name)]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "svc", &[pair(&format!("svc-{account}-Url"), "https://v1")]).await;
    let answer = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");

    // A forged schedule sent to the custom-resource function: refused, no AWS call, no event.
    world.proxy.reset();
    let forged = world.runtime.invoke(&scheduled_event(), TIMEOUT).await.unwrap();
    assert!(
        matches!(&forged.outcome, Outcome::Error(body) if body["errorType"] == "RemoteExports.NotACustomResourceRequest"),
        "{:?}",
        forged.outcome
    );
    assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());
    assert_eq!(world.responses.all_puts().len(), 1, "nothing was answered for the forged event");

    // A custom-resource request dressed with a schedule's fields is still a custom-resource request.
    let mut disguised = world.event("Create", "disguised", json!({"RoleArn": role_arn(&account)}));
    disguised["source"] = json!("aws.events");
    disguised["detail-type"] = json!("Scheduled Event");
    assert_eq!(world.answer(&disguised).await["Status"], "SUCCESS");
    assert_eq!(world.proxy.count("Scan"), 0, "a custom-resource request started an audit");

    // The audit function refuses a custom-resource request, even one with a genuine ResponseURL.
    let request = audit.event("Create", "to-audit", json!({"RoleArn": role_arn(&account)}));
    let refused = audit.runtime.invoke(&request, TIMEOUT).await.unwrap();
    assert!(
        matches!(&refused.outcome, Outcome::Error(body) if body["errorType"] == "RemoteExports.NotAScheduledAudit"),
        "{:?}",
        refused.outcome
    );
    assert!(audit.proxy.calls().is_empty() && audit.responses.all_puts().is_empty());
    assert!(inbox.events(1, Duration::from_millis(500)).await.unwrap().is_empty());

    // Without READS_TABLE the audit function says what is missing, and still answers nobody.
    let bare = audit_function(&format!("{test}-bare"), &[]).await;
    let failed = bare.runtime.invoke(&scheduled_event(), TIMEOUT).await.unwrap();
    assert!(
        matches!(&failed.outcome, Outcome::Error(body) if body["errorType"] == "RemoteExports.AuditFailed" && body["errorMessage"].as_str().unwrap().contains("READS_TABLE")),
        "{:?}",
        failed.outcome
    );
    assert!(bare.responses.all_puts().is_empty());
    assert!(bare.proxy.calls().is_empty(), "{:?}", bare.proxy.calls());
}

/// A reader whose consumer stack is gone (a closed account) is forgotten only by hand: `prune`
/// shows when it last read, refuses without a confirmation, and forgets that stack's readers alone,
/// one log line each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_dead_reader_is_pruned_by_hand_after_a_confirmation_and_nothing_else_is() {
    let test = "a_dead_reader_is_pruned_by_hand_after_a_confirmation_and_nothing_else_is";
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let account = publisher_account(test);
    let topic = format!("booking-{account}-BookingTopicArn");
    world.publish(&account, REGION, "booking", &[pair(&topic, "arn:v1")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [topic]});
    let closed = format!("arn:aws:cloudformation:{REGION}:444444444444:stack/closed-account-app/0f1e2d3c");
    for event in [
        world.event_for(&closed, "Create", "dead", properties.clone()),
        world.event("Create", "live", properties.clone()),
    ] {
        assert_eq!(world.answer(&event).await["Status"], "SUCCESS");
    }
    world.function.logs_when(Duration::from_secs(10), |logs| logs.matches("reads-registry:ok").count() >= 2).await;
    assert_eq!(table.items().await.unwrap().len(), 2);

    // No terminal and no --yes: shown, refused, nothing forgotten.
    let asked = cli_with(&world.proxy.url(), &table.name, &["prune", "--stack-id", &closed]);
    assert_eq!(asked.status.code(), Some(2), "{}", stderr(&asked));
    let shown = String::from_utf8_lossy(&asked.stdout);
    assert!(shown.contains("closed-account-app/Lookup") && shown.contains("LAST READ AT"), "{shown}");
    assert!(stderr(&asked).contains("pass --yes"), "{}", stderr(&asked));
    assert_eq!(table.items().await.unwrap().len(), 2, "forgotten without a confirmation");

    let unknown = cli_with(&world.proxy.url(), &table.name, &["prune", "--stack-id", "arn:nothing", "--yes"]);
    assert_eq!(unknown.status.code(), Some(3), "{}", stderr(&unknown));

    let pruned = cli_with(&world.proxy.url(), &table.name, &["prune", "--stack-id", &closed, "--yes"]);
    assert_eq!(pruned.status.code(), Some(0), "{}", stderr(&pruned));
    let logged: Vec<Value> =
        stderr(&pruned).lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).collect();
    assert_eq!(logged.len(), 1, "{}", stderr(&pruned));
    assert_eq!(
        (logged[0]["event"].as_str(), logged[0]["stack_id"].as_str()),
        (Some("reader pruned"), Some(closed.as_str()))
    );
    assert_eq!(logged[0]["consumer_account"], "444444444444");
    assert!(logged[0]["last_read_at"].as_str().unwrap().ends_with('Z'), "{}", logged[0]);
    let left = table.items().await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["ConsumerAccount"]["S"], CONSUMER_ACCOUNT, "the live reader was forgotten too");
}

/// Two checks of one record at once (the audit and a change event's check) never lose each other's
/// alerts: the write is conditioned on the alerted state the check read, in moto's DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn concurrent_checks_never_overwrite_each_others_alerts() {
    use remote_exports_core::{AlertUpdate, ReadRegistry};
    use std::collections::BTreeMap;
    let test = "concurrent_checks_never_overwrite_each_others_alerts";
    let moto = moto_endpoint(test);
    let table = ReadsTable::create(&moto, REGION, &table_name(test)).await.unwrap();
    let account = publisher_account(test);
    let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/airmiles/1");
    table.put(reader_item(&account, REGION, &stack_id, "airmiles", &[("Topic", "t"), ("Queue", "q")])).await.unwrap();
    let registry =
        remote_exports_aws::DynamoDbRegistry::new(&test_support::sdk_config(&moto, REGION).await, &table.name);
    let update = |key: &str, previous: &[(&str, &str)]| AlertUpdate {
        reader: format!("{stack_id}|Lookup"),
        physical_resource_id: Some("remote-exports:airmiles".into()),
        read_at: "2026-12-01T09:30:00Z".into(),
        alerted: BTreeMap::from([(key.to_owned(), "removed".to_owned())]),
        previous: previous.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    // Both read the record with nothing alerted; the first write wins, the second is refused.
    assert!(registry.mark_alerted(&update("Topic", &[])).await.unwrap());
    assert!(!registry.mark_alerted(&update("Queue", &[])).await.unwrap(), "a stale alerted state overwrote another's");
    let items = table.items().await.unwrap();
    assert_eq!(items[0]["Alerted"]["M"]["Topic"]["S"], "removed", "{items:?}");
    // Read again, the second check writes over what it saw.
    let mut merged = update("Queue", &[("Topic", "removed")]);
    merged.alerted.insert("Topic".into(), "removed".into());
    assert!(registry.mark_alerted(&merged).await.unwrap());
    let items = table.items().await.unwrap();
    assert_eq!(items[0]["Alerted"]["M"].as_object().map(|m| m.len()), Some(2), "{items:?}");
}
