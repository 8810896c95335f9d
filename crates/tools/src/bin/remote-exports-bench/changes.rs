//! `--changes`: a publisher's change, checked from its change event, against a registry of 10 000
//! readers across 50 publisher accounts (200 of them read the changed export): p50 and p99 from the
//! event to the stale events being put, cold and warm, with CPU, memory and calls, beside the
//! scheduled audit finding the same change over the same registry.

use std::time::{Duration, Instant};

use remote_exports_core::{ExportOrigin, fingerprint};
use serde_json::{Value, json};
use test_support::{AuditInbox, BoxError, Outcome, Publisher, ReadsTable, reader_item};

use crate::guard::spawn;
use crate::{Args, REGION, World, kill_and_measure, machine, ms, percentile, today, world, write_table};

const PUBLISHERS: usize = 50;
const ITEMS: usize = 10_000;
const EXPORT: &str = "booking-TopicArn";
const BUS: &str = "bench-changes-audit";

fn stack_template(value: &str) -> String {
    json!({
        "Resources": {"P": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"TopicArn": {"Value": value, "Export": {"Name": EXPORT}}},
    })
    .to_string()
}

/// Each publisher's Booking stack, with its readers current; publisher 0 is the one that changes.
struct Registry {
    publishers: Vec<String>,
    booking: Publisher,
    /// How many times publisher 0 has replaced its stack.
    version: usize,
}

impl Registry {
    async fn seed(moto: &str, table: &ReadsTable) -> Result<Registry, BoxError> {
        let publishers: Vec<String> = (0..PUBLISHERS).map(|i| format!("4100000000{i:02}")).collect();
        let mut fingerprints = Vec::new();
        for account in &publishers {
            let publisher = Publisher::connect(moto, account, REGION).await?;
            publisher.create_stack("booking-0", stack_template("v0")).await?;
            let stack_id = publisher.stack_id("booking-0").await?;
            fingerprints.push(fingerprint(&ExportOrigin::new(EXPORT, stack_id), "v0"));
        }
        let items: Vec<Value> = (0..ITEMS)
            .map(|i| {
                let p = i % PUBLISHERS;
                let stack_id = format!("arn:aws:cloudformation:{REGION}:5{i:011}:stack/consumer-{i}/0");
                let mut item =
                    reader_item(&publishers[p], REGION, &stack_id, &format!("consumer-{i}"), &[("Topic", EXPORT)]);
                item["Exports"]["L"][0]["M"]["Fingerprint"]["S"] = json!(fingerprints[p]);
                item["FingerprintScheme"]["S"] = json!(remote_exports_core::FINGERPRINT_SCHEME);
                item
            })
            .collect();
        table.put_many(&items).await?;
        let booking = Publisher::connect(moto, &publishers[0], REGION).await?;
        Ok(Registry { publishers, booking, version: 0 })
    }

    /// Publisher 0 replaces the stack that exports the topic (moto's UpdateStack keeps ListExports as
    /// it was); the change event CloudFormation sends for the new stack, in the documented shape.
    async fn change(&mut self) -> Result<Value, BoxError> {
        self.booking.delete_stack(&format!("booking-{}", self.version)).await?;
        self.version += 1;
        let name = format!("booking-{}", self.version);
        self.booking.create_stack(&name, stack_template(&format!("v{}", self.version))).await?;
        let stack_id = self.booking.stack_id(&name).await?;
        let mut event: Value = serde_json::from_str(include_str!("../../../../../events/stack-status-change.json"))?;
        event["id"] = json!(format!("bench-change-{}", self.version));
        event["account"] = json!(self.publishers[0]);
        event["region"] = json!(REGION);
        event["time"] = json!(remote_exports_core::rfc3339(std::time::SystemTime::now()));
        event["resources"] = json!([stack_id]);
        event["detail"]["stack-id"] = json!(stack_id);
        event["detail"]["status-details"]["status"] = json!("CREATE_COMPLETE");
        Ok(event)
    }
}

pub async fn changes(args: &Args, moto: &str) -> Result<(), BoxError> {
    let table = ReadsTable::create(moto, REGION, "bench-changes-reads").await?;
    // The audit bus, with a rule that matches none of these events: moto's delivery of thousands of
    // events to a queue would be measured instead of the check.
    AuditInbox::create_on(moto, REGION, "bench-changes-inbox", "000000000000", BUS).await?;
    eprintln!("seeding {ITEMS} readers across {PUBLISHERS} publishers…");
    let seeding = Instant::now();
    let mut registry = Registry::seed(moto, &table).await?;
    eprintln!("seeded in {:.0?}", seeding.elapsed());
    let env = |mode: &str| {
        vec![
            ("FUNCTION_MODE".to_owned(), mode.to_owned()),
            ("READS_TABLE".to_owned(), table.name.clone()),
            ("AUDIT_EVENT_BUS".to_owned(), BUS.to_owned()),
            ("CHANGE_CHECK_WINDOW_SECONDS".to_owned(), "0".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned()),
        ]
    };

    // Each check writes 200 alerted states and puts 200 events into moto, which takes it seconds.
    let runs = args.runs.max(10);
    let (mut cold_total, mut cold_handler, mut cold_cpu, mut cold_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut calls = String::new();
    let mut propagation = Vec::new();
    for run in 0..runs {
        let event = registry.change().await?;
        let world = world(moto).await?;
        let started = Instant::now();
        let child = spawn(args, &world, &env("change-check"))?;
        let (handler, result) = invoke(&world, &event, "EventsPut", 200).await?;
        propagation.push(result["PropagationMs"].as_f64().unwrap_or(f64::NAN));
        cold_total.push(ms(started.elapsed()));
        cold_handler.push(ms(handler));
        let usage = kill_and_measure(child)?;
        cold_cpu.push(ms(usage.user + usage.system));
        cold_rss.push(usage.peak_rss_kb as f64 / 1024.0);
        if run == 0 {
            calls = calls_of(&world, 1);
        }
    }
    let warm_world = world(moto).await?;
    let child = spawn(args, &warm_world, &env("change-check"))?;
    let first = registry.change().await?;
    invoke(&warm_world, &first, "EventsPut", 200).await?;
    warm_world.proxy.reset();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let event = registry.change().await?;
        let (handler, result) = invoke(&warm_world, &event, "EventsPut", 200).await?;
        propagation.push(result["PropagationMs"].as_f64().unwrap_or(f64::NAN));
        warm.push(ms(handler));
    }
    let warm_calls = calls_of(&warm_world, runs as u32);
    kill_and_measure(child)?;

    // The scheduled audit finding the same kind of change: a Scan of everything, every publisher read.
    let mut audits = Vec::new();
    let mut audit_cpu = Vec::new();
    let mut audit_calls = String::new();
    for run in 0..3 {
        registry.change().await?;
        let world = world(moto).await?;
        let started = Instant::now();
        let child = spawn(args, &world, &env("audit"))?;
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "id": "bench",
            "account": "123456789012", "region": REGION, "time": "2026-12-07T00:00:00Z"});
        invoke(&world, &scheduled, "EventsPut", 200).await?;
        // (the audit's wall time includes its start, its Scan and its 200 alerted-state writes)
        audits.push(ms(started.elapsed()));
        let usage = kill_and_measure(child)?;
        audit_cpu.push(ms(usage.user + usage.system));
        if run == 0 {
            audit_calls = calls_of(&world, 1);
        }
    }

    let row = |name: &str, values: &[f64], unit: &str| {
        format!(
            "| {name} | {} | {:.1} {unit} | {:.1} {unit} |\n",
            values.len(),
            percentile(values, 50.0),
            percentile(values, 99.0)
        )
    };
    let text = format!(
        "Measured {} on {}; release binary against moto; a registry of {ITEMS} readers across {PUBLISHERS} publisher \
         accounts, {} of them reading the export that publisher 0 changes in each run (each run a new value, so each \
         check puts {} stale events and records them alerted).\n\n\
         | a change event, checked | runs | p50 | p99 |\n|---|---:|---:|---:|\n{}{}{}{}{}{}\n\
         Calls of a cold check: {calls}. Of a warm one: {warm_calls}.\n\n\
         | the scheduled audit finding the same change (process start → events put) | runs | p50 | p99 |\n|---|---:|---:|---:|\n{}{}\n\
         Calls of one audit: {audit_calls}.\n",
        today(),
        machine(),
        ITEMS / PUBLISHERS,
        ITEMS / PUBLISHERS,
        row("the change's time → its 200 stale events put (PropagationTime), cold and warm", &propagation, "ms"),
        row("cold: process start → answered (events put, then 200 alerted states written)", &cold_total, "ms"),
        row("cold: handler (event in → answered)", &cold_handler, "ms"),
        row("warm: handler (event in → answered)", &warm, "ms"),
        row("cold: the check's own CPU (user + system)", &cold_cpu, "ms"),
        row("cold: peak RSS", &cold_rss, "MiB"),
        row("audit: wall", &audits, "ms"),
        row("audit: its own CPU (user + system)", &audit_cpu, "ms"),
    );
    write_table(args, "CHANGES.md", &text)?;
    Ok(())
}

/// Calls the proxy saw, per run.
fn calls_of(world: &World, runs: u32) -> String {
    world.proxy.calls().iter().map(|(a, n)| format!("{a} ×{}", n / runs)).collect::<Vec<_>>().join(", ")
}

/// One invocation; its handler time and result, whose `count` field must be `expected`.
async fn invoke(world: &World, event: &Value, count: &str, expected: u64) -> Result<(Duration, Value), BoxError> {
    let invocation = world.runtime.invoke(event, Duration::from_secs(120)).await?;
    match &invocation.outcome {
        Outcome::Response(result) if result[count] == expected => Ok((invocation.handler_time, result.clone())),
        other => Err(format!("unexpected result (wanted {count} = {expected}): {other:?}").into()),
    }
}
