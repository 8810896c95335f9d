//! CloudWatch metrics end to end: the real binary writes one Embedded Metric Format document per
//! invocation to its log; each is checked against the specification's structure, and none may hold
//! a value, a URL or an export name.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// Every EMF document the function has written so far (log lines that are JSON with `_aws`).
fn documents(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// The EMF specification's structure: a millisecond `_aws.Timestamp`, and `CloudWatchMetrics`
/// directives with `Namespace`, `Dimensions` (sets of at most 30 names) and `Metrics` (at most 100),
/// where every named dimension is a string member of the root and every named metric a number.
fn assert_valid_emf(document: &Value) {
    let aws = &document["_aws"];
    let timestamp = aws["Timestamp"].as_u64().unwrap_or_else(|| panic!("no millisecond Timestamp: {document}"));
    assert!(timestamp > 1_700_000_000_000, "Timestamp is not in ms: {document}");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("no directives: {document}"));
    assert!(!directives.is_empty());
    // Which version wrote it: the product's one version (the workspace's), as a property only.
    assert_eq!(document["Version"], env!("CARGO_PKG_VERSION"), "{document}");
    assert!(!directives.iter().any(|d| d["Dimensions"].to_string().contains("\"Version\"")), "{document}");
    for directive in directives {
        assert_eq!(directive["Namespace"], "RemoteExports", "{document}");
        for set in directive["Dimensions"].as_array().unwrap() {
            let names = set.as_array().unwrap();
            assert!(names.len() <= 30, "{document}");
            for name in names {
                let name = name.as_str().unwrap();
                assert!(document[name].is_string(), "dimension {name} is not a member: {document}");
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!((1..=100).contains(&metrics.len()), "{document}");
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            assert!(document[name].is_number(), "metric {name} is not a member: {document}");
            assert_eq!(metric["Unit"], "Count");
        }
    }
}

/// The function's EMF documents once there are `count` of them. The line is written after the answer
/// is delivered, and the harness reads the function's output as it comes, so it may lag the answer.
async fn documents_when(function: &Function, count: usize) -> Vec<Value> {
    documents(&function.logs_when(Duration::from_secs(10), |logs| documents(logs).len() >= count).await)
}

/// The one document written since `before` documents were.
async fn next_document(world: &World, before: usize) -> Value {
    let all = documents_when(&world.function, before + 1).await;
    assert_eq!(all.len(), before + 1, "one document per invocation:\n{}", world.function.logs());
    let document = all[before].clone();
    assert_valid_emf(&document);
    document
}

fn assert_holds_nothing_secret(document: &Value, secrets: &[&str]) {
    let text = document.to_string();
    for secret in secrets.iter().chain(&["http://", "https://", "X-Amz-Signature", "arn:aws:iam"]) {
        assert!(!text.contains(secret), "{secret} reached a metric: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn each_invocation_writes_one_valid_emf_document_without_values() {
    let test = "each_invocation_writes_one_valid_emf_document_without_values";
    let world = World::start(test, &[]).await;
    // Each cold start says which version runs, in which mode.
    let logs = world.function.logs_when(Duration::from_secs(10), |logs| logs.contains("remote-exports starting")).await;
    let starting = logs.lines().find(|l| l.contains("remote-exports starting")).unwrap_or_else(|| panic!("{logs}"));
    assert!(starting.contains(env!("CARGO_PKG_VERSION")) && starting.contains("CustomResource"), "{starting}");
    let account = publisher_account(test);
    let name = format!("svc-{account}-TopicArn");
    let value = format!("arn:aws:sns:{REGION}:{account}:secret-topic");
    world.publish(&account, REGION, "svc", &[pair(&name, &value)]).await;
    let role = role_arn(&account);
    let secrets = [name.as_str(), value.as_str(), account.as_str()];

    // SUCCESS.
    let answer = world.answer(&world.event("Create", "ok", json!({"RoleArn": role, "ExportNames": [name]}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let success = next_document(&world, 0).await;
    assert_eq!(
        (success["Answered"].as_u64(), success["RequestType"].as_str(), success["Status"].as_str()),
        (Some(1), Some("Create"), Some("SUCCESS"))
    );
    assert_eq!((success["Refused"].as_u64(), success["ThrottledAttempts"].as_u64()), (Some(0), Some(0)));
    assert!(success.get("FailedReason").is_none() && success.get("ConsumerAccount").is_none());
    assert_holds_nothing_secret(&success, &secrets);

    // FAILED: a missing export.
    let missing = format!("{name}-Typo");
    let answer =
        world.answer(&world.event("Create", "missing", json!({"RoleArn": role, "ExportNames": [missing]}))).await;
    assert_eq!(answer["Status"], "FAILED");
    let failed = next_document(&world, 1).await;
    assert_eq!((failed["FailedReason"].as_u64(), failed["Kind"].as_str()), (Some(1), Some("MissingExport")));
    assert_eq!(failed["Status"], "FAILED");
    assert_holds_nothing_secret(&failed, &[&missing, &name]);

    // A refused ResponseURL: counted, and nothing else.
    let mut forged = world.event("Create", "forged", json!({"RoleArn": role}));
    forged["ResponseURL"] = json!("https://collector.example.com/steal?X-Amz-Signature=abc");
    world.runtime.invoke(&forged, TIMEOUT).await.unwrap();
    let refused = next_document(&world, 2).await;
    assert_eq!(refused["Refused"], 1);
    assert!(refused.get("Answered").is_none(), "{refused}");
    assert_holds_nothing_secret(&refused, &["collector.example.com"]);

    // A throttled read that succeeds: its throttled attempts are counted.
    world.proxy.fail("ListExports", AwsError::cloudformation_throttling());
    let event = world.event("Update", "throttled", json!({"RoleArn": role, "ExportNames": [name], "Refresh": "2"}));
    let invocation = world.runtime.invoke(&event, Duration::from_secs(20));
    let heal = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        world.proxy.heal();
    };
    let (invocation, ()) = tokio::join!(invocation, heal);
    invocation.unwrap();
    let throttled = next_document(&world, 3).await;
    assert_eq!((throttled["Status"].as_str(), throttled["RequestType"].as_str()), (Some("SUCCESS"), Some("Update")));
    let counted = throttled["ThrottledAttempts"].as_u64().unwrap();
    // Every refused attempt, and only those: the proxy also saw the one that succeeded.
    assert!(counted >= 2 && counted < u64::from(world.proxy.count("ListExports")), "{throttled}");
    assert_holds_nothing_secret(&throttled, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_snapshot_the_consumer_dimension_and_the_audit_are_counted() {
    let test = "the_snapshot_the_consumer_dimension_and_the_audit_are_counted";
    let moto = moto_endpoint(test);
    let account = publisher_account(test);
    let cache = SnapshotTable::create(&moto, REGION, &format!("cache-{account}")).await.unwrap();
    let reads = ReadsTable::create(&moto, REGION, &format!("reads-{account}")).await.unwrap();
    let env = [
        ("SNAPSHOT_TABLE", cache.name.as_str()),
        ("READS_TABLE", reads.name.as_str()),
        ("METRICS_CONSUMER_ACCOUNT_DIMENSION", "true"),
    ];
    let world = World::start(test, &env).await;
    let name = format!("svc-{account}-Url");
    let publisher = world.publish(&account, REGION, "svc", &[pair(&name, "https://v1")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [name]});
    world.answer(&world.event("Create", "first", properties.clone())).await;
    world.answer(&world.event("Create", "second", properties)).await;
    let (first, second) = (next_document_at(&world, 0).await, next_document_at(&world, 1).await);
    assert_eq!((first["SnapshotMisses"].as_u64(), first["SnapshotHits"].as_u64()), (Some(1), Some(0)));
    assert_eq!((second["SnapshotMisses"].as_u64(), second["SnapshotHits"].as_u64()), (Some(0), Some(1)));
    assert_eq!(second["ConsumerAccount"], CONSUMER_ACCOUNT);
    assert_eq!(second["FollowUpFailures"], 0);

    // The audit: one document per run, with what it found and put.
    let audit = audit_function(test, &[("READS_TABLE", &reads.name)]).await;
    publisher.delete_stack("svc-0").await.unwrap();
    let report = run_audit(&audit).await;
    // Both Creates were the same resource (one reader), so one read is stale.
    assert_eq!(report["Stale"], 1, "{report}");
    let documents = documents_when(&audit.function, 1).await;
    assert_eq!(documents.len(), 1, "{}", audit.function.logs());
    assert_valid_emf(&documents[0]);
    assert_eq!(
        (
            documents[0]["StaleReads"].as_u64(),
            documents[0]["EventsPut"].as_u64(),
            documents[0]["UncheckedSources"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_holds_nothing_secret(&documents[0], &[&name, "https://v1"]);
}

async fn next_document_at(world: &World, index: usize) -> Value {
    let all = documents_when(&world.function, index + 1).await;
    let document = all.get(index).unwrap_or_else(|| panic!("no document {index}:\n{}", world.function.logs())).clone();
    assert_valid_emf(&document);
    document
}
