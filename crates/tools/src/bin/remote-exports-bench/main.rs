//! The benchmark behind the README's Performance section: the release Lambda binary, started fresh
//! for every cold run as Lambda would, against moto holding N exports.
//!
//! Usage: remote-exports-bench --moto-server PATH --lambda PATH [--runs R] [--sizes 100,1000,10000] [--out DIR]
//!        [--registry]   (instead: the cost of the read registry on the cold Create path, at the first size)
//!        [--burst [--burst-sizes 10,30,50,100,200] [--rate 10] [--burst-capacity 10]]
//!                       (instead: K cold functions answering one Create each at once, against a publisher
//!                        whose ListExports and DescribeStacks are throttled by a token bucket, with and
//!                        without the snapshot; reading one export, then one stack's outputs)
//!        [--guard]      (instead: the export guard's decision for one stack against 10 000 registry readers
//!                        across 50 publishers, p50/p99 cold and warm, beside a full Scan of that registry)
//!        [--changes]    (instead: a publisher's change event checked against 10 000 registry readers across
//!                        50 publishers, p50/p99 cold and warm, beside the scheduled audit finding it)
//!        [--cpu-share MB [--python PATH] [--node PATH --node-peer DIR]]
//!                       (instead: cold Creates held to a MB-sized Lambda function's CPU share, beside the same
//!                        runs unthrottled, for this function and the peers in bench/peers; needs root)

mod changes;
mod cpu_share;
mod guard;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::sync::Arc;

use serde_json::{Value, json};
use test_support::{
    BoxError, CountingProxy, FunctionOptions, Moto, Outcome, Publisher, ReadsTable, ResponseEndpoint, RuntimeApi,
    SnapshotTable, create_event,
};

const REGION: &str = "eu-west-1";
const BENCH_STACK: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000";

/// The benchmark behind the README's Performance section (see the module docs for each mode).
#[derive(clap::Parser)]
#[command(
    name = "remote-exports-bench",
    about = "Cold start, CPU, memory and AWS calls of the release Lambda binary against moto"
)]
struct Args {
    /// moto's server program (cargo xtask bench passes it).
    #[arg(long)]
    moto_server: PathBuf,
    /// The release Lambda binary to measure (cargo xtask bench passes it).
    #[arg(long)]
    lambda: PathBuf,
    /// Cold runs per size.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Exports the publisher holds, one measurement each (default 100,1000,10000; 100,1000 with
    /// --cpu-share, whose peers read every page at a few percent of a CPU).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Three runs over 100 and 1 000 exports.
    #[arg(long)]
    quick: bool,
    /// Where the results are written.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench"))]
    out: PathBuf,
    /// Instead: the cost of the read registry on the cold Create path, at the first size.
    #[arg(long)]
    registry: bool,
    /// Instead: the export guard's decision against 10 000 registry readers (20 cold, 20 warm at least).
    #[arg(long)]
    guard: bool,
    /// Instead: a publisher's change event checked against 10 000 registry readers (20 cold, 20 warm
    /// at least), beside three scheduled audits finding the same change.
    #[arg(long)]
    changes: bool,
    /// Instead: ten values read as exports and as SSM parameters, and eleven parameters, in cold Creates.
    #[arg(long)]
    parameters: bool,
    /// Instead: K cold functions answering one Create each at once against a throttled publisher.
    #[arg(long)]
    burst: bool,
    /// The K of --burst.
    #[arg(long, value_delimiter = ',', default_value = "10,30,50,100,200")]
    burst_sizes: Vec<usize>,
    /// The throttled publisher's requests per second, for --burst.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// The throttled publisher's burst, for --burst.
    #[arg(long, default_value_t = 10.0)]
    burst_capacity: f64,
    /// Instead: cold Creates held to a MB-sized Lambda function's CPU share (needs root).
    #[arg(long, value_name = "MB")]
    cpu_share: Option<u32>,
    /// The Python peer's interpreter, for --cpu-share.
    #[arg(long)]
    python: Option<PathBuf>,
    /// node, for the Node.js peer of --cpu-share.
    #[arg(long)]
    node: Option<PathBuf>,
    /// The Node.js peer's installed folder, for --cpu-share.
    #[arg(long)]
    node_peer: Option<PathBuf>,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = <Args as clap::Parser>::parse();
    if args.quick {
        args.runs = 3;
        args.sizes = vec![100, 1_000];
    }
    if args.sizes.is_empty() {
        // The peers read every page at a few percent of a CPU: 10 000 exports would take minutes each.
        args.sizes = if args.cpu_share.is_some() { vec![100, 1_000] } else { vec![100, 1_000, 10_000] };
    }
    Ok(args)
}

/// One cold process: start, one Create, killed once answered.
struct Cold {
    init: Duration,
    wall: Duration,
    /// Until the function told the runtime it was done: the PUT and anything beside it.
    handler: Duration,
    cpu: Duration,
    peak_rss_kb: u64,
    assume_role: u32,
    list_pages: u32,
    puts: usize,
    put_items: u32,
    get_parameters: u32,
}

/// One warm process: three Creates on the same role; the last two are warm.
struct Warm {
    handler: Vec<Duration>,
    assume_role: u32,
    list_pages: u32,
    /// PUTs per warm Create, counted at the ResponseURL endpoint.
    puts: u32,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark FAILED: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = parse_args()?;
    let moto = Moto::start(&args.moto_server).await?;
    if let Some(memory_mb) = args.cpu_share {
        let result = cpu_share::cpu_share(&args, moto.endpoint(), memory_mb, &peers(&args)).await;
        moto.stop().await;
        return result;
    }
    if args.guard {
        let result = guard::guard(&args, moto.endpoint()).await;
        moto.stop().await;
        return result;
    }
    if args.changes {
        let result = changes::changes(&args, moto.endpoint()).await;
        moto.stop().await;
        return result;
    }
    if args.parameters {
        let result = parameters_cost(&args, moto.endpoint()).await;
        moto.stop().await;
        return result;
    }
    if args.registry || args.burst {
        let result =
            if args.burst { burst(&args, moto.endpoint()).await } else { registry_cost(&args, moto.endpoint()).await };
        moto.stop().await;
        return result;
    }
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let (publisher, properties) = seed(moto.endpoint(), size).await?;
        let mut colds = Vec::new();
        let mut warms = Vec::new();
        for run in 0..args.runs {
            colds.push(cold_run(&args, moto.endpoint(), &properties, &[]).await?);
            warms.push(warm_run(&args, moto.endpoint(), &properties).await?);
            let cold = &colds[run];
            eprintln!(
                "  N={size} run {}/{}: cpu {:.1} ms, rss {} KB",
                run + 1,
                args.runs,
                ms(cold.cpu),
                cold.peak_rss_kb
            );
        }
        rows.push(summarize(size, &colds, &warms));
        moto_delete(&publisher).await;
    }
    moto.stop().await;
    report(&args, &rows)
}

fn peers(args: &Args) -> Vec<cpu_share::Peer> {
    let peers_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/peers"));
    let mut peers = vec![cpu_share::Peer::Rust(args.lambda.clone())];
    if let Some(python) = &args.python {
        peers.push(cpu_share::Peer::Python { python: python.clone(), dir: peers_dir.join("python") });
    }
    if let (Some(node), Some(dir)) = (&args.node, &args.node_peer) {
        peers.push(cpu_share::Peer::Node { node: node.clone(), dir: dir.clone() });
    }
    peers
}

/// `size` exports in an account of their own, and properties that select the one listed last, so
/// that every page must be read: the worst case for paging.
async fn seed(moto: &str, size: usize) -> Result<(Publisher, Value), BoxError> {
    let account = format!("3{size:011}");
    eprintln!("seeding {size} exports into account {account}…");
    let publisher = Publisher::connect(moto, &account, REGION).await?;
    let exports: Vec<(String, String)> = (0..size)
        .map(|i| (format!("bench-Export{i:05}"), format!("arn:aws:sns:{REGION}:{account}:topic-{i:05}")))
        .collect();
    publisher.publish("bench", &exports).await?;
    let last = publisher.export_names().await?.pop().ok_or("no exports")?;
    let properties =
        json!({"RoleArn": format!("arn:aws:iam::{account}:role/remote-exports-reader"), "ExportNames": [last]});
    Ok((publisher, properties))
}

/// Cold Creates without and with `READS_TABLE`, interleaved so that both see the same machine.
async fn registry_cost(args: &Args, moto: &str) -> Result<(), BoxError> {
    let size = args.sizes.first().copied().unwrap_or(100);
    let (publisher, properties) = seed(moto, size).await?;
    let table = ReadsTable::create(moto, REGION, "bench-reads").await?;
    let with_table = [("READS_TABLE", table.name.as_str())];
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        without.push(cold_run(args, moto, &properties, &[]).await?);
        with.push(cold_run(args, moto, &properties, &with_table).await?);
        eprintln!("  registry run {}/{}", run + 1, args.runs);
    }
    let items = table.items().await?.len();
    let row = |name: &str, colds: &[Cold]| {
        let of = |f: &dyn Fn(&Cold) -> f64| median(colds.iter().map(f).collect());
        format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {} / {} / {} / {} |\n",
            of(&|c| ms(c.wall)),
            of(&|c| ms(c.handler)),
            of(&|c| ms(c.cpu)),
            of(&|c| c.peak_rss_kb as f64 / 1024.0),
            colds[0].assume_role,
            colds[0].list_pages,
            colds[0].puts,
            colds[0].put_items,
        )
    };
    let table_md = format!(
        "Measured {} on {}; medians of {} interleaved cold Creates against {size} exports; release binary.\n\n\
         | READS_TABLE | start → PUT received | handler (PUT and registry write) | CPU | peak RSS | calls (AssumeRole / ListExports / PUT / PutItem) |\n\
         |---|---:|---:|---:|---:|:---:|\n{}{}\nItems in the table afterwards: {items} (one reader, rewritten by every Create).\n",
        today(),
        machine(),
        args.runs,
        row("unset", &without),
        row("set", &with),
    );
    write_table(args, "REGISTRY.md", &table_md)?;
    moto_delete(&publisher).await;
    Ok(())
}

/// The same ten values as exports (named in `ExportNames` among 100) and as SSM parameters (one
/// GetParameters), and eleven parameters (two), in interleaved cold Creates.
async fn parameters_cost(args: &Args, moto: &str) -> Result<(), BoxError> {
    let account = "399999999999";
    let publisher = Publisher::connect(moto, account, REGION).await?;
    let exports: Vec<(String, String)> = (0..100)
        .map(|i| (format!("bench-Export{i:05}"), format!("arn:aws:sns:{REGION}:{account}:topic-{i:05}")))
        .collect();
    publisher.publish("bench", &exports).await?;
    for i in 0..11 {
        publisher.put_parameter(&format!("/bench/prod/topic-{i:02}"), "String", &exports[i * 9].1).await?;
    }
    let role = format!("arn:aws:iam::{account}:role/remote-exports-reader");
    let ten_exports: Vec<String> = (0..10).map(|i| exports[i * 9].0.clone()).collect();
    let parameters = |n: usize| (0..n).map(|i| format!("/bench/prod/topic-{i:02}")).collect::<Vec<_>>();
    let cases = [
        ("10 exports (ExportNames, 100 exported)", json!({"RoleArn": role, "ExportNames": ten_exports})),
        ("10 parameters", json!({"RoleArn": role, "Parameters": parameters(10)})),
        ("11 parameters", json!({"RoleArn": role, "Parameters": parameters(11)})),
    ];
    let mut colds: Vec<Vec<Cold>> = cases.iter().map(|_| Vec::new()).collect();
    for run in 0..args.runs {
        for (n, (_, properties)) in cases.iter().enumerate() {
            colds[n].push(cold_run(args, moto, properties, &[]).await?);
        }
        eprintln!("  parameters run {}/{}", run + 1, args.runs);
    }
    let mut rows = String::new();
    for ((name, _), runs) in cases.iter().zip(&colds) {
        let of = |f: &dyn Fn(&Cold) -> f64| median(runs.iter().map(f).collect());
        rows.push_str(&format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {} / {} / {} |\n",
            of(&|c| ms(c.init)),
            of(&|c| ms(c.wall)),
            of(&|c| ms(c.cpu)),
            of(&|c| c.peak_rss_kb as f64 / 1024.0),
            runs[0].assume_role,
            runs[0].list_pages,
            runs[0].get_parameters,
        ));
    }
    let table_md = format!(
        "Measured {} on {}; medians of {} interleaved cold Creates; release binary.\n\n\
         | reads | init | start → PUT received | CPU | peak RSS | calls (AssumeRole / ListExports / GetParameters) |\n\
         |---|---:|---:|---:|---:|:---:|\n{rows}",
        today(),
        machine(),
        args.runs,
    );
    write_table(args, "PARAMETERS.md", &table_md)?;
    moto_delete(&publisher).await;
    Ok(())
}

/// Prints a results table and writes it as `file` under `--out`.
fn write_table(args: &Args, file: &str, table: &str) -> Result<(), BoxError> {
    println!("{table}");
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join(file), table)?;
    eprintln!("wrote {}/{file}", args.out.display());
    Ok(())
}

/// Where a burst's K consumers are: resources of one stack, or one stack in each of K accounts (a
/// StackSets rollout). The snapshot is kept per consumer stack, so only the first shares a read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spread {
    OneStack,
    Accounts,
}

impl Spread {
    fn label(self) -> &'static str {
        match self {
            Spread::OneStack => "one stack",
            Spread::Accounts => "K accounts",
        }
    }

    /// The StackId of consumer `n`.
    fn stack_id(self, n: usize) -> String {
        match self {
            Spread::OneStack => BENCH_STACK.to_owned(),
            Spread::Accounts => BENCH_STACK.replace("123456789012", &format!("{:012}", 300_000_000_000 + n)),
        }
    }
}

/// One row of the burst table.
struct BurstRow {
    consumers: usize,
    spread: Spread,
    /// What each consumer reads.
    reads: &'static str,
    snapshot: bool,
    success: usize,
    answered: usize,
    list_exports: u32,
    describe_stacks: u32,
    assume_role: u32,
    throttled: u32,
    times_ms: Vec<f64>,
}

/// K cold functions, each answering one Create at the same moment, against 1 000 exports (the
/// wanted one on the 10th page) behind a ListExports token bucket; with and without the snapshot.
async fn burst(args: &Args, moto: &str) -> Result<(), BoxError> {
    let (publisher, export_properties) = seed(moto, 1_000).await?;
    // The same publisher's stack with plain outputs, read whole (`StackOutputs: [<stack>]`).
    let outputs: Vec<(String, String)> = (0..20).map(|i| (format!("Output{i}"), format!("value-{i}"))).collect();
    publisher.publish_outputs("bench-outputs", &outputs).await?;
    let output_properties = json!({"RoleArn": export_properties["RoleArn"], "StackOutputs": ["bench-outputs"]});
    let cases = [("1 export (page 10 of 10)", &export_properties), ("1 stack's 20 outputs", &output_properties)];
    let mut rows = Vec::new();
    for (reads, properties) in cases {
        for &consumers in &args.burst_sizes {
            // Without the snapshot where the consumers are does not change what each reads.
            for (spread, snapshot) in [(Spread::OneStack, false), (Spread::OneStack, true), (Spread::Accounts, true)] {
                let mut row = burst_run(args, moto, properties, consumers, spread, snapshot).await?;
                row.reads = reads;
                eprintln!(
                    "  {reads}, K={consumers} in {} snapshot={snapshot}: {}/{consumers} SUCCESS, {} ListExports, {} \
                     DescribeStacks, {} throttled, max {:.1} s",
                    spread.label(),
                    row.success,
                    row.list_exports,
                    row.describe_stacks,
                    row.throttled,
                    percentile(&row.times_ms, 100.0) / 1000.0
                );
                rows.push(row);
            }
        }
    }
    let mut table = format!(
        "Measured {} on {}. K cold function processes each answer one Create at the same moment; each wants \
         either an export on the last of 10 ListExports pages (1 000 exports), or every output of one stack \
         (one DescribeStacks), as K resources of one consumer stack or as one stack in each of K consumer \
         accounts (the snapshot is kept per consumer stack). ListExports and DescribeStacks are each throttled \
         by a token bucket in front of moto at an **assumed** {} requests/s with bursts of {} (AWS publishes no \
         number). Function timeout 60 s.\n\n\
         | reads | K | consumers | snapshot | SUCCESS | ListExports calls | DescribeStacks calls | AssumeRole calls | throttled | p50 | p99 | max |\n\
         |---|---:|---|:---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        today(),
        machine(),
        args.rate,
        args.burst_capacity
    );
    for row in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {}/{} | {} | {} | {} | {} | {:.1} s | {:.1} s | {:.1} s |\n",
            row.reads,
            row.consumers,
            row.spread.label(),
            if row.snapshot { "yes" } else { "no" },
            row.success,
            row.consumers,
            row.list_exports,
            row.describe_stacks,
            row.assume_role,
            row.throttled,
            percentile(&row.times_ms, 50.0) / 1000.0,
            percentile(&row.times_ms, 99.0) / 1000.0,
            percentile(&row.times_ms, 100.0) / 1000.0,
        ));
        if row.answered < row.consumers {
            table.push_str(&format!(
                "|  |  |  | ({} of {} never answered) |||||||||\n",
                row.consumers - row.answered,
                row.consumers
            ));
        }
    }
    write_table(args, "BURST.md", &table)?;
    moto_delete(&publisher).await;
    let _ = publisher.delete_stack("bench-outputs").await;
    Ok(())
}

async fn burst_run(
    args: &Args,
    moto: &str,
    properties: &Value,
    consumers: usize,
    spread: Spread,
    snapshot: bool,
) -> Result<BurstRow, BoxError> {
    let proxy = CountingProxy::start(moto).await?;
    proxy.limit("ListExports", args.rate, args.burst_capacity);
    proxy.limit("DescribeStacks", args.rate, args.burst_capacity);
    let responses = ResponseEndpoint::start().await?;
    let mut env = vec![("AWS_LAMBDA_FUNCTION_TIMEOUT".to_owned(), "60".to_owned())];
    if snapshot {
        // A new table per run: no snapshot from an earlier run helps this one.
        let name = format!("burst-{consumers}-{}", std::process::id() as u64 * 1000 + unique_suffix() as u64);
        SnapshotTable::create(moto, REGION, &name).await?;
        // Both names: the previous release, measured side by side, reads only the old one.
        env.push(("EXPORTS_CACHE_TABLE".to_owned(), name.clone()));
        env.push(("SNAPSHOT_TABLE".to_owned(), name));
    }
    let mut runtimes = Vec::new();
    let mut children = Vec::new();
    for _ in 0..consumers {
        let runtime = Arc::new(RuntimeApi::start().await?);
        let options = FunctionOptions {
            binary: args.lambda.clone(),
            runtime_api: runtime.address(),
            aws_endpoint: proxy.url(),
            region: REGION.to_owned(),
            env: env.clone(),
        };
        children.push(options.command().stdout(Stdio::null()).stderr(Stdio::null()).spawn()?);
        runtimes.push(runtime);
    }
    for runtime in &runtimes {
        runtime.first_poll(Duration::from_secs(30)).await.ok_or("a function never polled")?;
    }
    proxy.reset();
    let started = Instant::now();
    let mut invocations = tokio::task::JoinSet::new();
    for (n, runtime) in runtimes.iter().enumerate() {
        let mut event = create_event(&spread.stack_id(n), &format!("burst-{n}"), properties.clone());
        responses.address(&mut event);
        let runtime = Arc::clone(runtime);
        invocations.spawn(async move {
            runtime.invoke(&event, Duration::from_secs(60)).await.map(drop).map_err(|e| e.to_string())
        });
    }
    while invocations.join_next().await.is_some() {}
    let mut row = BurstRow {
        consumers,
        spread,
        reads: "",
        snapshot,
        success: 0,
        answered: 0,
        list_exports: proxy.count("ListExports"),
        describe_stacks: proxy.count("DescribeStacks"),
        assume_role: proxy.count("AssumeRole"),
        throttled: proxy.throttled("ListExports") + proxy.throttled("DescribeStacks"),
        times_ms: Vec::new(),
    };
    for n in 0..consumers {
        if let Some(put) = responses.delivered(&format!("burst-{n}"), Duration::from_millis(100)).await {
            row.answered += 1;
            row.success += usize::from(put.json()["Status"] == "SUCCESS");
            row.times_ms.push(ms(put.received_at - started));
        }
    }
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(row)
}

fn unique_suffix() -> u16 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()) % 65_536) as u16
}

/// The `p`th percentile (nearest rank) of `values`; 0 when there are none.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn moto_delete(publisher: &Publisher) {
    for n in 0..100 {
        if publisher.delete_stack(&format!("bench-{n}")).await.is_err() {
            break;
        }
    }
}

struct World {
    runtime: RuntimeApi,
    responses: ResponseEndpoint,
    proxy: CountingProxy,
}

async fn world(moto: &str) -> Result<World, BoxError> {
    Ok(World {
        runtime: RuntimeApi::start().await?,
        responses: ResponseEndpoint::start().await?,
        proxy: CountingProxy::start(moto).await?,
    })
}

fn spawn(args: &Args, world: &World, env: &[(&str, &str)]) -> Result<std::process::Child, BoxError> {
    let mut variables = vec![("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned())];
    variables.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let options = FunctionOptions {
        binary: args.lambda.clone(),
        runtime_api: world.runtime.address(),
        aws_endpoint: world.proxy.url(),
        region: REGION.to_owned(),
        env: variables,
    };
    Ok(options.command().stdout(Stdio::null()).stderr(Stdio::null()).spawn()?)
}

async fn create(world: &World, name: &str, properties: &Value) -> Result<(Duration, Instant), BoxError> {
    let mut event = create_event(BENCH_STACK, name, properties.clone());
    world.responses.address(&mut event);
    answer(world, name, &event).await
}

/// Invokes `event` (already addressed to the world's ResponseURL) and waits for its SUCCESS answer:
/// the handler's time and when the answer arrived.
async fn answer(world: &World, name: &str, event: &Value) -> Result<(Duration, Instant), BoxError> {
    let invocation = world.runtime.invoke(event, Duration::from_secs(60)).await?;
    if let Outcome::Error(error) = invocation.outcome {
        return Err(format!("the function failed: {error}").into());
    }
    let put = world.responses.delivered(name, Duration::from_secs(5)).await.ok_or("no answer delivered")?;
    if put.json()["Status"] != "SUCCESS" {
        return Err(format!("the answer was not SUCCESS: {}", put.json()).into());
    }
    Ok((invocation.handler_time, put.received_at))
}

async fn cold_run(args: &Args, moto: &str, properties: &Value, env: &[(&str, &str)]) -> Result<Cold, BoxError> {
    let world = world(moto).await?;
    let started = Instant::now();
    let child = spawn(args, &world, env)?;
    let first_poll = world.runtime.first_poll(Duration::from_secs(10)).await.ok_or("the function never polled")?;
    let (handler, answered) = create(&world, "cold", properties).await?;
    if std::env::var_os("BENCH_EXPLAIN_MEMORY").is_some() {
        eprintln!("{}", resident_by_mapping(child.id()));
    }
    let Usage { user, system, peak_rss_kb } = kill_and_measure(child)?;
    Ok(Cold {
        init: first_poll - started,
        wall: answered - started,
        handler,
        cpu: user + system,
        peak_rss_kb,
        assume_role: world.proxy.count("AssumeRole"),
        list_pages: world.proxy.count("ListExports"),
        puts: world.responses.puts("cold").len(),
        put_items: world.proxy.count("PutItem"),
        get_parameters: world.proxy.count("GetParameters"),
    })
}

async fn warm_run(args: &Args, moto: &str, properties: &Value) -> Result<Warm, BoxError> {
    let world = world(moto).await?;
    let child = spawn(args, &world, &[])?;
    create(&world, "first", properties).await?;
    world.proxy.reset();
    let mut handler = Vec::new();
    for name in ["second", "third"] {
        handler.push(create(&world, name, properties).await?.0);
    }
    kill_and_measure(child)?;
    let puts = (world.responses.puts("second").len() + world.responses.puts("third").len()) as u32 / 2;
    Ok(Warm {
        handler,
        assume_role: world.proxy.count("AssumeRole"),
        list_pages: world.proxy.count("ListExports") / 2,
        puts,
    })
}

struct Usage {
    user: Duration,
    system: Duration,
    peak_rss_kb: u64,
}

/// Kills the function and reads its CPU time (all threads) and peak RSS from the kernel. Peak RSS is
/// VmHWM of the function's own image: rusage's maxrss would include the forking parent's RSS from
/// before exec.
fn kill_and_measure(child: std::process::Child) -> Result<Usage, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let peak_rss_kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscalls on a child this process spawned and has not reaped.
    let usage = unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::wait4(pid, &mut status, 0, &mut usage) != pid {
            return Err("wait4 failed".into());
        }
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Ok(Usage { user: time(usage.ru_utime), system: time(usage.ru_stime), peak_rss_kb })
}

/// Resident memory per mapping (binary, libraries, heap, anonymous), from /proc/<pid>/smaps.
fn resident_by_mapping(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
    let mut current = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first().is_some_and(|f| f.contains('-') && f.chars().all(|c| c.is_ascii_hexdigit() || c == '-')) {
            current = fields.get(5).map_or("[anonymous]", |n| n).to_owned();
        } else if fields.first() == Some(&"Rss:") {
            *totals.entry(current.clone()).or_default() += fields[1].parse::<u64>().unwrap_or(0);
        }
    }
    let mut rows: Vec<(u64, String)> = totals.into_iter().map(|(name, kb)| (kb, name)).collect();
    rows.sort_unstable_by(|a, b| b.cmp(a));
    rows.iter().take(8).map(|(kb, name)| format!("    {kb:>6} KB  {name}")).collect::<Vec<_>>().join("\n")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

fn summarize(size: usize, colds: &[Cold], warms: &[Warm]) -> Value {
    let of = |f: &dyn Fn(&Cold) -> f64| median(colds.iter().map(f).collect());
    let warm_handler = median(warms.iter().flat_map(|w| w.handler.iter().map(|d| ms(*d))).collect());
    json!({
        "exports": size,
        "runs": colds.len(),
        "init_ms": of(&|c| ms(c.init)),
        "cpu_ms": of(&|c| ms(c.cpu)),
        "peak_rss_mb": of(&|c| c.peak_rss_kb as f64 / 1024.0),
        "wall_ms": of(&|c| ms(c.wall)),
        "warm_handler_ms": warm_handler,
        "cold_calls": {"AssumeRole": colds[0].assume_role, "ListExports": colds[0].list_pages, "PUT": colds[0].puts},
        "warm_calls": {"AssumeRole": warms[0].assume_role, "ListExports": warms[0].list_pages, "PUT": warms[0].puts},
        "calls_identical_across_runs": colds.iter().all(|c| (c.assume_role, c.list_pages, c.puts) == (colds[0].assume_role, colds[0].list_pages, colds[0].puts))
            && warms.iter().all(|w| (w.assume_role, w.list_pages, w.puts) == (warms[0].assume_role, warms[0].list_pages, warms[0].puts)),
    })
}

fn report(args: &Args, rows: &[Value]) -> Result<(), BoxError> {
    let machine = machine();
    let binary_bytes = std::fs::metadata(&args.lambda)?.len();
    let mut table = format!(
        "Measured {} on {machine}; medians of {} cold runs; release binary {:.1} MiB.\n\n\
         | exports | init | CPU, cold Create | peak RSS | wall, cold | warm handler | cold calls (AssumeRole / ListExports / PUT) | warm calls |\n\
         |---:|---:|---:|---:|---:|---:|:---:|:---:|\n",
        today(),
        args.runs,
        binary_bytes as f64 / 1_048_576.0
    );
    for row in rows {
        let calls = |c: &Value| format!("{} / {} / {}", c["AssumeRole"], c["ListExports"], c["PUT"]);
        table.push_str(&format!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} MiB | {:.0} ms | {:.1} ms | {} | {} |\n",
            row["exports"],
            row["init_ms"].as_f64().unwrap_or(0.0),
            row["cpu_ms"].as_f64().unwrap_or(0.0),
            row["peak_rss_mb"].as_f64().unwrap_or(0.0),
            row["wall_ms"].as_f64().unwrap_or(0.0),
            row["warm_handler_ms"].as_f64().unwrap_or(0.0),
            calls(&row["cold_calls"]),
            calls(&row["warm_calls"]),
        ));
    }
    println!("{table}");
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("RESULTS.md"), &table)?;
    let results = json!({"date": today(), "machine": machine, "binary_bytes": binary_bytes, "rows": rows});
    std::fs::write(args.out.join("results.json"), serde_json::to_string_pretty(&results)? + "\n")?;
    std::fs::write(args.out.join("scaling.svg"), plot(rows))?;
    eprintln!("wrote {}/RESULTS.md, results.json and scaling.svg", args.out.display());
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu}), {}", std::env::consts::ARCH)
}

fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Four small line charts against N (log scale): CPU, peak RSS, wall time, ListExports calls.
fn plot(rows: &[Value]) -> String {
    type Metric = fn(&Value) -> f64;
    let panels: [(&str, Metric); 4] = [
        ("CPU, cold Create (ms)", |r| r["cpu_ms"].as_f64().unwrap_or(0.0)),
        ("Peak RSS (MiB)", |r| r["peak_rss_mb"].as_f64().unwrap_or(0.0)),
        ("Wall, cold (ms)", |r| r["wall_ms"].as_f64().unwrap_or(0.0)),
        ("ListExports calls", |r| r["cold_calls"]["ListExports"].as_f64().unwrap_or(0.0)),
    ];
    let (width, height, pad) = (300.0, 220.0, 45.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        width * 4.0,
        height + 20.0
    );
    let xs: Vec<f64> = rows.iter().map(|r| r["exports"].as_f64().unwrap_or(1.0).log10()).collect();
    let (x_min, x_max) = (xs.iter().copied().fold(f64::MAX, f64::min), xs.iter().copied().fold(f64::MIN, f64::max));
    for (i, (title, value)) in panels.iter().enumerate() {
        let left = i as f64 * width;
        let ys: Vec<f64> = rows.iter().map(value).collect();
        let y_max = ys.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.15;
        let to_x = |x: f64| left + pad + (x - x_min) / (x_max - x_min).max(1e-9) * (width - pad - 35.0);
        let to_y = |y: f64| height - pad + 20.0 - y / y_max * (height - pad - 10.0);
        svg.push_str(&format!("<text x=\"{}\" y=\"16\" font-weight=\"bold\">{title}</text>\n", left + pad));
        svg.push_str(&format!(
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#888\"/><line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"30\" stroke=\"#888\"/>\n",
            left + pad,
            to_y(0.0),
            left + width - 10.0
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.1}</text>\n",
            left + pad - 4.0,
            to_y(y_max / 1.15) + 4.0,
            y_max / 1.15
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n",
            left + pad - 4.0,
            to_y(0.0) + 4.0
        ));
        let points: Vec<String> = xs.iter().zip(&ys).map(|(x, y)| format!("{:.1},{:.1}", to_x(*x), to_y(*y))).collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"#d9480f\" stroke-width=\"2\" points=\"{}\"/>\n",
            points.join(" ")
        ));
        for ((x, y), row) in xs.iter().zip(&ys).zip(rows) {
            svg.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#d9480f\"/>\n",
                to_x(*x),
                to_y(*y)
            ));
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                to_x(*x),
                to_y(0.0) + 14.0,
                row["exports"]
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">exports (log scale)</text>\n",
            left + width / 2.0 + 15.0,
            height + 12.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
