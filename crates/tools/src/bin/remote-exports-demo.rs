//! The Booking/Airmiles story, locally: moto plays both AWS accounts, the real Lambda binary runs
//! behind a Runtime API emulator, and the events from `events/` play CloudFormation.
//!
//! Usage: remote-exports-demo --moto-server PATH --lambda PATH --cli PATH [--events DIR]

use std::path::PathBuf;
use std::time::Duration;

use remote_exports_tools::story::{expect, read_event, section};
use serde_json::Value;
use test_support::{
    AuditInbox, BoxError, CONSUMER_ACCOUNT, CountingProxy, Function, FunctionOptions, HookPayloads, Moto,
    MotoResponses, Outcome, Publisher, ReadsTable, RuntimeApi,
};

const PUBLISHER_ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";
const EXPORT: &str = "booking-lambda-BookingTopicArn";
const API_URL: &str = "https://api.booking.example/v1";
const BOOKINGS_TABLE_PARAMETER: &str = "/booking/prod/bookings-table";
const BOOKINGS_TABLE: &str = "bookings-prod";
const READS_TABLE: &str = "remote-exports-reads";
/// The central account's own events reach Airmiles' refresher only from this account.
const CENTRAL_ACCOUNT: &str = CONSUMER_ACCOUNT;
/// Airmiles' stack, in the shape the refresher needs: the parameter its Lookup takes as Refresh.
const AIRMILES_TEMPLATE: &str = r#"{"Parameters": {"Environment": {"Type": "String"},
  "RemoteExportsRefresh": {"Type": "String", "Default": "0"}},
 "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;

/// The Booking/Airmiles demo, locally: moto, the real function and the CLI (cargo xtask demo passes
/// every required argument).
#[derive(clap::Parser)]
#[command(name = "remote-exports-demo")]
struct Args {
    /// moto's server program.
    #[arg(long)]
    moto_server: PathBuf,
    /// The Lambda binary.
    #[arg(long)]
    lambda: PathBuf,
    /// The `remote-exports` CLI binary.
    #[arg(long)]
    cli: PathBuf,
    /// Where the sample events are.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))]
    events: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => {
            println!("\nDemo finished: every step gave the answer CloudFormation needs.");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\nDemo FAILED: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = <Args as clap::Parser>::parse();
    let moto = Moto::start(&args.moto_server).await?;
    let result = story(&args, moto.endpoint()).await;
    moto.stop().await;
    result
}

async fn story(args: &Args, moto: &str) -> Result<(), BoxError> {
    section("Setting the scene (moto plays AWS: no account, no Docker)");
    let booking = Publisher::connect(moto, PUBLISHER_ACCOUNT, REGION).await?;
    let topic_v1 = booking.publish_topic("booking-lambda", "BookingTopic", EXPORT).await?;
    println!("Booking account {PUBLISHER_ACCOUNT} publishes stack booking-lambda exporting");
    println!("    {EXPORT} = {topic_v1}");
    booking.publish_outputs("booking-api", &[("ApiUrl".to_owned(), API_URL.to_owned())]).await?;
    println!("and stack booking-api with a plain output (no export): ApiUrl = {API_URL}");
    booking.put_parameter(BOOKINGS_TABLE_PARAMETER, "String", BOOKINGS_TABLE).await?;
    println!("and the SSM parameter {BOOKINGS_TABLE_PARAMETER} = {BOOKINGS_TABLE}");
    let consumer = Publisher::connect(moto, CONSUMER_ACCOUNT, REGION).await?;
    let decoy = format!("arn:aws:sns:{REGION}:{CONSUMER_ACCOUNT}:NotTheBookingTopic");
    consumer.publish("decoy", &[(EXPORT.to_owned(), decoy.clone())]).await?;
    println!("Airmiles account {CONSUMER_ACCOUNT} has a decoy export of the same name = {decoy}");

    let runtime = RuntimeApi::start().await?;
    let responses = MotoResponses::create(moto, REGION).await?;
    println!("CloudFormation's response bucket {} exists in moto's S3", test_support::response_bucket(REGION));
    let reads = ReadsTable::create(moto, REGION, READS_TABLE).await?;
    let inbox = AuditInbox::create(moto, REGION, "remote-exports-alerts", PUBLISHER_ACCOUNT).await?;
    println!("The read registry {} exists in moto's DynamoDB (template parameter ReadsRegistry=true)", reads.name);
    println!("An EventBridge rule sends events with source remote-exports to the SQS queue remote-exports-alerts");
    let proxy = CountingProxy::start(moto).await?;
    let function = start_function(args, &runtime, &proxy, "custom-resource")?;
    println!("Started {} behind a local Lambda Runtime API (RemoteExportsFunction)", args.lambda.display());
    // The audit is a function of its own, as template.yaml deploys it: only its schedule invokes it.
    let audit_runtime = RuntimeApi::start().await?;
    let audit_proxy = CountingProxy::start(moto).await?;
    let audit_function = start_function(args, &audit_runtime, &audit_proxy, "audit")?;
    println!("Started the same binary with FUNCTION_MODE=audit behind a second Runtime API (AuditFunction)");

    section("1. CloudFormation creates Airmiles' Lookup resource (events/create.json)");
    let created = invoke(args, &runtime, &responses, &proxy, "create").await?;
    expect(created["Status"] == "SUCCESS", "Create answered SUCCESS")?;
    expect(created["Data"][EXPORT] == topic_v1.as_str(), "Create read the Booking account, not the decoy")?;
    let physical_id = created["PhysicalResourceId"].clone();
    println!("\n!GetAtt Lookup.{EXPORT}  →  {}", created["Data"][EXPORT].as_str().unwrap_or("?"));
    let readers = cli(args, moto, &["readers", "--export", EXPORT])?;
    expect(
        readers.code == Some(0) && readers.stdout.contains("airmiles/Lookup"),
        "Booking can see that Airmiles reads it",
    )?;

    section("2. Airmiles reads a stack output, and one not deployed yet (events/create-stack-outputs.json)");
    let outputs = invoke(args, &runtime, &responses, &proxy, "create-stack-outputs").await?;
    expect(outputs["Data"]["booking-api.ApiUrl"] == API_URL, "a plain stack output, read without an export")?;
    expect(
        outputs["Data"]["payments-api.ApiUrl"] == "none",
        "payments-api does not exist yet: its Defaults entry answered, and the stack did not fail",
    )?;
    println!("\n!GetAtt BookingApi.booking-api.ApiUrl  →  {API_URL}");

    section("2b. Airmiles reads one of Booking's SSM parameters (events/create-parameters.json)");
    let parameters = invoke(args, &runtime, &responses, &proxy, "create-parameters").await?;
    expect(
        parameters["Data"]["BookingsTable"] == BOOKINGS_TABLE,
        "an SSM parameter of another account, by name, through the same role (CloudFormation's {{resolve:ssm}} reads only its own account)",
    )?;
    println!("\n!GetAtt BookingConfig.BookingsTable  →  {BOOKINGS_TABLE}");

    section("3. Booking replaces its topic: the change reaches Airmiles within seconds");
    // The change check, as template.yaml deploys it with ChangeEvents=true: Booking's account forwards
    // CloudFormation's stack status changes (examples/publisher-changes.yaml) to the central change bus.
    let change_runtime = RuntimeApi::start().await?;
    let change_proxy = CountingProxy::start(moto).await?;
    let change_function = start_function(args, &change_runtime, &change_proxy, "change-check")?;
    println!("Started the same binary with FUNCTION_MODE=change-check (ChangeCheckFunction)");
    booking.delete_stack("booking-lambda").await?;
    let topic_v2 = booking.publish_topic("booking-lambda-v2", "BookingTopicV2", EXPORT).await?;
    println!("Booking now exports {EXPORT} = {topic_v2}");
    let stale = cli(args, moto, &["stale"])?;
    expect(stale.code == Some(1) && stale.stdout.contains("changed"), "stale flags Airmiles and exits 1")?;
    let change = stack_change(&args.events, &booking, "booking-lambda-v2").await?;
    println!("CloudFormation says (events/stack-status-change.json, as Booking's account forwards it):");
    println!("{}", serde_json::to_string_pretty(&change)?);
    let checked = change_runtime.invoke(&change, Duration::from_secs(30)).await?;
    expect(
        matches!(&checked.outcome, Outcome::Response(summary) if summary["EventsPut"] == 1),
        "the change check put one event at once, for Airmiles alone",
    )?;
    let calls: Vec<String> = change_proxy.calls().into_iter().map(|(action, n)| format!("{action} ×{n}")).collect();
    println!("AWS calls: {} (one registry query for Booking's readers, no scan)", calls.join(", "));
    expect(change_proxy.count("Query") == 1 && change_proxy.count("Scan") == 0, "one Query, no Scan")?;
    let events = inbox.events(1, Duration::from_secs(10)).await?;
    let event = events.first().ok_or("no event reached the queue")?;
    println!("The platform team's queue received:\n{}", serde_json::to_string_pretty(event)?);
    expect(event["detail-type"] == "Remote export changed", "a \"Remote export changed\" event for Airmiles")?;
    let schedule = read_event(&args.events, "scheduled-audit")?;
    let audit = audit_runtime.invoke(&schedule, Duration::from_secs(30)).await?;
    expect(
        matches!(&audit.outcome, Outcome::Response(summary) if summary["Stale"] == 1 && summary["EventsPut"] == 0),
        "the scheduled audit, the safety net (events/scheduled-audit.json), finds Airmiles stale too, and alerts nobody twice for the same change",
    )?;
    drop(change_function);

    section("3b. Airmiles opted in to refreshes: its stack gets a change set");
    // The refresher in Airmiles' account (examples/consumer-refresher.yaml) receives the event on its
    // default bus. moto cannot run a custom resource inside a stack, so a stack of the same shape
    // stands in for Airmiles' (its RemoteExportsRefresh parameter is the Lookup's Refresh), and the
    // event is addressed to it, as the central account's route would deliver it.
    let airmiles = consumer
        .create_stack_with(
            "airmiles",
            AIRMILES_TEMPLATE,
            &[("Environment", "prod")],
            &[("remote-exports:refresh", "change-set")],
            None,
        )
        .await?;
    println!("Airmiles' stack carries the tag remote-exports:refresh = change-set");
    println!("(In this demo the central stack runs in Airmiles' account, so the event comes from its own account.)");
    let refresh_runtime = RuntimeApi::start().await?;
    let refresh_proxy = CountingProxy::start(moto).await?;
    let refresher = start_refresher(args, &refresh_runtime, &refresh_proxy)?;
    println!("Started the same binary with FUNCTION_MODE=refresher, as Airmiles' account (RefresherFunction)");
    let mut routed = event.clone();
    // EventBridge sets the envelope's account to the account that put the event; moto's delivery to
    // SQS leaves it out.
    routed["account"] = Value::String(CENTRAL_ACCOUNT.to_owned());
    routed["detail"]["stack_id"] = Value::String(airmiles.clone());
    routed["resources"] = serde_json::json!([airmiles]);
    let refreshed = refresh_runtime.invoke(&routed, Duration::from_secs(30)).await?;
    let Outcome::Response(refreshed) = refreshed.outcome else {
        return Err(format!("the refresher returned an error: {:?}", refreshed.outcome).into());
    };
    println!("The refresher answered: {refreshed}");
    let request = refresh_proxy.requests("CreateChangeSet").pop().unwrap_or_default();
    println!("CreateChangeSet, as CloudFormation received it:\n    {}", request.replace('&', "\n    "));
    expect(
        refreshed["Proposed"].as_str().is_some_and(|name| name.starts_with("remote-exports-refresh-"))
            && request.contains("UsePreviousTemplate=true")
            && request.contains("ParameterKey=Environment&Parameters.member.1.UsePreviousValue=true"),
        "a change set of the previous template, only RemoteExportsRefresh changed, for Airmiles to review and execute",
    )?;
    drop(refresher);

    section("4. Airmiles executes it: Refresh changes, CloudFormation updates (events/update.json)");
    let updated = invoke(args, &runtime, &responses, &proxy, "update").await?;
    expect(updated["Status"] == "SUCCESS", "Update answered SUCCESS")?;
    expect(updated["Data"][EXPORT] == topic_v2.as_str(), "Update picked up the new value")?;
    expect(updated["PhysicalResourceId"] == physical_id, "same source, same PhysicalResourceId: no replacement")?;
    println!("\n!GetAtt Lookup.{EXPORT}  →  {}", updated["Data"][EXPORT].as_str().unwrap_or("?"));
    let clean = cli(args, moto, &["stale"])?;
    expect(clean.code == Some(0), "stale is clean again and exits 0")?;

    section("5. Someone invokes the function by hand, with an answer URL into their own bucket");
    let mut forged = read_event(&args.events, "create")?;
    forged["RequestId"] = Value::String("forged-request".into());
    let stolen = format!("{}/attacker-bucket/loot?X-Amz-Signature=forged", moto.trim_end_matches('/'));
    forged["ResponseURL"] = Value::String(stolen);
    proxy.reset();
    let invocation = runtime.invoke(&forged, Duration::from_secs(30)).await?;
    let refused =
        matches!(&invocation.outcome, Outcome::Error(e) if e["errorType"] == "RemoteExports.ResponseUrlRefused");
    expect(refused, "the function refused: the URL is not CloudFormation's bucket and key for that request")?;
    expect(proxy.calls().is_empty(), "nothing was read: no AssumeRole, no ListExports")?;
    let forged_schedule = runtime.invoke(&schedule, Duration::from_secs(30)).await?;
    let refused = matches!(
        &forged_schedule.outcome,
        Outcome::Error(e) if e["errorType"] == "RemoteExports.NotACustomResourceRequest"
    );
    expect(refused, "a schedule sent to the custom-resource function is refused: only AuditFunction audits")?;
    expect(proxy.calls().is_empty(), "and it cost nothing: no Scan, no ListExports, no PutEvents")?;

    section("6. Booking tries to remove the export Airmiles reads (events/hook-stack-update.json)");
    // The export guard, deployed in Booking's account (examples/export-guard.yaml): a CloudFormation
    // Lambda Hook that reads the central registry as Booking, and only Booking's readers.
    let guard_runtime = RuntimeApi::start().await?;
    let guard_proxy = CountingProxy::start(moto).await?;
    let guard = start_guard(args, &guard_runtime, &guard_proxy, &booking, &reads.arn().await?)?;
    println!("Started the same binary with FUNCTION_MODE=guard, as Booking's account (ExportGuardFunction)");
    let payloads = HookPayloads::create(moto, REGION).await?;
    let removal = hook_request(args, &payloads, "booking-lambda-v2").await?;
    let answer = ask_guard(&guard_runtime, &removal).await?;
    expect(
        answer["hookStatus"] == "FAILED" && answer["errorCode"] == "NonCompliant",
        "the guard answers FAILED: with FailureMode FAIL, CloudFormation stops the update before touching the stack",
    )?;
    let message = answer["message"].as_str().unwrap_or_default();
    expect(
        message.contains(EXPORT) && message.contains(&format!("account {CONSUMER_ACCOUNT} stack airmiles")),
        "its message names the export and Airmiles' account, stack and resource",
    )?;

    section("7. Airmiles' stack is deleted (events/delete.json)");
    let deleted = invoke(args, &runtime, &responses, &proxy, "delete").await?;
    expect(deleted["Status"] == "SUCCESS", "Delete answered SUCCESS")?;
    let readers = cli(args, moto, &["readers", "--export", EXPORT, "--output", "json"])?;
    expect(readers.stdout.trim() == "[]", "nobody reads the export any more: Booking may remove it")?;
    let answer = ask_guard(&guard_runtime, &removal).await?;
    expect(answer["hookStatus"] == "SUCCESS", "the same update now passes the guard")?;
    drop(guard);

    section("What the function logged (one line per request, and one metrics line beside it)");
    let logs = function.stop().await;
    for line in logs.lines().filter(|l| l.contains("answered")) {
        println!("{line}");
    }
    // CloudWatch turns these Embedded Metric Format lines into metrics, with no API call.
    let metrics: Vec<&str> = logs.lines().filter(|l| l.contains("\"_aws\"")).collect();
    if let Some(first) = metrics.first() {
        println!("\n{} metrics lines (EMF), the first:\n{first}", metrics.len());
    }
    for line in audit_function.stop().await.lines().filter(|l| l.contains("audited")) {
        println!("{line}");
    }
    Ok(())
}

/// `events/stack-status-change.json` for Booking's stack `stack`: CREATE_COMPLETE, now, in Booking's account.
async fn stack_change(events: &std::path::Path, booking: &Publisher, stack: &str) -> Result<Value, BoxError> {
    let mut change = read_event(events, "stack-status-change")?;
    let stack_id = booking.stack_id(stack).await?;
    change["account"] = Value::String(PUBLISHER_ACCOUNT.to_owned());
    change["region"] = Value::String(REGION.to_owned());
    change["time"] = Value::String(remote_exports_core::rfc3339(std::time::SystemTime::now()));
    change["resources"] = serde_json::json!([stack_id]);
    change["detail"]["stack-id"] = Value::String(stack_id);
    Ok(change)
}

/// The refresher in Airmiles' account, as examples/consumer-refresher.yaml configures it.
fn start_refresher(args: &Args, runtime: &RuntimeApi, proxy: &CountingProxy) -> Result<Function, BoxError> {
    let env = [
        ("FUNCTION_MODE", "refresher"),
        ("CENTRAL_ACCOUNT_ID", CENTRAL_ACCOUNT),
        ("FUNCTION_ACCOUNT_ID", CONSUMER_ACCOUNT),
    ];
    launch(args, runtime, proxy, env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// The guard in Booking's account, as examples/export-guard.yaml configures it.
fn start_guard(
    args: &Args,
    runtime: &RuntimeApi,
    proxy: &CountingProxy,
    booking: &Publisher,
    reads_table_arn: &str,
) -> Result<Function, BoxError> {
    let mut env = vec![
        ("FUNCTION_MODE".to_owned(), "guard".to_owned()),
        ("FUNCTION_ACCOUNT_ID".to_owned(), PUBLISHER_ACCOUNT.to_owned()),
        ("READS_TABLE".to_owned(), reads_table_arn.to_owned()),
        (
            "GUARD_REGISTRY_ROLE_ARN".to_owned(),
            format!("arn:aws:iam::{CONSUMER_ACCOUNT}:role/remote-exports-guard-registry"),
        ),
    ];
    env.extend(booking.credential_env());
    launch(args, runtime, proxy, env)
}

/// `events/hook-stack-update.json` for `stack`, its payload (Booking's template without the
/// topic's output) stored in moto's S3 behind a presigned URL, as the Hooks service hands it over.
async fn hook_request(args: &Args, payloads: &HookPayloads, stack: &str) -> Result<Value, BoxError> {
    let mut request = read_event(&args.events, "hook-stack-update")?;
    let topic = serde_json::json!({"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "BookingTopicV2"}});
    let before = serde_json::json!({
        "Resources": {"BookingTopic": topic},
        "Outputs": {"BookingTopicArn": {"Value": {"Ref": "BookingTopic"}, "Export": {"Name": EXPORT}}},
    });
    let after = serde_json::json!({"Resources": {"BookingTopic": topic}});
    let payload = serde_json::json!({"template": after.to_string(), "previousTemplate": before.to_string()});
    let url = payloads.put(&format!("{PUBLISHER_ACCOUNT}/{stack}/remove-topic.json"), payload.to_string()).await?;
    request["stackId"] =
        Value::String(format!("arn:aws:cloudformation:{REGION}:{PUBLISHER_ACCOUNT}:stack/{stack}/1a2345b6"));
    request["requestData"]["targetLogicalId"] = Value::String(stack.to_owned());
    request["requestData"]["payload"] = Value::String(url);
    println!("Booking updates {stack} with a template that no longer exports {EXPORT}");
    Ok(request)
}

/// Invokes the guard as the Hooks service would and shows its answer.
async fn ask_guard(runtime: &RuntimeApi, request: &Value) -> Result<Value, BoxError> {
    let invocation = runtime.invoke(request, Duration::from_secs(30)).await?;
    let Outcome::Response(answer) = invocation.outcome else {
        return Err(format!("the guard returned an error to the runtime: {:?}", invocation.outcome).into());
    };
    println!("The Hooks service reads:\n{}", serde_json::to_string_pretty(&answer)?);
    Ok(answer)
}

/// The Lambda binary in `mode` (FUNCTION_MODE), as the template configures that function.
fn start_function(args: &Args, runtime: &RuntimeApi, proxy: &CountingProxy, mode: &str) -> Result<Function, BoxError> {
    let env = [
        ("FUNCTION_MODE", mode),
        ("ALLOWED_ROLE_ARNS", "arn:aws:iam::*:role/remote-exports-*"),
        ("READS_TABLE", READS_TABLE),
        ("FUNCTION_ACCOUNT_ID", CONSUMER_ACCOUNT),
    ];
    launch(args, runtime, proxy, env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// The Lambda binary behind `runtime`, its AWS calls through `proxy`, with `env`.
fn launch(
    args: &Args,
    runtime: &RuntimeApi,
    proxy: &CountingProxy,
    env: Vec<(String, String)>,
) -> Result<Function, BoxError> {
    Ok(Function::start(&FunctionOptions {
        binary: args.lambda.clone(),
        runtime_api: runtime.address(),
        aws_endpoint: proxy.url(),
        region: REGION.to_owned(),
        env,
    })?)
}

struct CliRun {
    code: Option<i32>,
    stdout: String,
}

/// Runs the `remote-exports` CLI as a platform engineer would, against moto, and shows its output.
fn cli(args: &Args, moto: &str, arguments: &[&str]) -> Result<CliRun, BoxError> {
    println!("\n$ remote-exports {}", arguments.join(" "));
    let output = std::process::Command::new(&args.cli)
        .args(arguments)
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("READS_TABLE", READS_TABLE)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", args.cli.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    println!("(exit {})", output.status.code().map_or_else(|| "signal".to_owned(), |c| c.to_string()));
    Ok(CliRun { code: output.status.code(), stdout })
}

/// Sends `events/<name>.json` with its ResponseURL swapped for a presigned URL into moto's copy of
/// CloudFormation's response bucket (same bucket, same key), and shows the answer stored there.
async fn invoke(
    args: &Args,
    runtime: &RuntimeApi,
    responses: &MotoResponses,
    proxy: &CountingProxy,
    name: &str,
) -> Result<Value, BoxError> {
    let mut event = read_event(&args.events, name)?;
    responses.address(&mut event).await?;
    proxy.reset();
    let invocation = runtime.invoke(&event, Duration::from_secs(30)).await?;
    if let Outcome::Error(error) = &invocation.outcome {
        return Err(format!("the function returned an error to the runtime: {error}").into());
    }
    let answer = responses.answer(&event).await?.ok_or("no answer reached the response bucket")?;
    println!("CloudFormation reads from its response bucket ({} bytes of 4096):", serde_json::to_vec(&answer)?.len());
    println!("{}", serde_json::to_string_pretty(&answer)?);
    let calls: Vec<String> = proxy.calls().into_iter().map(|(action, n)| format!("{action} ×{n}")).collect();
    println!(
        "AWS calls: {}; handled in {} ms",
        if calls.is_empty() { "none".to_owned() } else { calls.join(", ") },
        invocation.handler_time.as_millis()
    );
    Ok(answer)
}
