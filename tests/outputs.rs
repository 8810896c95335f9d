//! Stack outputs (`StackOutputs`) and optional reads (`Defaults`) end to end: the real function and
//! CLI against moto, whose DescribeStacks returns each stack's outputs.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// A publisher whose Booking stack publishes plain outputs (no exports), beside one exporting stack.
async fn booking(world: &World, account: &str) -> Publisher {
    let publisher = world.publish(account, REGION, "shared", &[pair("shared-VpcId", "vpc-123")]).await;
    publisher
        .publish_outputs(
            "booking-lambda",
            &[
                pair("BookingTopicArn", &format!("arn:aws:sns:{REGION}:{account}:booking")),
                pair("BookingQueueUrl", "q"),
            ],
        )
        .await
        .unwrap();
    publisher
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn outputs_exports_aliases_and_defaults_in_one_resource() {
    let test = "outputs_exports_aliases_and_defaults_in_one_resource";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    booking(&world, &account).await;
    let topic = format!("arn:aws:sns:{REGION}:{account}:booking");
    let properties = json!({
        "RoleArn": role_arn(&account),
        "StackOutputs": ["booking-lambda", "network.SubnetIds"],
        "ExportNames": ["shared-VpcId", "shared-NewThing"],
        "Exports": {"TopicArn": "booking-lambda.BookingTopicArn"},
        "Defaults": {"network.SubnetIds": "subnet-default", "shared-NewThing": "none-yet"},
        "NoEcho": "true",
    });
    let (_, put) = world.send(&world.event("Create", "mixed", properties)).await;
    let answer = put.json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["Data"],
        json!({
            "TopicArn": topic,
            "booking-lambda.BookingTopicArn": topic,
            "booking-lambda.BookingQueueUrl": "q",
            "network.SubnetIds": "subnet-default",
            "shared-VpcId": "vpc-123",
            "shared-NewThing": "none-yet",
        })
    );
    assert_eq!(answer["NoEcho"], true);
    // One DescribeStacks per named stack (booking-lambda once, though read whole and aliased), beside ListExports.
    assert_eq!(world.proxy.count("DescribeStacks"), 2, "{:?}", world.proxy.calls());
    assert_eq!(world.proxy.count("ListExports"), 1, "{:?}", world.proxy.calls());
    // The answered line is written once the answer is delivered, and the harness reads it as it comes.
    let logs = world.function.logs_when(Duration::from_secs(10), |logs| logs.contains("defaulted=")).await;
    assert!(logs.contains("defaulted=network.SubnetIds,shared-NewThing"), "{logs}");
    assert!(!logs.contains("subnet-default") && !logs.contains(&topic), "a NoEcho value reached the log: {logs}");

    // Only outputs, no exports: no ListExports at all.
    world.proxy.reset();
    let only = world
        .answer(&world.event(
            "Create",
            "only-outputs",
            json!({"RoleArn": role_arn(&account), "StackOutputs": ["booking-lambda.BookingQueueUrl"]}),
        ))
        .await;
    assert_eq!(only["Data"], json!({"booking-lambda.BookingQueueUrl": "q"}), "{only}");
    assert_eq!((world.proxy.count("ListExports"), world.proxy.count("DescribeStacks")), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn missing_outputs_stacks_and_permissions_fail_naming_them() {
    let test = "missing_outputs_stacks_and_permissions_fail_naming_them";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let publisher = booking(&world, &account).await;
    let role = role_arn(&account);
    let source = format!("account {account} in {REGION} (through {role})");

    let answer = world
        .answer(&world.event(
            "Create",
            "typos",
            json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingTopicArm", "sharde-0"]}),
        ))
        .await;
    assert_eq!(
        reason(&answer),
        format!(
            "2 requested stack output(s) not found in {source}: 'booking-lambda.BookingTopicArm' (did you mean \
             'booking-lambda.BookingTopicArn'?), stack 'sharde-0' (it does not exist) (did you mean 'shared-0'?). \
             Check the names and the Region/RoleArn, or that the publisher stack has been deployed; a value that \
             may be missing for a while can have a Defaults entry."
        )
    );

    // A deleted stack never matches; without a default its outputs fail, with one they default.
    publisher.delete_stack("booking-lambda").await.unwrap();
    let gone = world
        .answer(&world.event(
            "Create",
            "gone",
            json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingQueueUrl"]}),
        ))
        .await;
    assert!(reason(&gone).contains("stack 'booking-lambda' (it does not exist)"), "{gone}");
    let defaulted = world
        .answer(&world.event(
            "Create",
            "defaulted",
            json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingQueueUrl"],
                   "Defaults": {"booking-lambda.BookingQueueUrl": ""}}),
        ))
        .await;
    assert_eq!(defaulted["Data"], json!({"booking-lambda.BookingQueueUrl": ""}), "{defaulted}");

    // A default for something not requested is a typo.
    let typo = world
        .answer(&world.event(
            "Create",
            "typo",
            json!({"RoleArn": role, "StackOutputs": ["shared-0.Output0"], "Defaults": {"shared-0.Output1": "x"}}),
        ))
        .await;
    assert!(reason(&typo).contains("Defaults has 'shared-0.Output1', which is not requested"), "{typo}");

    // The publisher role lacks DescribeStacks: AWS's own words, then what to change.
    world.proxy.fail(
        "DescribeStacks",
        AwsError::cloudformation(
            403,
            "AccessDenied",
            &format!(
                "User: arn:aws:sts::{account}:assumed-role/remote-exports-reader/airmiles-Lookup is not authorized to \
             perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:{REGION}:{account}:stack/\
             shared-0/* because no identity-based policy allows the cloudformation:DescribeStacks action"
            ),
        ),
    );
    let denied =
        world.answer(&world.event("Create", "denied", json!({"RoleArn": role, "StackOutputs": ["shared-0"]}))).await;
    let text = reason(&denied);
    assert!(
        text.starts_with(&format!(
            "Could not read the outputs of stack shared-0 in {source}: DescribeStacks was denied (AccessDenied: User: "
        )),
        "{text}"
    );
    assert!(text.contains("ReadableStacks parameter"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn governance_covers_outputs_before_any_call() {
    let test = "governance_covers_outputs_before_any_call";
    let account = publisher_account(test);
    let policy = json!({
        CONSUMER_ACCOUNT: {"RoleArns": [role_arn(&account)], "Exports": ["shared-*"], "Outputs": ["booking-lambda.*"]},
        "*": {"RoleArns": [role_arn(&account)], "Exports": ["shared-*"]},
    })
    .to_string();
    let env = [("ALLOWED_STACK_OUTPUTS", "booking-lambda.BookingTopic*,shared-0.*"), ("CONSUMER_POLICY", &policy)];
    let world = World::start(test, &env).await;
    booking(&world, &account).await;
    let role = role_arn(&account);

    let whole = world
        .answer(&world.event("Create", "whole", json!({"RoleArn": role, "StackOutputs": ["booking-lambda"]})))
        .await;
    let keys: Vec<&String> = whole["Data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["booking-lambda.BookingTopicArn"], "the queue URL is outside ALLOWED_STACK_OUTPUTS");

    world.proxy.reset();
    let hidden = world
        .answer(&world.event(
            "Create",
            "hidden",
            json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingQueueUrl"]}),
        ))
        .await;
    assert_eq!(
        reason(&hidden),
        "Stack output(s) 'booking-lambda.BookingQueueUrl' are not allowed by the function's ALLOWED_STACK_OUTPUTS. \
         Ask the platform team to allow them, or remove them from the selection."
    );
    let by_policy =
        world.answer(&world.event("Create", "policy", json!({"RoleArn": role, "StackOutputs": ["shared-0"]}))).await;
    assert!(
        reason(&by_policy).starts_with(&format!(
            "Consumer account {CONSUMER_ACCOUNT} may not read stack output(s) 'shared-0 (every output)'"
        )),
        "{by_policy}"
    );
    let other_account = world
        .answer(&world.event_from(
            "333333333333",
            "Create",
            "other",
            json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingTopicArn"]}),
        ))
        .await;
    assert!(reason(&other_account).contains("(its entry's Outputs)"), "{other_account}");
    assert_eq!(world.proxy.count("DescribeStacks") + world.proxy.count("AssumeRole"), 0, "{:?}", world.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn concurrent_readers_of_a_stack_cost_it_one_describe() {
    let test = "concurrent_readers_of_a_stack_cost_it_one_describe";
    let (_table, worlds) = snapshot_worlds(test, 4).await;
    let account = publisher_account(test);
    booking(&worlds[0], &account).await;
    let properties = json!({"RoleArn": role_arn(&account), "StackOutputs": ["booking-lambda"]});
    for answer in &answer_at_once(&worlds, &properties).await {
        assert_eq!(answer["Data"]["booking-lambda.BookingQueueUrl"], "q", "{answer}");
    }
    let described: u32 = worlds.iter().map(|w| w.proxy.count("DescribeStacks")).sum();
    assert_eq!(described, 1, "one DescribeStacks for four consumers of one stack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn readers_stale_and_the_audit_cover_outputs_and_defaults() {
    let test = "readers_stale_and_the_audit_cover_outputs_and_defaults";
    let moto = moto_endpoint(test);
    let table_name = format!("reads-{}", publisher_account(test));
    let table = ReadsTable::create(&moto, REGION, &table_name).await.unwrap();
    let inbox = AuditInbox::create(&moto, REGION, &table_name, &publisher_account(test)).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let audit = audit_function(test, &[("READS_TABLE", &table.name)]).await;
    let account = publisher_account(test);
    let publisher = booking(&world, &account).await;
    let created = world
        .answer(&world.event(
            "Create",
            "create",
            json!({"RoleArn": role_arn(&account), "StackOutputs": ["booking-lambda.BookingTopicArn", "network.SubnetIds"],
                   "Defaults": {"network.SubnetIds": "subnet-default"}}),
        ))
        .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");

    let readers = cli(
        &world.proxy.url(),
        &["readers", "--stack-output", "booking-lambda.BookingTopicArn", "--output", "json"],
        &[("READS_TABLE", &table.name)],
    );
    let readers = json_out(&readers);
    assert_eq!(readers.as_array().map(Vec::len), Some(1), "{readers}");
    assert_eq!(readers[0]["defaulted"], json!(["network.SubnetIds"]));
    assert!(!table.items().await.unwrap()[0].to_string().contains("subnet-default"), "a value reached the table");

    let stale = || cli(&world.proxy.url(), &["stale", "--output", "json"], &[("READS_TABLE", &table.name)]);
    assert_eq!(json_out(&stale()), json!([]));

    // Booking redeploys its stack with a new topic, and the network stack appears.
    publisher.delete_stack("booking-lambda").await.unwrap();
    publisher.publish_outputs("booking-lambda", &[pair("BookingTopicArn", "arn:new")]).await.unwrap();
    publisher.publish_outputs("network", &[pair("SubnetIds", "subnet-a,subnet-b")]).await.unwrap();
    world.proxy.reset();
    let found = stale();
    assert_eq!(found.status.code(), Some(1));
    let mut states: Vec<(String, String)> = json_out(&found)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["export"].as_str().unwrap().to_owned(), s["state"].as_str().unwrap().to_owned()))
        .collect();
    states.sort();
    assert_eq!(
        states,
        [("booking-lambda.BookingTopicArn".into(), "changed".into()), ("network.SubnetIds".into(), "appeared".into())]
    );
    assert_eq!(world.proxy.count("DescribeStacks"), 2, "one per stack: {:?}", world.proxy.calls());
    assert_eq!(world.proxy.count("ListExports"), 0, "no export was read: {:?}", world.proxy.calls());

    let report = run_audit(&audit).await;
    assert_eq!((report["Stale"].as_u64(), report["EventsPut"].as_u64()), (Some(2), Some(2)), "{report}");
    let events = inbox.events(2, Duration::from_secs(10)).await.unwrap();
    let mut kinds: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["Remote export appeared", "Remote export changed"]);
    assert!(!Value::Array(events.clone()).to_string().contains("subnet-a"), "a value reached an event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_cli_lists_a_stacks_outputs_and_previews_outputs_with_defaults() {
    let test = "the_cli_lists_a_stacks_outputs_and_previews_outputs_with_defaults";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    booking(&world, &account).await;
    let role = role_arn(&account);
    let listed = cli(&world.moto, &["list", "--role-arn", &role, "--stack", "booking-lambda", "--output", "json"], &[]);
    assert_eq!(listed.status.code(), Some(0), "{}", String::from_utf8_lossy(&listed.stderr));
    let rows = json_out(&listed);
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|row| row["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["booking-lambda.BookingQueueUrl", "booking-lambda.BookingTopicArn"]);
    let missing = cli(&world.moto, &["list", "--role-arn", &role, "--stack", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(1));

    let properties = json!({"RoleArn": role, "StackOutputs": ["booking-lambda.BookingQueueUrl", "network.SubnetIds"],
                            "Defaults": {"network.SubnetIds": "none"}})
    .to_string();
    let preview = cli(&world.moto, &["preview", "--properties", &properties, "--output", "json"], &[]);
    assert_eq!(preview.status.code(), Some(0), "{}", String::from_utf8_lossy(&preview.stderr));
    let answer = json_out(&preview);
    assert_eq!(answer["Data"], json!({"booking-lambda.BookingQueueUrl": "q", "network.SubnetIds": "none"}), "{answer}");
}
