//! Trust only what CloudFormation signs: forged invocations get nothing, and per-consumer-account
//! policies (inline or in SSM) decide what each consumer may read.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

const OTHER_ACCOUNT: &str = "333333333333";

/// Sends an event whose ResponseURL the function must refuse, and checks that nothing happened.
async fn assert_refused(world: &World, event: &Value, what: &str) {
    let invocation = world.runtime.invoke(event, TIMEOUT).await.unwrap();
    let Outcome::Error(error) = &invocation.outcome else { panic!("{what}: not refused: {:?}", invocation.outcome) };
    assert_eq!(error["errorType"], "RemoteExports.ResponseUrlRefused", "{what}: {error}");
    assert!(world.responses.all_puts().is_empty(), "{what}: something was PUT");
    assert!(world.proxy.calls().is_empty(), "{what}: AWS was called: {:?}", world.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn forged_invocations_get_no_answer_and_no_lookup() {
    let test = "forged_invocations_get_no_answer_and_no_lookup";
    let mut world = World::start(test, &[]).await;
    let account = publisher_account(test);
    world.publish(&account, REGION, "secret", &[pair(&format!("s{account}-Password"), "correct-horse")]).await;
    let properties = json!({"RoleArn": role_arn(&account)});
    let genuine = world.event("Create", "genuine", properties.clone());
    let url = genuine["ResponseURL"].as_str().unwrap().to_owned();
    let (base, query) = url.split_once('?').unwrap();
    let endpoint = base.split("/cloudformation-custom-resource-response-").next().unwrap();
    let key = base.rsplit('/').next().unwrap();

    let mut forged = Vec::new();
    let mut foreign_bucket = genuine.clone();
    foreign_bucket["ResponseURL"] = json!(format!("{endpoint}/attacker-bucket/{key}?{query}"));
    forged.push(("a foreign bucket on loopback", foreign_bucket));

    let mut other_request = genuine.clone();
    world.responses.address(&mut other_request);
    other_request["RequestId"] = json!("another-request");
    forged.push(("the right bucket with another request's key", other_request));

    // The key names a stack in the publisher's account; the event claims the consumer's.
    let mut other_account = world.event_from(&account, "Create", "genuine", properties.clone());
    other_account["StackId"] = genuine["StackId"].clone();
    forged.push(("a key for another account's stack", other_account));

    let mut malformed_key = genuine.clone();
    malformed_key["ResponseURL"] =
        json!(format!("{endpoint}/cloudformation-custom-resource-response-euwest1/%FF%FE%7C?{query}"));
    forged.push(("a malformed key", malformed_key));

    let mut not_s3 = genuine.clone();
    not_s3["ResponseURL"] =
        json!(format!("https://collector.example.com/cloudformation-custom-resource-response-euwest1/{key}?{query}"));
    forged.push(("a host that is not S3", not_s3));

    for (what, event) in &forged {
        assert_refused(&world, event, what).await;
        assert!(world.function.is_running(), "{what}: the function died");
    }
    let answer = world.answer(&genuine).await;
    assert_eq!(answer["Status"], "SUCCESS", "the genuine request after the forged ones: {answer}");

    let logs = world.function.stop().await;
    assert_eq!(logs.matches("ResponseURL refused").count(), forged.len(), "{logs}");
    assert!(!logs.contains(ResponseEndpoint::signature()), "the presigned signature was logged:\n{logs}");
    assert!(!logs.contains("correct-horse"), "a value was logged:\n{logs}");
}

fn policy_env(policy: &Value) -> String {
    policy.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_consumer_policy_decides_what_each_account_reads() {
    let test = "the_consumer_policy_decides_what_each_account_reads";
    let account = publisher_account(test);
    let role = role_arn(&account);
    let topic = format!("booking{account}-TopicArn");
    let secret = format!("payroll{account}-DbPassword");
    let shared = format!("shared{account}-VpcId");
    let policy = json!({
        CONSUMER_ACCOUNT: {"RoleArns": [role], "Exports": [format!("booking{account}-*")]},
        "*": {"RoleArns": ["self"], "Exports": [format!("shared{account}-*")]},
    });
    let world = World::start(test, &[("CONSUMER_POLICY", &policy_env(&policy))]).await;
    world.publish(&account, REGION, "booking", &[pair(&topic, "arn:topic"), pair(&secret, "hunter2")]).await;
    world.publish(CONSUMER_ACCOUNT, REGION, &format!("shared-{account}"), &[pair(&shared, "vpc-1")]).await;

    // Allowed: the consumer's own entry, through its role, its exports only.
    let answer = world.answer(&world.event("Create", "allowed", json!({"RoleArn": role}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"], json!({&topic: "arn:topic"}), "an export outside the policy was returned");

    // Denied by export: asked by name, refused before any call.
    world.proxy.reset();
    let answer =
        world.answer(&world.event("Create", "by-export", json!({"RoleArn": role, "ExportNames": [secret]}))).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("Consumer account {CONSUMER_ACCOUNT} may not read export(s) '{secret}'")),
        "{reason}"
    );
    assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());

    // Denied by role: another account falls back to "*", which allows only the function's own account.
    let answer = world.answer(&world.event_from(OTHER_ACCOUNT, "Create", "by-role", json!({"RoleArn": role}))).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("Consumer account {OTHER_ACCOUNT} may not read through {role}")), "{reason}");
    assert!(
        !reason.contains(CONSUMER_ACCOUNT) && !reason.contains("booking"),
        "other accounts' rules leaked: {reason}"
    );
    assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());

    // The "*" fallback with `self`: the function's own account, its shared exports only.
    let answer = world.answer(&world.event_from(OTHER_ACCOUNT, "Create", "fallback", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"], json!({&shared: "vpc-1"}));
    assert_eq!(answer["PhysicalResourceId"], format!("remote-exports:self:{REGION}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn an_account_without_an_entry_is_refused_and_an_invalid_policy_still_deletes() {
    let test = "an_account_without_an_entry_is_refused_and_an_invalid_policy_still_deletes";
    let policy = json!({CONSUMER_ACCOUNT: {"RoleArns": ["self"], "Exports": ["*"]}});
    let world = World::start(test, &[("CONSUMER_POLICY", &policy_env(&policy))]).await;
    let answer = world.answer(&world.event_from(OTHER_ACCOUNT, "Create", "stranger", json!({}))).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("Consumer account {OTHER_ACCOUNT} may not use this function")), "{reason}");
    assert!(world.proxy.calls().is_empty());

    let broken =
        World::start(&format!("{test}-broken"), &[("CONSUMER_POLICY", r#"{"*": {"RoleArns": ["self"]}}"#)]).await;
    let answer = broken.answer(&broken.event("Create", "broken", json!({}))).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.contains("consumer policy (CONSUMER_POLICY) entry for * needs Exports"), "{reason}");
    let answer = broken.answer(&broken.event("Delete", "broken-delete", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "Delete must succeed whatever the policy: {answer}");
    assert!(broken.proxy.calls().is_empty());
}

async fn put_policy(moto: &str, name: &str, policy: &Value) {
    put_parameter(moto, name, &policy.to_string(), aws_sdk_ssm::types::ParameterType::String).await;
}

async fn put_parameter(moto: &str, name: &str, value: &str, kind: aws_sdk_ssm::types::ParameterType) {
    let config = test_support::sdk_config(moto, REGION).await;
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_policy_in_ssm_is_cached_for_its_ttl_then_reread() {
    let test = "a_policy_in_ssm_is_cached_for_its_ttl_then_reread";
    let account = publisher_account(test);
    let role = role_arn(&account);
    let export = format!("booking{account}-TopicArn");
    let parameter = format!("/remote-exports/{account}/consumer-policy");
    let allow = |exports: &str| json!({CONSUMER_ACCOUNT: {"RoleArns": [role], "Exports": [exports]}});
    let moto = moto_endpoint(test);
    put_policy(&moto, &parameter, &allow("booking*")).await;
    let ttl = Duration::from_secs(3);
    let world = World::start(
        test,
        &[("CONSUMER_POLICY_PARAMETER", &parameter), ("CONSUMER_POLICY_TTL_SECONDS", &ttl.as_secs().to_string())],
    )
    .await;
    world.publish(&account, REGION, "booking", &[pair(&export, "arn:topic")]).await;

    let properties = json!({"RoleArn": role, "ExportNames": [export]});
    let started = std::time::Instant::now();
    assert_eq!(world.answer(&world.event("Create", "first", properties.clone())).await["Status"], "SUCCESS");

    // The platform team narrows the policy; within the TTL the container still uses what it read.
    put_policy(&moto, &parameter, &allow("shared-*")).await;
    let cached = world.answer(&world.event("Create", "cached", properties.clone())).await;
    assert!(started.elapsed() < ttl, "the test machine was too slow to check the cache");
    assert_eq!(cached["Status"], "SUCCESS", "{cached}");

    tokio::time::sleep(ttl.saturating_sub(started.elapsed()) + Duration::from_millis(300)).await;
    let reread = world.answer(&world.event("Create", "reread", properties)).await;
    let reason = reread["Reason"].as_str().unwrap_or_default();
    assert!(reason.contains("may not read export(s)") && reason.contains(&parameter), "{reread}");

    // An unreadable parameter names itself; Delete still succeeds.
    let missing =
        World::start(&format!("{test}-missing"), &[("CONSUMER_POLICY_PARAMETER", "/no/such/parameter")]).await;
    let answer = missing.answer(&missing.event("Create", "missing", json!({}))).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.contains("(CONSUMER_POLICY_PARAMETER /no/such/parameter) could not be read"), "{reason}");
    assert_eq!(missing.answer(&missing.event("Delete", "missing-delete", json!({}))).await["Status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_host_only_escape_hatch_warns_and_accepts_any_bucket() {
    let test = "the_host_only_escape_hatch_warns_and_accepts_any_bucket";
    let world = World::start(test, &[("RESPONSE_URL_BINDING", "host-only")]).await;
    let mut event = world.event("Delete", "unbound", json!({}));
    let url =
        event["ResponseURL"].as_str().unwrap().replace("cloudformation-custom-resource-response-euwest1", "any-bucket");
    event["ResponseURL"] = json!(url);
    let answer = world.answer(&event).await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(world.responses.puts("unbound")[0].bucket, "any-bucket");
    let logs = world.function.stop().await;
    let warning =
        logs.lines().find(|l| l.contains("RESPONSE_URL_BINDING=host-only")).unwrap_or_else(|| panic!("{logs}"));
    assert!(warning.contains("WARN"), "{warning}");
}

/// Under `host-only` the URL's key is not checked, so the StackId's account is only the invoker's
/// claim: the function gives the publisher no identity (no SourceIdentity, no session tags: a role
/// with AllowedConsumerAccounts refuses it), and refuses NoEcho reads, SecureStrings included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn host_only_claims_no_consumer_and_answers_nothing_secret() {
    let test = "host_only_claims_no_consumer_and_answers_nothing_secret";
    let world = World::start(test, &[("RESPONSE_URL_BINDING", "host-only")]).await;
    let account = publisher_account(test);
    let export = format!("svc-{account}-Topic");
    let publisher = world.publish(&account, REGION, "svc", &[pair(&export, "arn:topic")]).await;
    publisher.put_parameter("/booking/prod/db-password", "SecureString", "correct-horse-battery").await.unwrap();
    // A hand-made event that claims account 777777777777, answered to a key of the invoker's choice.
    let claimed = "777777777777";
    let forge = |name: &str, properties: Value| {
        let mut event = world.event_from(claimed, "Create", name, properties);
        let url = event["ResponseURL"]
            .as_str()
            .unwrap()
            .replace("cloudformation-custom-resource-response-euwest1", "invokers-bucket");
        event["ResponseURL"] = json!(url);
        event
    };
    let plain = world.answer(&forge("plain", json!({"RoleArn": role_arn(&account), "ExportNames": [export]}))).await;
    assert_eq!(plain["Data"][&export], "arn:topic", "{plain}");
    let assumed = world.proxy.requests("AssumeRole");
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    for claim in ["SourceIdentity", "Tags.member", claimed] {
        assert!(!assumed[0].contains(claim), "the unproven consumer reached the publisher ({claim}): {}", assumed[0]);
    }
    assert!(assumed[0].contains("RoleSessionName=remote-exports"), "{}", assumed[0]);

    world.proxy.reset();
    let secret = json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/db-password"], "NoEcho": "true"});
    let refused = world.answer(&forge("secret", secret)).await;
    assert_eq!(refused["Status"], "FAILED", "{refused}");
    assert!(reason(&refused).contains("RESPONSE_URL_BINDING=host-only"), "{refused}");
    assert!(!refused.to_string().contains("correct-horse-battery"), "{refused}");
    assert!(world.proxy.calls().is_empty(), "a refused NoEcho read made calls: {:?}", world.proxy.calls());
    assert_eq!(world.responses.puts("secret")[0].bucket, "invokers-bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_policy_parameter_is_read_by_its_type() {
    use aws_sdk_ssm::types::ParameterType;
    let test = "a_policy_parameter_is_read_by_its_type";
    let account = publisher_account(test);
    let role = role_arn(&account);
    let export = format!("booking{account}-TopicArn");
    let moto = moto_endpoint(test);
    let policy = json!({CONSUMER_ACCOUNT: {"RoleArns": [role], "Exports": ["booking*"]}}).to_string();
    let properties = json!({"RoleArn": role, "ExportNames": [export]});

    // A SecureString is decrypted: moto, like SSM, returns the ciphertext without WithDecryption.
    let secure = format!("/remote-exports/{account}/secure-policy");
    put_parameter(&moto, &secure, &policy, ParameterType::SecureString).await;
    let world = World::start(test, &[("CONSUMER_POLICY_PARAMETER", &secure)]).await;
    world.publish(&account, REGION, "booking", &[pair(&export, "arn:topic")]).await;
    let answer = world.answer(&world.event("Create", "secure", properties.clone())).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"][&export], "arn:topic");

    // A plain String, as before.
    let plain = format!("/remote-exports/{account}/plain-policy");
    put_parameter(&moto, &plain, &policy, ParameterType::String).await;
    let world = World::start(&format!("{test}-plain"), &[("CONSUMER_POLICY_PARAMETER", &plain)]).await;
    assert_eq!(world.answer(&world.event("Create", "plain", properties.clone())).await["Status"], "SUCCESS");

    // A StringList cannot hold the document: the Reason names the type and the fix, not "not valid JSON".
    let list = format!("/remote-exports/{account}/list-policy");
    put_parameter(&moto, &list, "a,b", ParameterType::StringList).await;
    let world = World::start(&format!("{test}-list"), &[("CONSUMER_POLICY_PARAMETER", &list)]).await;
    let answer = world.answer(&world.event("Create", "list", properties)).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.contains("is a StringList parameter") && reason.contains("String or SecureString"), "{reason}");
    assert!(!reason.contains("not valid JSON"), "{reason}");
    assert_eq!(world.answer(&world.event("Delete", "list-delete", json!({}))).await["Status"], "SUCCESS");
}

/// A stack whose response bucket AWS does not own (a made-up region, a pseudo-region), a stack in
/// another region than the function, and a partition this version does not know, with a foreign
/// host under `host-only`: each refused before any AWS call, with no answer, no registry write, an
/// ERROR line and a `Refused` count. A genuine request to the same function is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn only_the_functions_own_region_and_partition_are_served() {
    let test = "only_the_functions_own_region_and_partition_are_served";
    let account = publisher_account(test);
    let table = ReadsTable::create(&moto_endpoint(test), REGION, &format!("reads-{account}")).await.unwrap();
    for binding in ["request", "host-only"] {
        let world = World::start(
            &format!("{test}-{binding}"),
            &[("READS_TABLE", &table.name), ("RESPONSE_URL_BINDING", binding)],
        )
        .await;
        if binding == "request" {
            world.publish(&account, REGION, "booking", &[pair(&format!("b{account}-Topic"), "arn:t")]).await;
        }
        let properties = json!({"RoleArn": role_arn(&account)});
        let stack = |partition: &str, region: &str| {
            format!("arn:{partition}:cloudformation:{region}:{CONSUMER_ACCOUNT}:stack/airmiles/6f1c9a70-c7b1-11f0")
        };
        let mut forged = Vec::new();
        // The ResponseURL is the response bucket of the region the StackId names, with the request's
        // own key: what a forger who made that bucket would send.
        for (what, partition, region) in [
            ("a made-up region", "aws", "us-evil-1"),
            ("the aws-global pseudo-region", "aws", "aws-global"),
            ("another region than the function's", "aws", "us-east-1"),
            ("another partition", "aws-us-gov", "us-gov-west-1"),
        ] {
            forged.push((what, world.event_for(&stack(partition, region), "Create", "forged", properties.clone())));
        }
        // An unknown partition, answered at a host outside AWS.
        let mut unknown = world.event_for(&stack("aws-zz", "zz-east-1"), "Create", "forged", properties.clone());
        unknown["ResponseURL"] = json!(format!(
            "https://s3.zz-east-1.attacker.example/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&{}",
            ResponseEndpoint::signature()
        ));
        forged.push(("an unknown partition at a foreign host", unknown));
        for (what, event) in &forged {
            assert_refused(&world, event, &format!("{binding}: {what}")).await;
        }
        let genuine = world.event("Create", "genuine", properties.clone());
        let answer = world.answer(&genuine).await;
        assert_eq!(answer["Status"], "SUCCESS", "{binding}: the genuine request: {answer}");

        let logs = world.function.stop().await;
        let refusals: Vec<&str> = logs.lines().filter(|l| l.contains("ResponseURL refused")).collect();
        assert_eq!(refusals.len(), forged.len(), "{binding}:\n{logs}");
        assert!(refusals.iter().all(|l| l.contains("ERROR")), "{refusals:?}");
        for region in ["us-evil-1", "aws-global", "us-east-1", "us-gov-west-1"] {
            assert!(
                refusals.iter().any(|l| l.contains(&format!("region '{region}'")) && l.contains("stack's own region")),
                "{binding}: {region} is not named:\n{refusals:?}"
            );
        }
        assert!(refusals.iter().any(|l| l.contains("'aws-zz'")), "{refusals:?}");
        let counted = logs.lines().filter(|l| l.contains("\"Refused\":1")).count();
        assert_eq!(counted, forged.len(), "{binding}: one Refused count per forged request:\n{logs}");
        assert!(!logs.contains(ResponseEndpoint::signature()), "the presigned signature was logged:\n{logs}");
    }
    let readers: Vec<String> =
        table.items().await.unwrap().iter().map(|item| item["StackId"]["S"].as_str().unwrap().to_owned()).collect();
    assert_eq!(readers.len(), 1, "only the genuine reads were recorded (both under one key): {readers:?}");
    assert!(readers[0].contains(&format!(":{REGION}:")), "{readers:?}");
}

/// A bound ResponseURL that answers with a redirect: the answer is not sent again, to the
/// `Location` or anywhere, and the log says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_redirecting_response_url_gets_no_answer_anywhere_else() {
    let test = "a_redirecting_response_url_gets_no_answer_anywhere_else";
    let world = World::start(test, &[]).await;
    let elsewhere = ResponseEndpoint::start().await.unwrap();
    let event = world.event("Delete", "redirected", json!({}));
    let stack_id = event["StackId"].as_str().unwrap();
    world.responses.redirect_next_to(307, &elsewhere.url(stack_id, "Lookup", "redirected"));
    let invocation = world.runtime.invoke(&event, TIMEOUT).await.unwrap();
    assert!(matches!(invocation.outcome, Outcome::Error(_)), "{:?}", invocation.outcome);
    let puts = world.responses.puts("redirected");
    assert_eq!(puts.iter().map(|p| p.status).collect::<Vec<_>>(), [307], "one attempt, not retried");
    assert!(elsewhere.all_puts().is_empty(), "the redirect was followed: {:?}", elsewhere.all_puts().len());
    assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());
    let logs = world.function.stop().await;
    assert!(logs.contains("HTTP 307") && logs.contains("never followed"), "{logs}");
    assert!(!logs.contains(ResponseEndpoint::signature()), "the presigned signature was logged:\n{logs}");
}
