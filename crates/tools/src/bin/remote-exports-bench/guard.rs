//! `--guard`: the export guard's decision for one stack against a registry of 10 000 readers across
//! 50 publisher accounts: p50 and p99 over cold processes (started for one hook request each) and
//! warm invocations, beside a full Scan of the same table (what a guard without the `BySource`
//! index would have to read).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::{BoxError, FunctionOptions, HookPayloads, Outcome, Publisher, ReadsTable, reader_item};

use crate::{Args, REGION, World, kill_and_measure, machine, ms, percentile, today, world, write_table};

const PUBLISHERS: usize = 50;
const ITEMS: usize = 10_000;
const REGISTRY_ROLE: &str = "arn:aws:iam::123456789012:role/remote-exports-guard-registry";

/// Booking as it stands: three exported outputs.
const STACK: &str = "Resources:\n  P:\n    Type: AWS::CloudFormation::WaitConditionHandle\nOutputs:\n  TopicArn:\n    Value: t\n    Export: {Name: booking-TopicArn}\n  QueueUrl:\n    Value: q\n    Export: {Name: booking-QueueUrl}\n  TableName:\n    Value: n\n    Export: {Name: booking-TableName}\n";

pub async fn guard(args: &Args, moto: &str) -> Result<(), BoxError> {
    let table = ReadsTable::create(moto, REGION, "bench-guard-reads").await?;
    let publishers: Vec<String> = (0..PUBLISHERS).map(|i| format!("4000000000{i:02}")).collect();
    eprintln!("seeding {ITEMS} readers across {PUBLISHERS} publishers…");
    let seeding = Instant::now();
    let items: Vec<Value> = (0..ITEMS).map(|i| item(&publishers[i % PUBLISHERS], i)).collect();
    table.put_many(&items).await?;
    eprintln!("seeded in {:.0?}", seeding.elapsed());
    let booking = Publisher::connect(moto, &publishers[0], REGION).await?;
    booking.create_stack("booking", STACK).await?;
    let payloads = HookPayloads::create(moto, REGION).await?;
    // The update removes the topic, which 200 readers of this publisher read: FAILED, every reader named.
    let template = STACK.replace("  TopicArn:\n    Value: t\n    Export: {Name: booking-TopicArn}\n", "");
    let body = json!({"template": template, "previousTemplate": STACK}).to_string();
    let url = payloads.put("bench/remove-topic.json", body).await?;
    let request = json!({
        "clientRequestToken": "bench",
        "awsAccountId": publishers[0],
        "stackId": format!("arn:aws:cloudformation:{REGION}:{}:stack/booking/1", publishers[0]),
        "changeSetId": null,
        "hookTypeName": "RemoteExports::Guard::Exports",
        "actionInvocationPoint": "UPDATE_PRE_PROVISION",
        "requestData": {"targetName": "STACK", "targetType": "STACK", "targetLogicalId": "booking", "payload": url},
        "requestContext": {"invocation": 1, "callbackContext": null}
    });
    let mut env = vec![
        ("FUNCTION_MODE".to_owned(), "guard".to_owned()),
        ("FUNCTION_ACCOUNT_ID".to_owned(), publishers[0].clone()),
        ("READS_TABLE".to_owned(), table.arn().await?),
        ("GUARD_REGISTRY_ROLE_ARN".to_owned(), REGISTRY_ROLE.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned()),
    ];
    env.extend(booking.credential_env());

    let runs = args.runs.max(20);
    let (mut cold_total, mut cold_handler, mut calls) = (Vec::new(), Vec::new(), String::new());
    let (mut cold_cpu, mut cold_rss) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let world = world(moto).await?;
        let started = Instant::now();
        let child = spawn(args, &world, &env)?;
        let handler = decide(&world, &request).await?;
        cold_total.push(ms(started.elapsed()));
        cold_handler.push(ms(handler));
        let usage = kill_and_measure(child)?;
        cold_cpu.push(ms(usage.user + usage.system));
        cold_rss.push(usage.peak_rss_kb as f64 / 1024.0);
        if run == 0 {
            calls = world.proxy.calls().iter().map(|(a, n)| format!("{a} ×{n}")).collect::<Vec<_>>().join(", ");
        }
    }
    let world = world(moto).await?;
    let child = spawn(args, &world, &env)?;
    decide(&world, &request).await?;
    world.proxy.reset();
    let mut warm = Vec::new();
    for _ in 0..runs {
        warm.push(ms(decide(&world, &request).await?));
    }
    let warm_calls =
        world.proxy.calls().iter().map(|(a, n)| format!("{a} ×{}", n / runs as u32)).collect::<Vec<_>>().join(", ");
    kill_and_measure(child)?;

    // The alternative: every item of the registry, as a Scan (what the audit reads).
    let mut scans = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let items = table.items().await?.len();
        if items != ITEMS {
            return Err(format!("the scan read {items} items, not {ITEMS}").into());
        }
        scans.push(ms(started.elapsed()));
    }

    let row = |name: &str, values: &[f64]| {
        format!(
            "| {name} | {} | {:.1} ms | {:.1} ms |\n",
            values.len(),
            percentile(values, 50.0),
            percentile(values, 99.0)
        )
    };
    let usage_row = format!(
        "| cold: the guard's own CPU (user + system) | {} | {:.1} ms | {:.1} ms |\n| cold: peak RSS | {} | {:.1} MiB | {:.1} MiB |\n",
        cold_cpu.len(),
        percentile(&cold_cpu, 50.0),
        percentile(&cold_cpu, 99.0),
        cold_rss.len(),
        percentile(&cold_rss, 50.0),
        percentile(&cold_rss, 99.0),
    );
    let text = format!(
        "Measured {} on {}; release binary against moto; a registry of {ITEMS} readers across {PUBLISHERS} publisher \
         accounts ({} for the guard's own account, all reading the export the update removes: the answer is FAILED and \
         names every reader).\n\n\
         | the guard's decision for one stack | runs | p50 | p99 |\n|---|---:|---:|---:|\n{}{}{}{usage_row}\n\
         Calls of a cold decision: {calls}. Of a warm one: {warm_calls}.\n\n\
         | without the index: a Scan of the whole registry (5 runs) | | {:.1} ms | {:.1} ms |\n|---|---|---:|---:|\n",
        today(),
        machine(),
        ITEMS / PUBLISHERS,
        row("cold: process start → answer", &cold_total),
        row("cold: handler only", &cold_handler),
        row("warm: handler", &warm),
        percentile(&scans, 50.0),
        percentile(&scans, 99.0),
    );
    write_table(args, "GUARD.md", &text)?;
    Ok(())
}

/// Reader `i` of `publisher`: a consumer account and stack of its own, reading Booking's topic.
fn item(publisher: &str, i: usize) -> Value {
    let stack_id = format!("arn:aws:cloudformation:{REGION}:5{i:011}:stack/consumer-{i}/0");
    reader_item(publisher, REGION, &stack_id, &format!("consumer-{i}"), &[("Topic", "booking-TopicArn")])
}

/// The release binary with `env`, for one benchmark's world, its output discarded.
pub(crate) fn spawn(args: &Args, world: &World, env: &[(String, String)]) -> Result<std::process::Child, BoxError> {
    let options = FunctionOptions {
        binary: args.lambda.clone(),
        runtime_api: world.runtime.address(),
        aws_endpoint: world.proxy.url(),
        region: REGION.to_owned(),
        env: env.to_vec(),
    };
    Ok(options.command().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn()?)
}

/// One hook request; its handler time. The answer must be the FAILED that names the readers.
async fn decide(world: &World, request: &Value) -> Result<Duration, BoxError> {
    let invocation = world.runtime.invoke(request, Duration::from_secs(30)).await?;
    match &invocation.outcome {
        Outcome::Response(answer) if answer["errorCode"] == "NonCompliant" => Ok(invocation.handler_time),
        other => Err(format!("unexpected guard answer: {other:?}").into()),
    }
}
