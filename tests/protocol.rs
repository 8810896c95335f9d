//! The protocol rules: one answer per request, before the deadline, delivered despite a flaky
//! ResponseURL, with a process that survives anything an event can do to it.

use std::time::{Duration, Instant};

use remote_exports_e2e::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_put_is_retried_after_5xx_and_answered_once() {
    let test = "the_put_is_retried_after_5xx_and_answered_once";
    let world = World::start(test, &[]).await;
    world.responses.answer_next_with(&[503, 500, 429]);
    let (invocation, put) = world.send(&world.event("Delete", "retried", json!({}))).await;
    assert_eq!(put.json()["Status"], "SUCCESS");
    let attempts = world.responses.puts("retried");
    assert_eq!(attempts.iter().map(|p| p.status).collect::<Vec<_>>(), [503, 500, 429, 200]);
    assert!(attempts.windows(2).all(|w| w[0].body == w[1].body), "every attempt sends the same answer");
    assert!(matches!(invocation.outcome, Outcome::Response(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_4xx_is_not_retried_and_the_runtime_hears_of_it() {
    let test = "a_4xx_is_not_retried_and_the_runtime_hears_of_it";
    let world = World::start(test, &[]).await;
    world.responses.answer_next_with(&[403]);
    let invocation = world.runtime.invoke(&world.event("Delete", "expired", json!({})), TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.Undelivered", "{error}");
    assert!(error["errorMessage"].as_str().unwrap().contains("HTTP 403"), "{error}");
    assert_eq!(world.responses.puts("expired").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_slow_aws_endpoint_is_answered_failed_before_the_deadline() {
    let test = "a_slow_aws_endpoint_is_answered_failed_before_the_deadline";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.proxy.delay(Some(Duration::from_secs(60)));
    let deadline = Duration::from_secs(4);
    let started = Instant::now();
    let invocation =
        world.runtime.invoke(&world.event("Create", "slow", json!({"RoleArn": role_arn(&account)})), deadline).await;
    let elapsed = started.elapsed();
    let put = world.responses.delivered("slow", Duration::from_secs(1)).await.expect("an answer before the deadline");
    let answer = put.json();
    assert_eq!(answer["Status"], "FAILED");
    assert!(answer["Reason"].as_str().unwrap().starts_with("Timed out reading export(s) from account"), "{answer}");
    assert!(elapsed < deadline, "answered after the deadline: {elapsed:?}");
    assert!(matches!(invocation.unwrap().outcome, Outcome::Response(_)));
    assert_eq!(world.responses.puts("slow").len(), 1, "exactly one answer");

    // Parameters alone: the Reason sends the team to STS and SSM, not to CloudFormation.
    let properties = json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/topic-arn"]});
    let invocation = world.runtime.invoke(&world.event("Create", "slow-ssm", properties), deadline).await;
    assert!(matches!(invocation.unwrap().outcome, Outcome::Response(_)));
    let answer = world.responses.delivered("slow-ssm", Duration::from_secs(1)).await.expect("an answer").json();
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.starts_with("Timed out reading SSM parameter(s) from account"), "{reason}");
    assert!(reason.contains("STS or SSM was slow or unreachable") && !reason.contains("CloudFormation"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn warm_invocations_reuse_the_assumed_role_credentials() {
    let test = "warm_invocations_reuse_the_assumed_role_credentials";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "warm", &[pair(&format!("w{account}-A"), "a")]).await;
    for i in 0..3 {
        let answer =
            world.answer(&world.event("Create", &format!("warm-{i}"), json!({"RoleArn": role_arn(&account)}))).await;
        assert_eq!(answer["Status"], "SUCCESS");
    }
    assert_eq!(world.proxy.count("AssumeRole"), 1);
    assert_eq!(world.proxy.count("ListExports"), 3);

    // Another external ID is another session: it is assumed separately.
    let answer = world
        .answer(&world.event(
            "Create",
            "other-id",
            json!({"RoleArn": role_arn(&account), "ExternalId": "team-b-secret"}),
        ))
        .await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(world.proxy.count("AssumeRole"), 2);

    // Another consumer account is another session, under its own identity: never the credentials,
    // session name or tags of the consumer that came first.
    let other = "333333333333";
    let answer = world
        .answer(&world.event_from(other, "Create", "other-consumer", json!({"RoleArn": role_arn(&account)})))
        .await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(world.proxy.count("AssumeRole"), 3);
    let last = world.proxy.requests("AssumeRole").pop().unwrap();
    for expected in [
        format!("SourceIdentity={other}"),
        format!("RoleSessionName={other}-airmiles"),
        format!("Tags.member.1.Value={other}"),
    ] {
        assert!(last.contains(&expected), "{expected} missing from {last}");
    }
    assert!(!last.contains(CONSUMER_ACCOUNT), "the first consumer's identity was reused: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn malformed_events_never_break_the_next_invocation() {
    let test = "malformed_events_never_break_the_next_invocation";
    let mut world = World::start(test, &[]).await;

    // Unanswerable: no ResponseURL. The runtime gets an error; nothing is sent.
    let invocation = world.runtime.invoke(&json!({"hello": "world"}), TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.Unanswerable", "{error}");

    // Not even JSON.
    let invocation = world.runtime.invoke_raw(b"\x00not json".to_vec(), TIMEOUT).await.unwrap();
    assert!(matches!(invocation.outcome, Outcome::Error(_)), "{:?}", invocation.outcome);

    // Answerable: it has a ResponseURL, so it is answered FAILED.
    let mut unknown = world.event("Create", "unknown-type", json!({}));
    unknown["RequestType"] = json!("Upsert");
    let answer = world.answer(&unknown).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(answer["Reason"].as_str().unwrap().starts_with("Invalid request: unknown variant `Upsert`"), "{answer}");

    // A ResponseURL that is not S3 and not allowed loopback is refused: nothing is sent anywhere.
    let mut foreign = world.event("Create", "foreign", json!({}));
    foreign["ResponseURL"] = json!("https://collector.example.com/steal?X-Amz-Signature=abc");
    let invocation = world.runtime.invoke(&foreign, TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.ResponseUrlRefused", "{error}");

    // The same process still serves a good request.
    assert!(world.function.is_running());
    let answer = world.answer(&world.event("Delete", "after", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn logs_have_one_json_line_per_request_and_no_secrets() {
    let test = "logs_have_one_json_line_per_request_and_no_secrets";
    let world = World::start(test, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "logs", &[pair(&format!("l{account}-A"), "visible-value")]).await;
    world.answer(&world.event("Create", "logged", json!({"RoleArn": role_arn(&account)}))).await;
    world.responses.answer_next_with(&[503]);
    world.answer(&world.event("Delete", "logged-delete", json!({}))).await;
    let logs = world.function.stop().await;

    let answered: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "answered")
        .collect();
    assert_eq!(answered.len(), 2, "{logs}");
    let create = &answered[0]["fields"];
    assert_eq!(create["request_type"], "Create");
    assert_eq!(create["outcome"], "SUCCESS");
    assert_eq!(create["data_keys"], 1);
    assert!(create["detail"].as_str().unwrap().starts_with("scanned=1 pages=1"), "{create}");
    assert_eq!(create["logical_resource_id"], "Lookup");
    assert!(create["stack_id"].as_str().unwrap().contains(":stack/airmiles/"));
    assert!(create["duration_ms"].is_u64());
    assert_eq!(answered[1]["fields"]["delivery_attempts"], 2);

    assert!(!logs.contains(ResponseEndpoint::signature()), "the presigned signature was logged:\n{logs}");
    assert!(!logs.contains("visible-value"), "export values are never logged:\n{logs}");
    let issued = world.proxy.issued_credentials();
    assert_eq!(issued.len(), 3, "the proxy saw no AssumeRole credentials to look for");
    for secret in issued {
        assert!(!logs.contains(&secret), "an assumed-role credential was logged:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn even_trace_logging_keeps_secrets_out() {
    let test = "even_trace_logging_keeps_secrets_out";
    let world = World::start(test, &[("RUST_LOG", "trace")]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "trace", &[pair("db-Password", "correct-horse-battery-staple")]).await;
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": ["db-Password"], "NoEcho": "true"});
    let answer = world.answer(&world.event("Create", "traced", properties)).await;
    assert_eq!(answer["Status"], "SUCCESS");
    let logs = world.function.stop().await;
    assert!(logs.lines().any(|l| l.trim_start().starts_with("TRACE")), "trace logging was not on:\n{logs}");
    assert!(!logs.contains(ResponseEndpoint::signature()), "the presigned signature was logged:\n{logs}");
    assert!(!logs.contains("correct-horse-battery-staple"), "a NoEcho value was logged:\n{logs}");
    let issued = world.proxy.issued_credentials();
    assert_eq!(issued.len(), 3, "the proxy saw no AssumeRole credentials to look for");
    for secret in issued {
        assert!(!logs.contains(&secret), "an assumed-role credential was logged:\n{logs}");
    }
}
