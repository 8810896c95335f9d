//! The Booking/Airmiles story, locally: moto plays both AWS accounts, the real Lambda binary runs
//! behind a Runtime API emulator, and the events from `events/` play CloudFormation.
//!
//! Usage: remote-exports-demo --moto-server PATH --lambda PATH [--events DIR]

use std::path::PathBuf;
use std::time::Duration;

use local_harness::{
    BoxError, CONSUMER_ACCOUNT, CountingProxy, Function, FunctionOptions, Moto, MotoResponses, Outcome, Publisher,
    RuntimeApi,
};
use serde_json::Value;

const PUBLISHER_ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";
const EXPORT: &str = "booking-lambda-BookingTopicArn";

struct Args {
    moto_server: PathBuf,
    lambda: PathBuf,
    events: PathBuf,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut moto_server = None;
    let mut lambda = None;
    let mut events = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"));
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--moto-server" => moto_server = Some(PathBuf::from(value)),
            "--lambda" => lambda = Some(PathBuf::from(value)),
            "--events" => events = PathBuf::from(value),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    Ok(Args {
        moto_server: moto_server.ok_or("--moto-server is required (cargo xtask demo passes it)")?,
        lambda: lambda.ok_or("--lambda is required (cargo xtask demo passes it)")?,
        events,
    })
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
    let args = parse_args()?;
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
    let consumer = Publisher::connect(moto, CONSUMER_ACCOUNT, REGION).await?;
    let decoy = format!("arn:aws:sns:{REGION}:{CONSUMER_ACCOUNT}:NotTheBookingTopic");
    consumer.publish("decoy", &[(EXPORT.to_owned(), decoy.clone())]).await?;
    println!("Airmiles account {CONSUMER_ACCOUNT} has a decoy export of the same name = {decoy}");

    let runtime = RuntimeApi::start().await?;
    let responses = MotoResponses::create(moto, REGION).await?;
    println!("CloudFormation's response bucket {} exists in moto's S3", cfn_custom_resource::response_bucket(REGION));
    let proxy = CountingProxy::start(moto).await?;
    let function = Function::start(&FunctionOptions {
        binary: args.lambda.clone(),
        runtime_api: runtime.address(),
        aws_endpoint: proxy.url(),
        region: REGION.to_owned(),
        env: vec![("ALLOWED_ROLE_ARNS".into(), "arn:aws:iam::*:role/remote-exports-*".into())],
    })?;
    println!("Started {} behind a local Lambda Runtime API", args.lambda.display());

    section("1. CloudFormation creates Airmiles' Lookup resource (events/create.json)");
    let created = invoke(args, &runtime, &responses, &proxy, "create").await?;
    expect(created["Status"] == "SUCCESS", "Create answered SUCCESS")?;
    expect(created["Data"][EXPORT] == topic_v1.as_str(), "Create read the Booking account, not the decoy")?;
    let physical_id = created["PhysicalResourceId"].clone();
    println!("\n!GetAtt Lookup.{EXPORT}  →  {}", created["Data"][EXPORT].as_str().unwrap_or("?"));

    section("2. Booking replaces its topic; Airmiles bumps Refresh, CloudFormation updates (events/update.json)");
    booking.delete_stack("booking-lambda").await?;
    let topic_v2 = booking.publish_topic("booking-lambda-v2", "BookingTopicV2", EXPORT).await?;
    println!("Booking now exports {EXPORT} = {topic_v2}");
    let updated = invoke(args, &runtime, &responses, &proxy, "update").await?;
    expect(updated["Status"] == "SUCCESS", "Update answered SUCCESS")?;
    expect(updated["Data"][EXPORT] == topic_v2.as_str(), "Update picked up the new value")?;
    expect(updated["PhysicalResourceId"] == physical_id, "same source, same PhysicalResourceId: no replacement")?;
    println!("\n!GetAtt Lookup.{EXPORT}  →  {}", updated["Data"][EXPORT].as_str().unwrap_or("?"));

    section("3. Someone invokes the function by hand, with an answer URL into their own bucket");
    let mut forged = read_event(args, "create")?;
    forged["RequestId"] = Value::String("forged-request".into());
    let stolen = format!("{}/attacker-bucket/loot?X-Amz-Signature=forged", moto.trim_end_matches('/'));
    forged["ResponseURL"] = Value::String(stolen);
    proxy.reset();
    let invocation = runtime.invoke(&forged, Duration::from_secs(30)).await?;
    let refused =
        matches!(&invocation.outcome, Outcome::Error(e) if e["errorType"] == "RemoteExports.ResponseUrlRefused");
    expect(refused, "the function refused: the URL is not CloudFormation's bucket and key for that request")?;
    expect(proxy.calls().is_empty(), "nothing was read: no AssumeRole, no ListExports")?;

    section("4. Airmiles' stack is deleted (events/delete.json)");
    let deleted = invoke(args, &runtime, &responses, &proxy, "delete").await?;
    expect(deleted["Status"] == "SUCCESS", "Delete answered SUCCESS")?;

    section("What the function logged (one line per request)");
    for line in function.stop().await.lines().filter(|l| l.contains("answered")) {
        println!("{line}");
    }
    Ok(())
}

fn read_event(args: &Args, name: &str) -> Result<Value, BoxError> {
    let path = args.events.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
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
    let mut event = read_event(args, name)?;
    responses.address(&mut event)?;
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

fn section(title: &str) {
    println!("\n━━ {title}");
}

fn expect(condition: bool, what: &str) -> Result<(), BoxError> {
    if condition {
        println!("  ✓ {what}");
        Ok(())
    } else {
        Err(format!("expected: {what}").into())
    }
}
