//! The export guard end to end: the real binary in `guard` mode, acting as a publisher account in
//! moto, answers Lambda Hook requests in the Hooks User Guide's shape whose payload is a presigned
//! moto S3 URL; the registry is a moto DynamoDB table of the central account, read through the
//! central role, with readers written by the real custom-resource function or by hand.

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// Booking as it stands in the publisher account: literal export names, as CloudFormation resolved
/// them; the templates the hook is given spell them as their authors do (`!Sub`).
const BOOKING_STACK: &str = r#"
Resources:
  Placeholder:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  BookingTopicArn:
    Value: arn:aws:sns:eu-west-1:000000000000:booking-topic
    Export: {Name: booking-BookingTopicArn}
  QueueUrl:
    Value: https://sqs.eu-west-1.amazonaws.com/000000000000/booking
    Export: {Name: booking-QueueUrl}
  Unread:
    Value: nobody-reads-this
    Export: {Name: booking-Unread}
  TableName:
    Value: booking-table
"#;

/// The template Booking deploys, as its authors write it: the same outputs and names as the stack.
const BOOKING_TEMPLATE: &str = r#"
Resources:
  Placeholder:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  BookingTopicArn:
    Value: arn:aws:sns:eu-west-1:000000000000:booking-topic
    Export:
      Name: !Sub '${AWS::StackName}-BookingTopicArn'
  QueueUrl:
    Value: https://sqs.eu-west-1.amazonaws.com/000000000000/booking
    Export:
      Name: !Join ['-', [!Ref 'AWS::StackName', QueueUrl]]
  Unread:
    Value: nobody-reads-this
    Export:
      Name: !Sub '${AWS::StackName}-Unread'
  TableName:
    Value: booking-table
"#;

/// The central account's role that guards read the registry through.
const REGISTRY_ROLE: &str = "arn:aws:iam::123456789012:role/remote-exports-guard-registry";

struct Guarded {
    world: World,
    payloads: HookPayloads,
    table: ReadsTable,
    publisher: Publisher,
}

impl Guarded {
    /// The guard deployed in a publisher account of this test's own, Booking's stack created there.
    async fn start(test: &str) -> Guarded {
        let moto = moto_endpoint(test);
        let account = publisher_account(test);
        let table = ReadsTable::create(&moto, REGION, &format!("reads-{account}")).await.unwrap();
        let publisher = Publisher::connect(&moto, &account, REGION).await.unwrap();
        publisher.create_stack("booking", BOOKING_STACK).await.unwrap();
        let arn = table.arn().await.unwrap();
        let mut env: Vec<(String, String)> = vec![
            ("FUNCTION_MODE".into(), "guard".into()),
            ("FUNCTION_ACCOUNT_ID".into(), account.clone()),
            ("READS_TABLE".into(), arn),
            ("GUARD_REGISTRY_ROLE_ARN".into(), REGISTRY_ROLE.into()),
        ];
        env.extend(publisher.credential_env());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let world = World::start(test, &env).await;
        let payloads = HookPayloads::create(&moto, REGION).await.unwrap();
        Guarded { world, payloads, table, publisher }
    }

    fn account(&self) -> &str {
        &self.publisher.account
    }

    /// A STACK hook request in the guide's shape ("Evaluating stack operations").
    fn stack_request(&self, action: &str, payload: &str) -> Value {
        let stack_id = format!(
            "arn:aws:cloudformation:{REGION}:{}:stack/booking/1a2345b6-0000-00a0-a123-00abc0abc000",
            self.account()
        );
        json!({
            "clientRequestToken": format!("token-{action}-{}", payload.len()),
            "awsAccountId": self.account(),
            "stackId": stack_id,
            "changeSetId": null,
            "hookTypeName": "RemoteExports::Guard::Exports",
            "hookTypeVersion": "00000001",
            "hookModel": {"LambdaFunction": format!("arn:aws:lambda:{REGION}:{}:function:remote-exports-guard", self.account())},
            "actionInvocationPoint": action,
            "requestData": {"targetName": "STACK", "targetType": "STACK", "targetLogicalId": "booking", "payload": payload},
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    /// The payload of a stack update, stored where the Hooks service would put it.
    async fn update_payload(&self, key: &str, template: &str) -> String {
        let body = json!({"template": template, "previousTemplate": BOOKING_TEMPLATE});
        self.payloads.put(&format!("{}/{key}", self.account()), body.to_string()).await.unwrap()
    }

    /// The guard's log once `checks` metrics documents are in it (stdout is read as it comes).
    async fn logs_after(&self, checks: usize) -> String {
        let wait = std::time::Duration::from_secs(10);
        self.world.function.logs_when(wait, |logs| metric(logs, "GuardChecked").len() >= checks).await
    }

    /// Invokes the guard and returns its answer.
    async fn check(&self, request: &Value) -> Value {
        let invocation = self.world.runtime.invoke(request, TIMEOUT).await.unwrap();
        match invocation.outcome {
            Outcome::Response(body) => {
                assert_eq!(body["clientRequestToken"], request["clientRequestToken"], "{body}");
                body
            }
            other => panic!("{other:?}\n{}", self.world.function.logs()),
        }
    }

    /// A reader recorded by hand, in the registry's item format (docs/src/governance.md).
    async fn record(&self, consumer: &str, consumer_region: &str, stack: &str, reads: &[(&str, &str)]) {
        let stack_id = format!("arn:aws:cloudformation:{consumer_region}:{consumer}:stack/{stack}/0f1e2d3c");
        self.record_for(self.account(), &stack_id, stack, reads).await;
    }

    async fn record_for(&self, publisher: &str, stack_id: &str, stack: &str, reads: &[(&str, &str)]) {
        let item = reader_item(publisher, REGION, stack_id, stack, reads);
        self.table.put(item).await.unwrap();
    }
}

/// `template` without the output `key` (its line and the lines indented under it).
fn without_output(template: &str, key: &str) -> String {
    let mut inside = false;
    let kept: Vec<&str> = template
        .lines()
        .filter(|line| {
            if line.starts_with("  ") && !line.starts_with("   ") {
                inside = line.trim_end() == format!("  {key}:");
            } else if !line.starts_with(' ') {
                inside = false;
            }
            !inside
        })
        .collect();
    kept.join("\n") + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn removing_an_export_another_account_reads_is_stopped_until_the_reader_is_gone() {
    let test = "removing_an_export_another_account_reads_is_stopped_until_the_reader_is_gone";
    let guarded = Guarded::start(test).await;
    // Airmiles, in the consumer account, reads Booking's topic through the real function, which
    // records the read in the central registry.
    let consumer = World::start(&format!("{test}-consumer"), &[("READS_TABLE", &guarded.table.name)]).await;
    let properties = json!({"RoleArn": role_arn(guarded.account()), "Exports": {"Topic": "booking-BookingTopicArn"}});
    let created = consumer.answer(&consumer.event("Create", "airmiles-create", properties.clone())).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");

    let removed = without_output(BOOKING_TEMPLATE, "BookingTopicArn");
    let url = guarded.update_payload("remove-topic", &removed).await;
    guarded.world.proxy.reset();
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(
        (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
        (Some("FAILED"), Some("NonCompliant")),
        "{answer}"
    );
    let message = answer["message"].as_str().unwrap();
    for named in [
        "export booking-BookingTopicArn (output BookingTopicArn)",
        CONSUMER_ACCOUNT,
        "stack airmiles (eu-west-1)",
        "resource Lookup as Topic",
        "FailureMode to WARN",
    ] {
        assert!(message.contains(named), "{named} missing from: {message}");
    }
    assert_eq!(answer["annotations"][0]["annotationName"], "RemovedExportStillRead", "{answer}");
    assert_eq!(answer["annotations"][0]["status"], "FAILED");
    // One DescribeStacks, one AssumeRole (as this account), one Query on the index: no Scan.
    let calls = guarded.world.proxy.calls();
    assert_eq!(calls.get("DescribeStacks"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("AssumeRole"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("Query"), Some(&1), "{calls:?}");
    assert!(!calls.keys().any(|action| action.contains("Scan")), "{calls:?}");
    let assumed = guarded.world.proxy.requests("AssumeRole").join("\n");
    assert!(assumed.contains(&format!("SourceIdentity={}", guarded.account())), "{assumed}");
    let logs = guarded.logs_after(1).await;
    assert_eq!(metric(&logs, "GuardBlocked"), [1], "{logs}");
    assert_eq!(metric(&logs, "GuardChecked"), [1], "{logs}");
    assert!(!logs.contains("X-Amz-Signature"), "a payload URL's query reached the log: {logs}");

    // Airmiles is deleted: its record goes, and the same update passes.
    let mut delete = consumer.event("Delete", "airmiles-delete", properties);
    delete["PhysicalResourceId"] = created["PhysicalResourceId"].clone();
    assert_eq!(consumer.answer(&delete).await["Status"], "SUCCESS");
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(answer["hookStatus"], "SUCCESS", "{answer}");
    assert!(answer.get("errorCode").is_none(), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn renames_deletes_outputs_change_sets_and_value_changes_are_judged_by_their_readers() {
    let test = "renames_deletes_outputs_change_sets_and_value_changes_are_judged_by_their_readers";
    let guarded = Guarded::start(test).await;
    // A reader of the queue in another region (one registry for all), a StackOutputs reader of the
    // plain output, and a reader of the topic.
    guarded.record("333333333333", "us-east-1", "hotels", &[("Queue", "booking-QueueUrl")]).await;
    guarded.record("444444444444", REGION, "reports", &[("booking.TableName", "booking.TableName")]).await;
    guarded.record("555555555555", REGION, "cars", &[("Topic", "booking-BookingTopicArn")]).await;

    // The unread export goes: nobody is broken.
    let url = guarded.update_payload("unread", &without_output(BOOKING_TEMPLATE, "Unread")).await;
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(answer["hookStatus"], "SUCCESS", "{answer}");

    // The queue's export is renamed: its reader in us-east-1 is named.
    let renamed = BOOKING_TEMPLATE.replace("[!Ref 'AWS::StackName', QueueUrl]", "[!Ref 'AWS::StackName', Queue]");
    let url = guarded.update_payload("renamed", &renamed).await;
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(answer["errorCode"], "NonCompliant", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("export booking-QueueUrl (output QueueUrl), renamed to booking-Queue"), "{message}");
    assert!(message.contains("account 333333333333 stack hotels (us-east-1)"), "{message}");

    // The plain output goes: its StackOutputs reader is named.
    let url = guarded.update_payload("output", &without_output(BOOKING_TEMPLATE, "TableName")).await;
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(answer["errorCode"], "NonCompliant", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("output TableName, the output is removed: read by\n  - account 444444444444"),
        "{answer}"
    );

    // A value changes: a warning, not a block.
    let changed = BOOKING_TEMPLATE.replace("booking-topic\n", "booking-topic-v2\n");
    let url = guarded.update_payload("changed", &changed).await;
    let answer = guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await;
    assert_eq!(answer["hookStatus"], "SUCCESS", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("Warning: export booking-BookingTopicArn changes its value"),
        "{answer}"
    );
    assert_eq!(answer["annotations"][0]["annotationName"], "ReadExportChangesValue", "{answer}");

    // The stack is deleted: the payload holds no template, the stack as it stands says what goes.
    let empty = guarded
        .payloads
        .put(&format!("{}/delete", guarded.account()), r#"{"template": "", "previousTemplate": ""}"#)
        .await
        .unwrap();
    let answer = guarded.check(&guarded.stack_request("DELETE_PRE_PROVISION", &empty)).await;
    assert_eq!(answer["errorCode"], "NonCompliant", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.starts_with("3 export(s) or output(s)"), "{message}");
    assert!(message.contains("the stack is deleted"), "{message}");

    // A change set that removes the topic ("Evaluating change set operations").
    let mut request = guarded.stack_request("CREATE_PRE_PROVISION", "");
    let change_set = format!("arn:aws:cloudformation:{REGION}:{}:changeSet/remove-topic/5d6e7f80", guarded.account());
    let body = json!({"template": without_output(BOOKING_TEMPLATE, "BookingTopicArn"), "changedResources": []});
    request["changeSetId"] = json!(change_set);
    request["requestData"] = json!({
        "targetName": "CHANGE_SET", "targetType": "CHANGE_SET", "targetLogicalId": change_set,
        "payload": guarded.payloads.put(&format!("{}/change-set", guarded.account()), body.to_string()).await.unwrap(),
    });
    let answer = guarded.check(&request).await;
    assert_eq!(answer["errorCode"], "NonCompliant", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("account 555555555555 stack cars"), "{answer}");

    // The same change set as the guide's change-set syntax block writes it: `clientRequesttoken`,
    // `stackID`, and no `actionInvocationPoint`. It is judged, not refused.
    let object = request.as_object_mut().unwrap();
    object.remove("actionInvocationPoint");
    let token = object.remove("clientRequestToken").unwrap();
    object.insert("clientRequesttoken".into(), token.clone());
    let stack_id = object.remove("stackId").unwrap();
    object.insert("stackID".into(), stack_id);
    let invocation = guarded.world.runtime.invoke(&request, TIMEOUT).await.unwrap();
    let Outcome::Response(answer) = invocation.outcome else { panic!("{:?}", invocation.outcome) };
    assert_eq!(
        (answer["errorCode"].as_str(), &answer["clientRequestToken"]),
        (Some("NonCompliant"), &token),
        "{answer}"
    );
    let logs = guarded.logs_after(7).await;
    assert_eq!(metric(&logs, "GuardBlocked"), [0, 1, 1, 0, 1, 1, 1], "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn payloads_from_elsewhere_too_large_or_malformed_are_internal_failures() {
    let test = "payloads_from_elsewhere_too_large_or_malformed_are_internal_failures";
    let guarded = Guarded::start(test).await;
    let failure = |answer: &Value| {
        assert_eq!(
            (answer["hookStatus"].as_str(), answer["errorCode"].as_str()),
            (Some("FAILED"), Some("InternalFailure")),
            "{answer}"
        );
        answer["message"].as_str().unwrap().to_owned()
    };

    // A URL outside the region's S3 endpoints is never fetched, and nothing is read.
    guarded.world.proxy.reset();
    let foreign = "https://payloads.example.com/p.json?X-Amz-Signature=forged";
    let message = failure(&guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", foreign)).await);
    assert!(message.contains("not an S3 endpoint of eu-west-1"), "{message}");
    assert!(!message.contains("forged"), "the query string reached the message: {message}");
    assert!(guarded.world.proxy.calls().is_empty(), "{:?}", guarded.world.proxy.calls());

    // A 5 MB template: refused at the bound, not read.
    let huge = format!("Resources: {{}}\n# {}\n", "x".repeat(5 * 1024 * 1024));
    let url = guarded.update_payload("huge", &huge).await;
    let message = failure(&guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await);
    assert!(message.contains("larger than 4194304 bytes"), "{message}");

    // Malformed YAML: the line is named.
    let url = guarded.update_payload("malformed", "Outputs:\n  T:\n    Value: [unclosed\n  U: x\n").await;
    let message = failure(&guarded.check(&guarded.stack_request("UPDATE_PRE_PROVISION", &url)).await);
    assert!(message.contains("the new template cannot be read") && message.contains("line"), "{message}");
    let logs = guarded.logs_after(3).await;
    assert_eq!(metric(&logs, "GuardUndecided"), [1, 1, 1], "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn a_guard_learns_only_its_own_accounts_readers() {
    let test = "a_guard_learns_only_its_own_accounts_readers";
    let guarded = Guarded::start(test).await;
    let other = publisher_account(&format!("{test}-other"));
    // Another publisher has a stack of the same name and an export of the same name, and a reader.
    let other_stack = format!("arn:aws:cloudformation:{REGION}:666666666666:stack/spy/1");
    guarded.record_for(&other, &other_stack, "spy", &[("Topic", "booking-BookingTopicArn")]).await;

    // A request for the other account's stack: refused before any call, nothing answered.
    guarded.world.proxy.reset();
    let mut forged = guarded.stack_request("DELETE_PRE_PROVISION", "");
    forged["awsAccountId"] = json!(other);
    forged["stackId"] = json!(format!("arn:aws:cloudformation:{REGION}:{other}:stack/booking/1"));
    let invocation = guarded.world.runtime.invoke(&forged, TIMEOUT).await.unwrap();
    assert!(
        matches!(&invocation.outcome, Outcome::Error(body) if body["errorType"] == "RemoteExports.ForeignStack"),
        "{:?}",
        invocation.outcome
    );
    // The account field alone forged: refused too.
    let mut half = guarded.stack_request("DELETE_PRE_PROVISION", "");
    half["awsAccountId"] = json!(other);
    let invocation = guarded.world.runtime.invoke(&half, TIMEOUT).await.unwrap();
    assert!(matches!(&invocation.outcome, Outcome::Error(_)), "{:?}", invocation.outcome);
    assert!(guarded.world.proxy.calls().is_empty(), "{:?}", guarded.world.proxy.calls());

    // Its own delete: the other account's reader of the same name is not among its readers, and the
    // query names this account (as the role's SourceIdentity, which IAM pins the index key to).
    let answer = guarded.check(&guarded.stack_request("DELETE_PRE_PROVISION", "")).await;
    assert_eq!(answer["hookStatus"], "SUCCESS", "{answer}");
    assert!(!answer.to_string().contains("666666666666"), "{answer}");
    let query = guarded.world.proxy.requests("Query").join("\n");
    assert!(query.contains(&format!("\"{}\"", guarded.account())) && !query.contains(&other), "{query}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn each_function_refuses_the_others_events_without_a_call() {
    let test = "each_function_refuses_the_others_events_without_a_call";
    let guarded = Guarded::start(test).await;
    let hook = guarded.stack_request("DELETE_PRE_PROVISION", "");
    let custom_resource = World::start(&format!("{test}-cr"), &[]).await;
    let audit = audit_function(test, &[]).await;
    for (world, event, error_type) in [
        (&custom_resource, &hook, "RemoteExports.NotACustomResourceRequest"),
        (&audit, &hook, "RemoteExports.NotAScheduledAudit"),
        (&guarded.world, &scheduled_event(), "RemoteExports.NotAHookRequest"),
        (&guarded.world, &custom_resource.event("Create", "to-guard", json!({})), "RemoteExports.NotAHookRequest"),
    ] {
        world.proxy.reset();
        let invocation = world.runtime.invoke(event, TIMEOUT).await.unwrap();
        assert!(
            matches!(&invocation.outcome, Outcome::Error(body) if body["errorType"] == error_type),
            "{error_type}: {:?}",
            invocation.outcome
        );
        assert!(world.proxy.calls().is_empty(), "{:?}", world.proxy.calls());
    }
    assert!(custom_resource.responses.all_puts().is_empty(), "the guard answered a ResponseURL");
    // Every refusal wrote its metric line, by kind; the guard's count as undecided too, so that the
    // GuardUndecided alarm hears of a hook it refused.
    let wait = std::time::Duration::from_secs(10);
    for (world, kinds) in [
        (&custom_resource, vec!["NotACustomResourceRequest"]),
        (&audit, vec!["NotAScheduledAudit"]),
        (&guarded.world, vec!["NotAHookRequest", "NotAHookRequest"]),
    ] {
        let logs = world.function.logs_when(wait, |logs| metric(logs, "Refused").len() >= kinds.len()).await;
        let refused: Vec<Value> = logs
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|document| document["Refused"] == 1)
            .collect();
        let seen: Vec<&str> = refused.iter().filter_map(|d| d["RefusedKind"].as_str()).collect();
        assert_eq!(seen, kinds, "{logs}");
    }
    let logs = guarded.world.function.logs();
    assert_eq!(metric(&logs, "GuardUndecided"), [1, 1], "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn check_prints_what_a_deploy_would_break_and_exits_1() {
    let test = "check_prints_what_a_deploy_would_break_and_exits_1";
    let guarded = Guarded::start(test).await;
    guarded.record("333333333333", "us-east-1", "hotels", &[("Queue", "booking-QueueUrl")]).await;
    let directory = tempfile::tempdir().unwrap();
    let removed = directory.path().join("removed.yaml");
    std::fs::write(&removed, without_output(BOOKING_TEMPLATE, "QueueUrl")).unwrap();
    let unchanged = directory.path().join("unchanged.yaml");
    std::fs::write(&unchanged, BOOKING_TEMPLATE).unwrap();

    let arn = guarded.table.arn().await.unwrap();
    let mut env: Vec<(String, String)> =
        vec![("READS_TABLE".into(), arn), ("GUARD_REGISTRY_ROLE_ARN".into(), REGISTRY_ROLE.into())];
    env.extend(guarded.publisher.credential_env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let check = |args: &[&str]| cli(&guarded.world.moto, args, &env);

    let blocked = check(&["check", "--stack", "booking", "--template-file", removed.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&blocked.stdout);
    assert_eq!(blocked.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&blocked.stderr));
    assert!(stdout.contains("BLOCKED  export booking-QueueUrl (output QueueUrl)  (output removed)"), "{stdout}");
    assert!(stdout.contains("read by 333333333333/hotels (us-east-1) Lookup as Queue"), "{stdout}");

    let json_run =
        check(&["check", "--stack", "booking", "--template-file", removed.to_str().unwrap(), "--output", "json"]);
    assert_eq!(json_run.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json_run.stdout).unwrap();
    assert_eq!(report["Blocked"], true, "{report}");
    assert_eq!(report["Removals"][0]["Export"], "booking-QueueUrl", "{report}");
    assert_eq!(report["Removals"][0]["Readers"][0]["ConsumerAccount"], "333333333333", "{report}");

    let clean = check(&["check", "--stack", "booking", "--template-file", unchanged.to_str().unwrap()]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stdout));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("Nothing is removed or changed."));
    let without_table = cli(&guarded.world.moto, &["check", "--stack", "booking", "--template-file", "x.yaml"], &[]);
    assert_eq!(without_table.status.code(), Some(2), "{}", String::from_utf8_lossy(&without_table.stderr));
}
