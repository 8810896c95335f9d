//! SSM parameters of another account end to end: the real function reads them through the publisher's
//! role from moto's SSM (GetParameters in batches of ten), governs them, shares them through the
//! snapshot, records their versions in the registry, and the audit and `stale` see a new version.

use std::time::Duration;

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// Booking's parameters in `account`: a topic ARN with two versions and a label on the first, a
/// StringList of subnets and a SecureString password. Returns the publisher.
async fn booking(world: &World, account: &str) -> Publisher {
    let publisher = Publisher::connect(&world.moto, account, REGION).await.unwrap();
    let topic = "/booking/prod/topic-arn";
    assert_eq!(publisher.put_parameter(topic, "String", "arn:aws:sns:eu-west-1:222:topic-v1").await.unwrap(), 1);
    assert_eq!(publisher.put_parameter(topic, "String", "arn:aws:sns:eu-west-1:222:topic-v2").await.unwrap(), 2);
    publisher.label_parameter(topic, 1, "stable").await.unwrap();
    publisher.put_parameter("/booking/prod/subnets", "StringList", "subnet-a,subnet-b").await.unwrap();
    publisher.put_parameter("/booking/prod/db-password", "SecureString", "correct-horse-battery").await.unwrap();
    publisher
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn parameters_of_another_account_by_name_version_label_and_key() {
    let test = "parameters_of_another_account_by_name_version_label_and_key";
    // At the most verbose level the function allows: the SDK's own chatter is capped, values never logged.
    let world = World::start(test, &[("AWS_LAMBDA_LOG_LEVEL", "trace")]).await;
    let account = publisher_account(test);
    booking(&world, &account).await;
    let properties = json!({
        "RoleArn": role_arn(&account),
        "Parameters": ["/booking/prod/topic-arn", "/booking/prod/topic-arn:1", "/booking/prod/subnets"],
    });
    let answer = world.answer(&world.event("Create", "plain", properties)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["Data"],
        json!({
            "/booking/prod/topic-arn": "arn:aws:sns:eu-west-1:222:topic-v2",
            "/booking/prod/topic-arn:1": "arn:aws:sns:eu-west-1:222:topic-v1",
            "/booking/prod/subnets": "subnet-a,subnet-b",
        })
    );
    // Two references of one parameter go to two calls, so each answer names its own; no export is listed.
    assert_eq!(world.proxy.count("GetParameters"), 2, "{:?}", world.proxy.calls());
    assert_eq!(world.proxy.count("ListExports"), 0, "{:?}", world.proxy.calls());
    let requests = world.proxy.requests("GetParameters");
    assert!(requests.iter().all(|body| body.contains("\"WithDecryption\":false")), "{requests:?}");

    // Keys of the resource's choosing, a label, and the SecureString for a NoEcho resource only.
    let keyed = json!({
        "RoleArn": role_arn(&account),
        "Parameters": {"Topic": "/booking/prod/topic-arn:stable", "Password": "/booking/prod/db-password"},
    });
    let refused = world.answer(&world.event("Create", "secure", keyed.clone())).await;
    let text = reason(&refused);
    assert!(text.contains("'/booking/prod/db-password' are SecureStrings"), "{text}");
    assert!(text.contains("Set NoEcho: \"true\""), "{text}");
    let mut masked = keyed.clone();
    masked["NoEcho"] = json!("true");
    let answer = world.answer(&world.event("Create", "masked", masked)).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["NoEcho"], true);
    assert_eq!(
        answer["Data"],
        json!({"Topic": "arn:aws:sns:eu-west-1:222:topic-v1", "Password": "correct-horse-battery"})
    );
    // By ARN too (the publisher's own, in moto as a RAM share would be named), beside its name.
    world.proxy.reset();
    let arn = format!("arn:aws:ssm:{REGION}:{account}:parameter/booking/prod/topic-arn");
    let both =
        json!({"RoleArn": role_arn(&account), "Parameters": {"ByName": "/booking/prod/topic-arn:1", "ByArn": arn}});
    let answer = world.answer(&world.event("Create", "arn", both)).await;
    assert_eq!(
        answer["Data"],
        json!({"ByName": "arn:aws:sns:eu-west-1:222:topic-v1", "ByArn": "arn:aws:sns:eu-west-1:222:topic-v2"}),
        "{answer}"
    );
    assert_eq!(world.proxy.count("GetParameters"), 2, "a name and an ARN of one parameter go to two calls");
    let elsewhere = format!("arn:aws:ssm:us-east-1:{account}:parameter/booking/prod/topic-arn");
    let refused = world
        .answer(&world.event("Create", "region", json!({"RoleArn": role_arn(&account), "Parameters": [elsewhere]})))
        .await;
    assert!(reason(&refused).contains("is an ARN in region us-east-1, but this resource reads region eu-west-1"));

    let logs = world.function.logs_when(Duration::from_secs(5), |logs| logs.matches("answered").count() >= 5).await;
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "the log level took effect");
    for value in ["correct-horse-battery", "topic-v1", "topic-v2", "subnet-a"] {
        assert!(!logs.contains(value), "a parameter value reached the log or a metric: {value}\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn missing_denied_and_eleven_parameters() {
    let test = "missing_denied_and_eleven_parameters";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let publisher = booking(&world, &account).await;

    // Missing: a near match among the names the role may see under the path, asked for only now.
    let missing =
        json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/topic-ARN", "/booking/prod/topic-arn:7"]});
    let answer = world.answer(&world.event("Create", "missing", missing)).await;
    let text = reason(&answer);
    assert!(
        text.contains("2 requested parameter(s) not found in account")
            && text.contains("parameter '/booking/prod/topic-ARN' (did you mean '/booking/prod/topic-arn'?)")
            && text.contains("parameter '/booking/prod/topic-arn:7'"),
        "{text}"
    );
    assert_eq!(world.proxy.count("GetParametersByPath"), 1, "{:?}", world.proxy.calls());
    // … or answered by its default, with no search for near matches.
    world.proxy.reset();
    let defaulted = json!({
        "RoleArn": role_arn(&account),
        "Parameters": {"Flag": "/booking/prod/new-flag"},
        "Defaults": {"/booking/prod/new-flag": "off"},
    });
    let answer = world.answer(&world.event("Create", "default", defaulted)).await;
    assert_eq!(answer["Data"], json!({"Flag": "off"}), "{answer}");
    assert_eq!(world.proxy.count("GetParametersByPath"), 0);

    // Denied, in SSM's own words (AWS JSON 1.1): the Reason names the permission and the template parameter.
    let refusal = format!(
        "User: arn:aws:sts::{account}:assumed-role/remote-exports-reader/{CONSUMER_ACCOUNT}-airmiles is not authorized \
         to perform: ssm:GetParameters on resource: arn:aws:ssm:{REGION}:{account}:parameter/booking/prod/topic-arn \
         because no identity-based policy allows the ssm:GetParameters action"
    );
    world.proxy.fail("GetParameters", AwsError::json_1_1("AccessDeniedException", &refusal));
    let answer = world
        .answer(&world.event(
            "Create",
            "denied",
            json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/topic-arn"]}),
        ))
        .await;
    let text = reason(&answer);
    assert!(text.starts_with(&format!("Could not read SSM parameters from account {account} in {REGION}")), "{text}");
    assert!(text.contains("GetParameters was denied (AccessDeniedException: User: "), "{text}");
    assert!(text.contains("ReadableParameters"), "{text}");
    world.proxy.heal();

    // Eleven names: two GetParameters calls.
    world.proxy.reset();
    let names: Vec<String> = (0..11).map(|i| format!("/booking/many/p{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        publisher.put_parameter(name, "String", &format!("value-{i}")).await.unwrap();
    }
    let answer = world
        .answer(&world.event("Create", "eleven", json!({"RoleArn": role_arn(&account), "Parameters": names})))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"].as_object().unwrap().len(), 11);
    assert_eq!(answer["Data"]["/booking/many/p10"], "value-10");
    assert_eq!(world.proxy.count("GetParameters"), 2, "{:?}", world.proxy.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn governance_refuses_parameters_before_any_call() {
    let test = "governance_refuses_parameters_before_any_call";
    let account = publisher_account(test);
    let policy = json!({CONSUMER_ACCOUNT: {"RoleArns": ["arn:aws:iam::*:role/*"], "Exports": ["*"], "Parameters": ["/booking/prod/topic-*"]}})
        .to_string();
    let world = World::start(test, &[("ALLOWED_PARAMETERS", "/booking/*"), ("CONSUMER_POLICY", policy.as_str())]).await;
    booking(&world, &account).await;
    world.proxy.reset();
    let by_function = world
        .answer(&world.event(
            "Create",
            "function",
            json!({"RoleArn": role_arn(&account), "Parameters": ["/hotels/prod/api"]}),
        ))
        .await;
    assert!(reason(&by_function).contains("'/hotels/prod/api' are not allowed by the function's ALLOWED_PARAMETERS"));
    let by_policy = world
        .answer(&world.event(
            "Create",
            "policy",
            json!({"RoleArn": role_arn(&account), "Parameters": {"Db": "/booking/prod/db-password"}}),
        ))
        .await;
    let text = reason(&by_policy);
    assert!(
        text.contains(&format!(
            "Consumer account {CONSUMER_ACCOUNT} may not read parameter(s) '/booking/prod/db-password'"
        )),
        "{text}"
    );
    assert!(text.contains("its entry's Parameters"), "{text}");
    // An ARN is governed by its name.
    let arn = format!("arn:aws:ssm:{REGION}:{account}:parameter/booking/prod/subnets");
    let by_arn =
        world.answer(&world.event("Create", "arn", json!({"RoleArn": role_arn(&account), "Parameters": [arn]}))).await;
    assert!(reason(&by_arn).contains("may not read parameter(s)"), "{by_arn}");
    assert_eq!(world.proxy.calls().values().sum::<u32>(), 0, "refused before any call: {:?}", world.proxy.calls());
    let allowed = world
        .answer(&world.event(
            "Create",
            "allowed",
            json!({"RoleArn": role_arn(&account), "Parameters": ["/booking/prod/topic-arn"]}),
        ))
        .await;
    assert_eq!(allowed["Status"], "SUCCESS", "{allowed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn four_consumers_through_the_snapshot_cost_one_read() {
    let test = "four_consumers_through_the_snapshot_cost_one_read";
    let (table, worlds) = snapshot_worlds(test, 4).await;
    let account = publisher_account(test);
    booking(&worlds[0], &account).await;
    let properties = json!({
        "RoleArn": role_arn(&account),
        "Parameters": {"Topic": "/booking/prod/topic-arn", "Subnets": "/booking/prod/subnets", "Password": "/booking/prod/db-password"},
        "NoEcho": "true",
    });
    for answer in &answer_at_once(&worlds, &properties).await {
        assert_eq!(answer["Data"]["Topic"], "arn:aws:sns:eu-west-1:222:topic-v2", "{answer}");
        assert_eq!(answer["Data"]["Subnets"], "subnet-a,subnet-b", "{answer}");
        assert_eq!(answer["Data"]["Password"], "correct-horse-battery", "{answer}");
    }
    // One GetParameters for the batch among the four; each NoEcho consumer decrypts its SecureString itself.
    let undecrypted: usize = worlds
        .iter()
        .flat_map(|w| w.proxy.requests("GetParameters"))
        .filter(|body| body.contains("\"WithDecryption\":false"))
        .count();
    assert_eq!(undecrypted, 1, "one read of the batch for four consumers");
    let decrypted: Vec<String> = worlds
        .iter()
        .flat_map(|w| w.proxy.requests("GetParameters"))
        .filter(|body| body.contains("\"WithDecryption\":true"))
        .collect();
    assert_eq!(decrypted.len(), 4, "{decrypted:?}");
    assert!(decrypted.iter().all(|body| body.contains("db-password") && !body.contains("topic-arn")), "{decrypted:?}");
    // The snapshot keeps no SecureString value.
    let items = serde_json::to_string(&table.items().await.unwrap()).unwrap();
    assert!(items.contains("topic-v2") && !items.contains("correct-horse-battery"), "{items}");
    // A consumer without NoEcho answered from the same snapshot gets no SecureString either.
    let mut plain = properties.clone();
    plain["NoEcho"] = json!("false");
    worlds[0].proxy.reset();
    let refused = worlds[0].answer(&worlds[0].event("Create", "plain", plain)).await;
    assert!(reason(&refused).contains("'/booking/prod/db-password' are SecureStrings"), "{refused}");
    assert_eq!(worlds[0].proxy.count("GetParameters"), 0, "answered from the snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_registry_keeps_versions_and_the_audit_sees_a_new_one() {
    let test = "the_registry_keeps_versions_and_the_audit_sees_a_new_one";
    let moto = moto_endpoint(test);
    let table_name = format!("reads-{}", publisher_account(test));
    let table = ReadsTable::create(&moto, REGION, &table_name).await.unwrap();
    let bus = format!("remote-exports-audit-{}", publisher_account(test));
    let inbox = AuditInbox::create_on(&moto, REGION, &table_name, &publisher_account(test), &bus).await.unwrap();
    let world = World::start(test, &[("READS_TABLE", &table.name)]).await;
    let audit = audit_function(test, &[("READS_TABLE", &table.name), ("AUDIT_EVENT_BUS", &bus)]).await;
    let account = publisher_account(test);
    let publisher = booking(&world, &account).await;
    let properties = json!({
        "RoleArn": role_arn(&account),
        "Parameters": {"Topic": "/booking/prod/topic-arn", "Pinned": "/booking/prod/topic-arn:1", "Password": "/booking/prod/db-password", "Later": "/booking/prod/later"},
        "Defaults": {"/booking/prod/later": "not-yet"},
        "NoEcho": "true",
    });
    let created = world.answer(&world.event("Create", "create", properties)).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let items = table.items().await.unwrap();
    let item = items[0].to_string();
    let reads = &items[0]["Exports"]["L"];
    let topic = reads.as_array().unwrap().iter().find(|e| e["M"]["Key"]["S"] == "Topic").unwrap();
    assert_eq!(topic["M"]["Export"]["S"], "/booking/prod/topic-arn");
    assert_eq!(topic["M"]["Parameter"]["M"]["Version"]["N"], "2");

    let readers = json_out(&cli(
        &world.proxy.url(),
        &["readers", "--parameter", "/booking/prod/topic-arn", "--output", "json"],
        &[("READS_TABLE", &table.name)],
    ));
    assert_eq!(readers.as_array().unwrap().len(), 1, "{readers}");
    let versions: Vec<(&str, Value)> = readers[0]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["data_key"].as_str().unwrap(), p["version"].clone()))
        .collect();
    assert!(versions.contains(&("Topic", json!(2))) && versions.contains(&("Pinned", json!(1))), "{readers}");
    assert!(versions.contains(&("Later", Value::Null)), "a default has no version: {readers}");

    // Nothing stale yet; then a new version of the topic and the awaited parameter appears.
    assert_eq!(run_audit(&audit).await["Stale"], 0, "{}", audit.function.logs());
    publisher.put_parameter("/booking/prod/topic-arn", "String", "arn:aws:sns:eu-west-1:222:topic-v3").await.unwrap();
    publisher.put_parameter("/booking/prod/later", "String", "now-here").await.unwrap();
    let stale = json_out(&cli(&world.proxy.url(), &["stale", "--output", "json"], &[("READS_TABLE", &table.name)]));
    let mut states: Vec<(&str, &str)> = stale
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["data_key"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    states.sort();
    assert_eq!(states, [("Later", "appeared"), ("Topic", "changed")], "the pinned version stays current: {stale}");
    let audited = run_audit(&audit).await;
    assert_eq!(audited["Stale"], 2, "{audited}");
    let events = inbox.events(2, Duration::from_secs(10)).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|event| event["detail"]["kind"] == "parameter"), "{events:?}");
    // Gone: the parameter is deleted.
    publisher.delete_parameter("/booking/prod/db-password").await.unwrap();
    let stale = json_out(&cli(&world.proxy.url(), &["stale", "--output", "json"], &[("READS_TABLE", &table.name)]));
    assert!(
        stale.as_array().unwrap().iter().any(|s| s["data_key"] == "Password" && s["state"] == "removed"),
        "{stale}"
    );

    // No value in the registry, the events, or any log or metric line of either function.
    let everything = format!(
        "{item}\n{}\n{}\n{}\n{stale}",
        serde_json::to_string(&events).unwrap(),
        world.function.logs(),
        audit.function.logs()
    );
    for value in ["correct-horse-battery", "topic-v1", "topic-v2", "topic-v3", "not-yet", "now-here"] {
        assert!(!everything.contains(value), "the value {value} was kept or logged:\n{everything}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_cli_lists_and_previews_parameters() {
    let test = "the_cli_lists_and_previews_parameters";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    booking(&world, &account).await;
    let role = role_arn(&account);
    let listed = json_out(&cli(
        &world.moto,
        &["list", "--role-arn", &role, "--parameters", "/booking", "--output", "json"],
        &[],
    ));
    let rows: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["Name"].as_str().unwrap(), r["Value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("/booking/prod/db-password", "(a SecureString: answered only to a resource with NoEcho true)"),
            ("/booking/prod/subnets", "subnet-a,subnet-b"),
            ("/booking/prod/topic-arn", "arn:aws:sns:eu-west-1:222:topic-v2"),
        ]
    );
    let governed = cli(
        &world.moto,
        &["list", "--role-arn", &role, "--parameters", "/booking", "--output", "json"],
        &[("ALLOWED_PARAMETERS", "/booking/prod/topic-*")],
    );
    assert_eq!(json_out(&governed).as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&governed.stderr).contains("2 parameter(s) hidden by the function's allow-lists"));

    let properties = json!({"RoleArn": role, "Parameters": {"Topic": "/booking/prod/topic-arn:stable"}}).to_string();
    let preview = cli(&world.moto, &["preview", "--properties", &properties, "--output", "json"], &[]);
    let answer = json_out(&preview);
    assert_eq!(answer["Data"], json!({"Topic": "arn:aws:sns:eu-west-1:222:topic-v1"}), "{answer}");
    let missing = json!({"RoleArn": role, "Parameters": ["/booking/prod/topic-am"]}).to_string();
    let preview = cli(&world.moto, &["preview", "--properties", &missing], &[]);
    assert_eq!(preview.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&preview.stdout).contains("did you mean '/booking/prod/topic-arn'?"),
        "{preview:?}"
    );
}
