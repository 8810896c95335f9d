//! The stack authors' CLI, run as a binary against moto.

use std::process::{Command, Output};

use remote_exports_e2e::*;
use serde_json::{Value, json};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn list_preview_and_invoke_show_what_the_function_would_answer() {
    let test = "list_preview_and_invoke_show_what_the_function_would_answer";
    let world = World::start(test, &[]).await;
    let account = publisher_account(test);
    let role = role_arn(&account);
    let publisher = world
        .publish(
            &account,
            REGION,
            "cli",
            &[pair("booking-lambda-BookingTopicArn", "arn:topic"), pair("other-Value", "x\"y")],
        )
        .await;
    publisher.publish_outputs("booking-lambda", &[pair("BookingTopicName", "BookingTopic")]).await.unwrap();

    let listed = cli(&world.moto, &["list", "--role-arn", &role, "--output", "json"], &[]);
    assert!(listed.status.success(), "{listed:?}");
    let items: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(items[0], json!({"Name": "booking-lambda-BookingTopicArn", "Value": "arn:topic", "ResponseBytes": 45}));
    assert_eq!(items[1]["ResponseBytes"], "\"other-Value\":\"x\\\"y\",".len());

    let table = cli(&world.moto, &["list", "--role-arn", &role, "--prefix", "booking-"], &[]);
    let text = stdout(&table);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("booking-lambda-BookingTopicArn  arn:topic  45"), "{text}");
    assert!(!text.contains("other-Value"));

    // The function's governance, when set in the environment, applies to what `list` shows.
    let governed = cli(&world.moto, &["list", "--role-arn", &role], &[("ALLOWED_EXPORTS", "booking-*")]);
    assert!(!stdout(&governed).contains("other-Value"), "{}", stdout(&governed));
    assert!(String::from_utf8_lossy(&governed.stderr).contains("1 export(s) hidden by the function's allow-lists"));
    // A refusal is what the function would answer FAILED: exit 1, as in `preview`, without the list's value.
    let refused =
        cli(&world.moto, &["list", "--role-arn", &role], &[("ALLOWED_ROLE_ARNS", "arn:aws:iam::*:role/other")]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(stdout(&refused).contains("is not allowed by the function's ALLOWED_ROLE_ARNS"), "{}", stdout(&refused));
    assert!(!stdout(&refused).contains("role/other"), "the Reason revealed the allow-list");
    let preview_refused = cli(
        &world.moto,
        &["preview", "--properties", &json!({"RoleArn": role}).to_string()],
        &[("ALLOWED_ROLE_ARNS", "arn:aws:iam::*:role/other")],
    );
    assert_eq!(preview_refused.status.code(), Some(1), "{preview_refused:?}");

    // --consumer-account applies the consumer policy as the function would for a stack in that account.
    let policy = json!({"111111111111": {"RoleArns": [role], "Exports": ["booking-*"]}}).to_string();
    let allowed = cli(
        &world.moto,
        &["list", "--role-arn", &role, "--consumer-account", "111111111111"],
        &[("CONSUMER_POLICY", &policy)],
    );
    assert!(allowed.status.success(), "{allowed:?}");
    assert!(stdout(&allowed).contains("booking-lambda-BookingTopicArn") && !stdout(&allowed).contains("other-Value"));
    let stranger = cli(
        &world.moto,
        &["list", "--role-arn", &role, "--consumer-account", "333333333333"],
        &[("CONSUMER_POLICY", &policy)],
    );
    assert_eq!(stranger.status.code(), Some(1), "{stranger:?}");
    assert!(
        stdout(&stranger).contains("Consumer account 333333333333 may not use this function"),
        "{}",
        stdout(&stranger)
    );
    let previewed = cli(
        &world.moto,
        &["preview", "--consumer-account", "333333333333", "--properties", &json!({"RoleArn": role}).to_string()],
        &[("CONSUMER_POLICY", &policy)],
    );
    assert_eq!(previewed.status.code(), Some(1), "{previewed:?}");
    assert!(!stdout(&previewed).contains("111111111111"), "another account's rules leaked: {}", stdout(&previewed));

    let properties = json!({"RoleArn": role, "ExportNames": ["booking-lambda-BookingTopicArn"]}).to_string();
    let preview = cli(&world.moto, &["preview", "--properties", &properties], &[]);
    assert!(preview.status.success(), "{preview:?}");
    assert!(
        stdout(&preview).contains("!GetAtt Lookup.booking-lambda-BookingTopicArn  arn:topic"),
        "{}",
        stdout(&preview)
    );
    assert!(stdout(&preview).contains(" of 4096 bytes"));

    let template = ["preview", "--template", "../examples/airmiles-consumer.yaml", "--resource", "Lookup"];
    let from_template = cli(
        &world.moto,
        &[&template[..], &["--parameter", &format!("BookingAccountId={account}"), "--output", "json"]].concat(),
        &[],
    );
    assert!(from_template.status.success(), "{from_template:?}");
    let answer: Value = serde_json::from_str(&stdout(&from_template)).unwrap();
    assert_eq!(
        answer["Data"],
        json!({"booking-lambda-BookingTopicArn": "arn:topic", "booking-lambda.BookingTopicName": "BookingTopic"})
    );
    assert!(!String::from_utf8_lossy(&from_template.stderr).contains("warning"), "{from_template:?}");

    // A ServiceToken in another region than the stack's: CloudFormation would refuse the stack.
    let elsewhere = std::fs::read_to_string("../examples/airmiles-consumer.yaml").unwrap().replace(
        "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${RemoteExportsAccountId}",
        "!Sub arn:${AWS::Partition}:lambda:us-east-1:${RemoteExportsAccountId}",
    );
    let files = tempfile::tempdir().unwrap();
    let elsewhere_file = files.path().join("elsewhere.yaml");
    std::fs::write(&elsewhere_file, elsewhere).unwrap();
    let warned = cli(
        &world.moto,
        &["preview", "--template", elsewhere_file.to_str().unwrap(), "--resource", "Lookup", "--region", REGION]
            .into_iter()
            .chain(["--parameter", &format!("BookingAccountId={account}")])
            .collect::<Vec<_>>(),
        &[],
    );
    assert!(warned.status.success(), "{warned:?}");
    let warning = String::from_utf8_lossy(&warned.stderr);
    assert!(warning.contains("names region us-east-1, but the stack is in eu-west-1"), "{warning}");

    let missing = json!({"RoleArn": role, "ExportNames": ["booking-lambda-BookingTopicARN"]}).to_string();
    let failed = cli(&world.moto, &["preview", "--properties", &missing], &[]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(stdout(&failed).contains("FAILED: 1 requested export(s) not found"), "{}", stdout(&failed));
    assert!(stdout(&failed).contains("did you mean 'booking-lambda-BookingTopicArn'"));

    // invoke: the sample event's role is 222222222222; point it at this test's account instead.
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string("../events/create.json").unwrap()).unwrap();
    event["ResourceProperties"]["RoleArn"] = json!(role);
    world.responses.address(&mut event);
    let request_id = event["RequestId"].as_str().unwrap().to_owned();
    let event_file = files.path().join("create.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let event_path = event_file.to_str().unwrap();

    let printed = cli(&world.moto, &["invoke", event_path], &[]);
    assert!(printed.status.success(), "{printed:?}");
    let response: Value = serde_json::from_str(&stdout(&printed)).unwrap();
    assert_eq!(response["Data"]["booking-lambda-BookingTopicArn"], "arn:topic");
    assert!(world.responses.puts(&request_id).is_empty(), "invoke without --send sent the answer");

    let sent = cli(&world.moto, &["invoke", event_path, "--send"], &[("ALLOW_LOOPBACK_RESPONSE_URL", "true")]);
    assert!(sent.status.success(), "{sent:?}");
    let put = world.responses.delivered(&request_id, std::time::Duration::from_secs(5)).await.expect("sent");
    assert_eq!(put.json()["Status"], "SUCCESS");

    let refused = cli(&world.moto, &["invoke", event_path, "--send"], &[]);
    assert_eq!(refused.status.code(), Some(3), "a loopback ResponseURL needs ALLOW_LOOPBACK_RESPONSE_URL");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not an https URL on an Amazon S3 endpoint"));
}

#[test]
#[ignore = "needs the CLI binary, which `cargo xtask test` builds"]
fn help_has_examples_and_bad_usage_exits_2() {
    let help = Command::new(debug_binary("remote-exports")).args(["preview", "--help"]).output().unwrap();
    assert!(stdout(&help).contains("Examples:"), "{}", stdout(&help));
    // The product's one version, as CHANGELOG.md's newest release names it.
    let version = Command::new(debug_binary("remote-exports")).arg("--version").output().unwrap();
    let changelog = std::fs::read_to_string("../CHANGELOG.md").unwrap();
    let newest = changelog.lines().find_map(|l| l.strip_prefix("## [")?.split(']').next()).unwrap();
    assert_eq!(stdout(&version).trim(), format!("remote-exports {newest}"));
    // No AWS endpoint is needed: each of these is refused before any call.
    let offline = [("AWS_REGION", REGION), ("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")];
    for args in [
        &["preview"][..],
        &["preview", "--template", "../examples/airmiles-consumer.yaml", "--resource", "Lookup", "--parameter", "X"],
        &["preview", "--properties", "{not json"],
        &["list", "--role-arn", "bad"],
        &["list", "--consumer-account", "12"],
    ] {
        let bad = cli("http://127.0.0.1:9", args, &offline);
        assert_eq!(bad.status.code(), Some(2), "{args:?}: {bad:?}");
    }
}
