//! The shared export snapshot end to end: real function processes, one moto DynamoDB table.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use remote_exports_e2e::*;
use serde_json::{Value, json};

fn table_name(test: &str) -> String {
    format!("exports-cache-{}", publisher_account(test))
}

async fn cache(test: &str) -> SnapshotTable {
    SnapshotTable::create(&moto_endpoint(test), REGION, &table_name(test)).await.unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn value(answer: &Value, name: &str) -> String {
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    answer["Data"][name].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn concurrent_consumers_of_one_publisher_cost_it_one_read() {
    let test = "concurrent_consumers_of_one_publisher_cost_it_one_read";
    let (_table, worlds) = snapshot_worlds(test, 5).await;
    let account = publisher_account(test);
    let exports = numbered(&format!("svc-{account}-Out"), 250);
    worlds[0].publish(&account, REGION, "svc", &exports).await;
    let wanted = exports[0].0.clone();
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [wanted]});
    for answer in &answer_at_once(&worlds, &properties).await {
        assert_eq!(value(answer, &wanted), "value-0");
    }
    let pages: u32 = worlds.iter().map(|w| w.proxy.count("ListExports")).sum();
    assert_eq!(pages, 3, "one full read (250 exports, 3 pages) for five consumers");
    // Every consumer is admitted by STS with its own identity before the snapshot serves it.
    let assumed: u32 = worlds.iter().map(|w| w.proxy.count("AssumeRole")).sum();
    assert_eq!(assumed, 5, "one AssumeRole per consumer's function");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_lease_whose_holder_died_is_taken_over_when_it_expires() {
    let test = "a_lease_whose_holder_died_is_taken_over_when_it_expires";
    let table = cache(test).await;
    let world = World::start(test, &[("SNAPSHOT_TABLE", &table.name)]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Url");
    world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    // A container took the lease and died: nobody will release it.
    let until = now_ms() + 2_000;
    table
        .put(json!({
            // The snapshot of this role and region for this consumer stack (its session identity).
            "Key": {"S": format!("lease|{}|{REGION}|{CONSUMER_ACCOUNT}/airmiles", role_arn(&account))},
            "Holder": {"S": "a-container-that-died"},
            "Until": {"N": until.to_string()},
        }))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(value(&answer, &name), "https://v1");
    assert!(started.elapsed() >= Duration::from_millis(1_500), "it waited for the lease: {:?}", started.elapsed());
    assert_eq!(world.proxy.count("ListExports"), 1, "then read once itself");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn snapshots_serve_creates_within_the_ttl_and_never_after_it_or_to_an_update() {
    let test = "snapshots_serve_creates_within_the_ttl_and_never_after_it_or_to_an_update";
    let table = cache(test).await;
    let world = World::start(test, &[("SNAPSHOT_TABLE", &table.name), ("SNAPSHOT_TTL_SECONDS", "2")]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Url");
    let publisher = world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [name]});
    assert_eq!(value(&world.answer(&world.event("Create", "first", properties.clone())).await, &name), "https://v1");

    publisher.delete_stack("svc-0").await.unwrap();
    world.publish(&account, REGION, "svc-v2", &[pair(&name, "https://v2")]).await;
    world.proxy.reset();
    // Within the TTL a Create gets the snapshot: the trade-off, at most TTL seconds old.
    let cached = world.answer(&world.event("Create", "cached", properties.clone())).await;
    assert_eq!(value(&cached, &name), "https://v1");
    assert_eq!(world.proxy.count("ListExports"), 0);
    // An Update (a changed Refresh) never reads a snapshot older than itself.
    let update = world.answer(&world.event("Update", "refresh", properties.clone())).await;
    assert_eq!(value(&update, &name), "https://v2");
    assert_eq!(world.proxy.count("ListExports"), 1);

    // Past the TTL, a Create reads again.
    publisher.delete_stack("svc-v2-0").await.unwrap();
    world.publish(&account, REGION, "svc-v3", &[pair(&name, "https://v3")]).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let expired = world.answer(&world.event("Create", "expired", properties)).await;
    assert_eq!(value(&expired, &name), "https://v3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_snapshot_of_ten_thousand_exports_round_trips_in_parts() {
    let test = "a_snapshot_of_ten_thousand_exports_round_trips_in_parts";
    let table = cache(test).await;
    let env = [("SNAPSHOT_TABLE", table.name.as_str())];
    let (reader, follower) = (World::start(test, &env).await, World::start(&format!("{test}-2"), &env).await);
    let account = publisher_account(test);
    let exports = numbered(&format!("big-{account}-Output"), 10_000);
    reader.publish(&account, REGION, "big", &exports).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [exports[9_999].0, exports[17].0]});
    let first = reader.answer(&reader.event("Create", "first", properties.clone())).await;
    assert_eq!(value(&first, &exports[9_999].0), "value-9999");
    assert_eq!(reader.proxy.count("ListExports"), 100);
    let parts =
        table.items().await.unwrap().iter().filter(|i| i["Key"]["S"].as_str().unwrap().starts_with("part|")).count();
    assert!(parts >= 2, "a 10 000-export snapshot is over one item: {parts} part(s)");
    let second = follower.answer(&follower.event("Create", "second", properties)).await;
    assert_eq!(value(&second, &exports[9_999].0), "value-9999");
    assert_eq!(value(&second, &exports[17].0), "value-17");
    assert_eq!(follower.proxy.count("ListExports"), 0, "served from the snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn an_unavailable_snapshot_table_falls_back_to_direct_reads_with_a_warning() {
    let test = "an_unavailable_snapshot_table_falls_back_to_direct_reads_with_a_warning";
    let world = World::start(test, &[("SNAPSHOT_TABLE", "no-such-table")]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Url");
    world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    let answer = world.answer(&world.event("Create", "create", json!({"RoleArn": role_arn(&account)}))).await;
    assert_eq!(value(&answer, &name), "https://v1");
    let logs = world.function.logs();
    assert!(
        logs.lines().any(|l| l.contains("WARN")
            && l.contains("export snapshot unavailable")
            && l.contains("ResourceNotFoundException")),
        "{logs}"
    );
}

/// The publisher's trust policy admits consumer A and refuses consumer B (the proxy answers B's
/// AssumeRole, recognised by the SourceIdentity the function chose, with STS's AccessDenied). A
/// fills the snapshot; B gets FAILED naming the trust policy, and no value, although the snapshot
/// holds the one it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_snapshot_serves_only_consumers_the_publishers_trust_policy_admits() {
    let test = "the_snapshot_serves_only_consumers_the_publishers_trust_policy_admits";
    let table = cache(test).await;
    let world = World::start(test, &[("SNAPSHOT_TABLE", table.name.as_str())]).await;
    let account = publisher_account(test);
    let name = format!("svc-{account}-Secretish");
    world.publish(&account, REGION, "svc", &[pair(&name, "only-for-a")]).await;
    let refused_consumer = "333333333333";
    world.proxy.fail_when(
        "AssumeRole",
        &format!("SourceIdentity={refused_consumer}"),
        AwsError::sts(
            403,
            "AccessDenied",
            &format!(
                "User: arn:aws:sts::{CONSUMER_ACCOUNT}:assumed-role/remote-exports/function is not authorized to \
                 perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/remote-exports-reader"
            ),
        ),
    );
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [name], "ExternalId": "team-secret"});
    let admitted = world.answer(&world.event("Create", "admitted", properties.clone())).await;
    assert_eq!(value(&admitted, &name), "only-for-a");
    assert_eq!(world.proxy.count("ListExports"), 1);

    // The identity the publisher sees is the function's choice, from the bound request.
    let assumed = world.proxy.requests("AssumeRole");
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    for expected in [
        format!("SourceIdentity={CONSUMER_ACCOUNT}"),
        format!("RoleSessionName={CONSUMER_ACCOUNT}-airmiles"),
        "Tags.member.1.Key=ConsumerAccount".to_owned(),
        format!("Tags.member.1.Value={CONSUMER_ACCOUNT}"),
        "Tags.member.2.Key=ConsumerStack".to_owned(),
        "Tags.member.2.Value=airmiles".to_owned(),
        "DurationSeconds=900".to_owned(),
        "ExternalId=team-secret".to_owned(),
    ] {
        assert!(assumed[0].contains(&expected), "{expected} missing from {}", assumed[0]);
    }

    let refused = world.answer(&world.event_from(refused_consumer, "Create", "refused", properties.clone())).await;
    assert_eq!(refused["Status"], "FAILED", "{refused}");
    let reason = refused["Reason"].as_str().unwrap();
    assert!(reason.contains("AssumeRole was denied") && reason.contains("trust policy"), "{reason}");
    assert!(refused.get("Data").is_none_or(|data| data.as_object().is_none_or(|d| d.is_empty())), "{refused}");
    assert!(!refused.to_string().contains("only-for-a"), "a refused consumer got the value: {refused}");
    assert_eq!(world.proxy.count("ListExports"), 1, "the refused consumer caused a read");
    let identities: Vec<bool> = world
        .proxy
        .requests("AssumeRole")
        .iter()
        .map(|body| body.contains(&format!("SourceIdentity={refused_consumer}")))
        .collect();
    assert_eq!(identities, [false, true], "B was asked of STS under its own identity");

    // A again: its credentials and the snapshot serve it, with no call at all.
    world.proxy.reset();
    let again = world.answer(&world.event("Update", "again", properties)).await;
    assert_eq!(value(&again, &name), "only-for-a");
    assert_eq!(world.proxy.calls().get("AssumeRole"), None, "{:?}", world.proxy.calls());
    let logs = world.function.logs();
    assert!(!logs.contains("only-for-a") && !logs.contains("team-secret"), "{logs}");
}

/// A publisher that scopes reads by the session's identity (ABAC in its permission policy: here
/// `GetParameters`, `DescribeStacks` and `ListExports` refused to consumer B's sessions, though its
/// trust policy admits B). A reads with the snapshot on, then B: B gets no value of A's, because the
/// snapshot is keyed by the identity each session carries, and B's own reads are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_snapshot_never_serves_past_a_permission_the_publisher_scopes_by_consumer() {
    let test = "the_snapshot_never_serves_past_a_permission_the_publisher_scopes_by_consumer";
    let table = cache(test).await;
    let world = World::start(test, &[("SNAPSHOT_TABLE", table.name.as_str())]).await;
    let account = publisher_account(test);
    let export = format!("svc-{account}-ForA");
    let publisher = world.publish(&account, REGION, "svc", &[pair(&export, "export-for-a")]).await;
    publisher.publish_outputs("booking", &[pair("Topic", "output-for-a")]).await.unwrap();
    publisher.put_parameter("/booking/prod/topic", "String", "parameter-for-a").await.unwrap();
    let consumer_b = "333333333333";
    for (action, resource) in [
        ("GetParameters", "ssm:GetParameters on resource: arn:aws:ssm:eu-west-1"),
        ("DescribeStacks", "cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1"),
        ("ListExports", "cloudformation:ListExports on resource: *"),
    ] {
        let message = format!(
            "User: arn:aws:sts::{account}:assumed-role/remote-exports-reader/{consumer_b}-airmiles is not \
             authorized to perform: {resource} with an explicit deny in an identity-based policy"
        );
        let error = if action == "GetParameters" {
            AwsError::json_1_1("AccessDeniedException", &message)
        } else {
            AwsError::cloudformation(403, "AccessDenied", &message)
        };
        world.proxy.refuse_session(action, consumer_b, error);
    }
    let reads = [
        json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/topic"]}),
        json!({"RoleArn": role_arn(&account), "StackOutputs": ["booking.Topic"]}),
        json!({"RoleArn": role_arn(&account), "ExportNames": [export]}),
    ];
    for (n, properties) in reads.iter().enumerate() {
        let a = world.answer(&world.event("Create", &format!("a-{n}"), properties.clone())).await;
        assert_eq!(a["Status"], "SUCCESS", "{a}");
        let b = world.answer(&world.event_from(consumer_b, "Create", &format!("b-{n}"), properties.clone())).await;
        assert_eq!(b["Status"], "FAILED", "B was served what the publisher refuses its sessions: {b}");
        assert!(reason(&b).contains("denied"), "{b}");
        assert!(!b.to_string().contains("-for-a"), "A's value reached B: {b}");
    }
    // B asked AWS itself, under its own identity, for each: three refused reads, no snapshot hit.
    // (The function logs a request's metrics after it answers: wait for all six.)
    let wait = Duration::from_secs(10);
    let logs = world.function.logs_when(wait, |logs| metric(logs, "SnapshotHits").len() >= 6).await;
    assert_eq!(metric(&logs, "SnapshotHits"), [0; 6], "{logs}");
    // Another stack of A's account has an identity of its own too: it reads for itself.
    world.proxy.reset();
    let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/hotels/0f1e2d3c");
    let hotels = world.answer(&world.event_for(&stack_id, "Create", "hotels", reads[1].clone())).await;
    assert_eq!(hotels["Data"]["booking.Topic"], "output-for-a", "{hotels}");
    assert_eq!(world.proxy.count("DescribeStacks"), 1, "{:?}", world.proxy.calls());
    // The same stack again within the TTL: the snapshot serves it, after STS admits it.
    world.proxy.reset();
    let again = world.answer(&world.event("Create", "a-again", reads[1].clone())).await;
    assert_eq!(again["Data"]["booking.Topic"], "output-for-a", "{again}");
    assert_eq!(world.proxy.count("DescribeStacks"), 0, "{:?}", world.proxy.calls());
    let logs = world.function.logs_when(wait, |logs| metric(logs, "SnapshotHits").len() >= 8).await;
    assert_eq!(metric(&logs, "SnapshotHits"), [0, 0, 0, 0, 0, 0, 0, 1], "{logs}");
}
