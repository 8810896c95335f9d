//! `--cpu-share MB`: cold Creates with each function held to a Lambda function's CPU share at that
//! memory size (MB/1769 of one CPU, by a cgroup quota), beside the same runs unthrottled; for this
//! function and for peers in other languages, driven by the same Runtime API emulator and moto.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use remote_exports_tools::{CpuQuota, MB_PER_VCPU};
use serde_json::Value;
use test_support::{BoxError, FunctionOptions, TestPki, TlsFront, create_event};

use super::{
    Args, BENCH_STACK, REGION, answer, kill_and_measure, machine, median, moto_delete, ms, seed, today, world,
    write_table,
};

/// A function under test: how to start its process with Lambda's environment.
pub enum Peer {
    /// This project's release binary.
    Rust(PathBuf),
    /// `bench/peers/python`: boto3 and crhelper under awslambdaric, in a venv with those three.
    Python { python: PathBuf, dir: PathBuf },
    /// `bench/peers/node`: AWS SDK for JavaScript v3, installed into `dir`.
    Node { node: PathBuf, dir: PathBuf },
}

impl Peer {
    fn name(&self) -> &'static str {
        match self {
            Peer::Rust(_) => "remote-exports (Rust)",
            Peer::Python { .. } => "Python 3.11, boto3 + crhelper",
            Peer::Node { .. } => "Node.js 20, AWS SDK v3",
        }
    }

    /// The process, trusting `ca` for the HTTPS ResponseURL, each the way its runtime is told to.
    fn command(&self, options: &FunctionOptions, ca: &std::path::Path) -> std::process::Command {
        let mut options = options.clone();
        options.env.push(("SSL_CERT_FILE".to_owned(), ca.display().to_string()));
        match self {
            Peer::Rust(binary) => {
                options.binary = binary.clone();
                options.env.push(("TLS_ROOTS".to_owned(), "system".to_owned()));
                options.command()
            }
            Peer::Python { python, dir } => {
                options.binary = python.clone();
                let mut command = options.command();
                command
                    .args(["-m", "awslambdaric", "remote_exports.handler"])
                    .current_dir(dir)
                    .env("LAMBDA_TASK_ROOT", dir)
                    .env("PYTHONPATH", dir);
                command
            }
            Peer::Node { node, dir } => {
                options.binary = node.clone();
                options.env.push(("NODE_EXTRA_CA_CERTS".to_owned(), ca.display().to_string()));
                let mut command = options.command();
                command.arg(dir.join("index.mjs")).current_dir(dir);
                command
            }
        }
    }
}

struct Sample {
    wall: Duration,
    cpu: Duration,
    peak_rss_kb: u64,
    assume_role: u32,
    list_pages: u32,
}

/// One cold process, optionally confined: spawn, one Create answered over HTTPS (crhelper speaks
/// nothing else, and production is HTTPS), killed once answered.
async fn cold(
    peer: &Peer,
    moto: &str,
    properties: &Value,
    quota: Option<&CpuQuota>,
    pki: &TestPki,
) -> Result<Sample, BoxError> {
    let world = world(moto).await?;
    let front = TlsFront::start(pki, (std::net::Ipv4Addr::LOCALHOST, 0).into(), world.responses.local_addr()).await?;
    let mut event = create_event(BENCH_STACK, "cold", properties.clone());
    world.responses.address_through(&front, &mut event);
    let options = FunctionOptions {
        binary: PathBuf::new(),
        runtime_api: world.runtime.address(),
        aws_endpoint: world.proxy.url(),
        region: REGION.to_owned(),
        env: vec![("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned())],
    };
    let mut command = peer.command(&options, &pki.ca);
    // BENCH_SHOW_LOGS=1 lets a peer's own output through, to see why it failed.
    if std::env::var_os("BENCH_SHOW_LOGS").is_none() {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    if let Some(quota) = quota {
        quota.confine(&mut command);
    }
    let started = Instant::now();
    let mut process = Running(Some(command.spawn().map_err(|e| format!("{}: cannot start: {e}", peer.name()))?));
    world.runtime.first_poll(Duration::from_secs(60)).await.ok_or_else(|| format!("{} never polled", peer.name()))?;
    let (_, answered) = answer(&world, "cold", &event).await.map_err(|e| format!("{}: {e}", peer.name()))?;
    let usage = kill_and_measure(process.0.take().ok_or("no process")?)?;
    Ok(Sample {
        wall: answered - started,
        cpu: usage.user + usage.system,
        peak_rss_kb: usage.peak_rss_kb,
        assume_role: world.proxy.count("AssumeRole"),
        list_pages: world.proxy.count("ListExports"),
    })
}

/// A function process that is killed if the run fails before measuring it.
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Row {
    peer: usize,
    exports: usize,
    free: Vec<Sample>,
    held: Vec<Sample>,
}

impl Row {
    fn median(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
        median(samples.iter().map(f).collect())
    }
    fn wall_free(&self) -> f64 {
        Row::median(&self.free, |s| ms(s.wall))
    }
    fn wall_held(&self) -> f64 {
        Row::median(&self.held, |s| ms(s.wall))
    }
    fn cpu(&self) -> f64 {
        Row::median(&self.free, |s| ms(s.cpu))
    }
    fn rss(&self) -> f64 {
        Row::median(&self.free, |s| s.peak_rss_kb as f64 / 1024.0)
    }
}

pub async fn cpu_share(args: &Args, moto: &str, memory_mb: u32, peers: &[Peer]) -> Result<(), BoxError> {
    let quota = CpuQuota::lambda_share(memory_mb)?;
    let pki_dir = std::env::temp_dir().join(format!("remote-exports-bench-pki-{}", std::process::id()));
    let pki = TestPki::make(&pki_dir, &["127.0.0.1"])?;
    eprintln!(
        "cgroup CPU quota {} µs per {} µs: {:.1} % of one CPU, a {memory_mb} MB function's share",
        quota.quota_us,
        quota.period_us,
        quota.percent()
    );
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let (publisher, properties) = seed(moto, size).await?;
        let mut by_peer: Vec<Row> =
            (0..peers.len()).map(|peer| Row { peer, exports: size, free: Vec::new(), held: Vec::new() }).collect();
        // Interleaved, so that every peer sees the same machine.
        for run in 0..args.runs {
            for (row, peer) in by_peer.iter_mut().zip(peers) {
                row.free.push(cold(peer, moto, &properties, None, &pki).await?);
                row.held.push(cold(peer, moto, &properties, Some(&quota), &pki).await?);
                let (free, held) = (&row.free[run], &row.held[run]);
                eprintln!(
                    "  N={size} run {}/{} {}: wall {:.0} ms free, {:.0} ms at {memory_mb} MB; cpu {:.0} ms; rss {:.1} MiB",
                    run + 1,
                    args.runs,
                    peer.name(),
                    ms(free.wall),
                    ms(held.wall),
                    ms(free.cpu),
                    free.peak_rss_kb as f64 / 1024.0
                );
            }
        }
        rows.extend(by_peer);
        moto_delete(&publisher).await;
    }
    let _ = std::fs::remove_dir_all(&pki_dir);
    let table = report(args, memory_mb, &quota, peers, &rows);
    write_table(args, "CPU-SHARE.md", &table)?;
    Ok(())
}

fn report(args: &Args, memory_mb: u32, quota: &CpuQuota, peers: &[Peer], rows: &[Row]) -> String {
    let mut table = format!(
        "Measured {} on {}; medians of {} interleaved cold Creates per row, each in a fresh process started \
         with Lambda's environment behind the same Runtime API emulator, against moto. \"At {memory_mb} MB\" holds \
         the process to {:.1} % of one CPU ({memory_mb}/{MB_PER_VCPU:.0}, a cgroup CPU quota of {} µs per {} µs), \
         as Lambda does; wall time runs from spawn to the answer's arrival at an HTTPS ResponseURL (test CA). \
         CPU and peak RSS are of the unthrottled run (the quota changes when, not how much).\n\n\
         | function | exports | wall, unthrottled | wall at {memory_mb} MB | CPU | peak RSS | AssumeRole / ListExports |\n\
         |---|---:|---:|---:|---:|---:|:---:|\n",
        today(),
        machine(),
        args.runs,
        quota.percent(),
        quota.quota_us,
        quota.period_us,
    );
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.1} MiB | {} / {} |\n",
            peers[row.peer].name(),
            row.exports,
            row.wall_free(),
            row.wall_held(),
            row.cpu(),
            row.rss(),
            row.free[0].assume_role,
            row.free[0].list_pages,
        ));
    }
    if peers.len() > 1 {
        table.push_str(&format!(
            "\nRatios to remote-exports (how many times more):\n\n\
             | function | exports | wall at {memory_mb} MB | CPU | peak RSS |\n|---|---:|---:|---:|---:|\n"
        ));
        for row in rows.iter().filter(|r| r.peer != 0) {
            let Some(ours) = rows.iter().find(|r| r.peer == 0 && r.exports == row.exports) else { continue };
            table.push_str(&format!(
                "| {} | {} | {:.1}× | {:.1}× | {:.1}× |\n",
                peers[row.peer].name(),
                row.exports,
                row.wall_held() / ours.wall_held(),
                row.cpu() / ours.cpu(),
                row.rss() / ours.rss(),
            ));
        }
    }
    table
}
