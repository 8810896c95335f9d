//! `sam local invoke` on the sample events, with the real AWS SAM CLI, Docker and the AWS Lambda
//! Runtime Interface Emulator that SAM ships. `cargo xtask sam-local` builds the release's zip and
//! template (as `cargo xtask dist` does), makes a network namespace, starts dockerd in it and runs this
//! program in it, so nothing here can reach the machine's own network.
//!
//! Inside, this program:
//! - builds a stand-in for `public.ecr.aws/lambda/provided:al2023-<arch>` (no registry is reachable);
//! - with `--emulator native` (the default), layers the Runtime Interface Emulator of the machine's
//!   own architecture onto it, as SAM would layer the emulator of the function's architecture: an
//!   arm64 `bootstrap` then runs under qemu-user while the emulator runs natively (with
//!   `--emulator sam`, SAM layers its arm64 emulator and both run under qemu);
//! - starts moto on the Docker bridge address, for STS, CloudFormation and the response bucket;
//! - serves the ResponseURL's real S3 host name over TLS (a certificate from a test CA, in front of
//!   moto's S3), mapped into the container with `--add-host`;
//! - invokes `events/create.json`, `update.json` and `delete.json`, with only their presigned query
//!   strings renewed, and checks each answer in the response bucket.
//!
//! The function runs as in production: `ALLOW_LOOPBACK_RESPONSE_URL` unset. With the default
//! `TLS_ROOTS=amazon` it must refuse the test CA; with `TLS_ROOTS=system` (the stand-in's system
//! bundle holds the test CA, as a TLS-inspecting network's CA would be) it must deliver.
//!
//! Usage: remote-exports-sam-local --moto-server PATH --sam PATH --template PATH --arch arm64|x86_64
//!        --work DIR [--events DIR] [--gateway IP] [--emulator native|sam] [--rounds N] [--godebug V]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use remote_exports_tools::story::{expect, read_event, section};
use serde_json::{Value, json};
use test_support::{BoxError, Moto, MotoResponses, Publisher, TestPki, TlsFront, check};
use tokio::process::Command;

const PUBLISHER_ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";
const EXPORT: &str = "booking-lambda-BookingTopicArn";
const FUNCTION: &str = "RemoteExportsFunction";
/// glibc's runtime libraries and libgcc_s (Rust's unwinder), as the real base image has them.
const GLIBC_RUNTIME: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libnss_files.so.2",
    "libnss_dns.so.2",
    "libgcc_s.so.1",
];
/// A cold `sam local invoke` under qemu takes a few seconds; this only stops a hang.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(240);
/// With the emulator under qemu, invocations whose container dies before the function starts are
/// tried this often in all. With a native emulator there is no retry: a container that dies is a failure.
const EMULATOR_ATTEMPTS: u32 = 5;

/// `sam local invoke` of the built function on the sample events, against moto, over TLS
/// (cargo xtask sam-local passes every required argument).
#[derive(clap::Parser)]
#[command(name = "remote-exports-sam-local")]
struct Args {
    /// moto's server program.
    #[arg(long)]
    moto_server: PathBuf,
    /// The `sam` program.
    #[arg(long)]
    sam: PathBuf,
    /// The release's template (its CodeUri the zip, made absolute).
    #[arg(long)]
    template: PathBuf,
    /// The function's architecture.
    #[arg(long)]
    arch: Arch,
    /// A working folder of this run's own.
    #[arg(long)]
    work: PathBuf,
    /// Where create.json, update.json and delete.json are.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))]
    events: PathBuf,
    /// Docker's bridge address: where containers reach what this program serves.
    #[arg(long, default_value = "172.17.0.1")]
    gateway: IpAddr,
    /// How many times Create, Update and Delete run, to count failures over many invocations.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// `GODEBUG` for the container (the Runtime Interface Emulator is a Go program), to study emulation.
    #[arg(long)]
    godebug: Option<String>,
    /// The Runtime Interface Emulator of this machine's architecture (`native`), or the one SAM ships
    /// for the function's architecture (`sam`).
    #[arg(long, value_enum, default_value_t = Emulator::Native)]
    emulator: Emulator,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Emulator {
    Native,
    Sam,
}

impl Args {
    /// Whether the function runs under qemu.
    fn function_emulated(&self) -> bool {
        self.arch != Arch::host()
    }

    /// Whether the Runtime Interface Emulator runs under qemu: only then is a container death retried.
    fn emulator_emulated(&self) -> bool {
        self.function_emulated() && self.emulator == Emulator::Sam
    }
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Arch {
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    fn host() -> Arch {
        if cfg!(target_arch = "aarch64") { Arch::Arm64 } else { Arch::X86_64 }
    }

    fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// Where the function's glibc comes from (Debian's cross package for arm64, the host's own for
    /// x86_64) and its loader. All of glibc's runtime libraries go in, as in the real image:
    /// `cargo lambda` links against an old glibc, which splits libpthread, libdl and librt out.
    fn glibc(self) -> (&'static str, &'static str) {
        match self {
            Arch::Arm64 => ("/usr/aarch64-linux-gnu/lib", "ld-linux-aarch64.so.1"),
            Arch::X86_64 => ("/lib/x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => {
            println!("\nsam local invoke: every answer arrived over TLS with the expected Status and Data.");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\nsam-local FAILED: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = <Args as clap::Parser>::parse();
    std::fs::create_dir_all(&args.work)?;
    let create = read_event(&args.events, "create")?;
    let response_host = url::Url::parse(create["ResponseURL"].as_str().unwrap_or_default())?
        .host_str()
        .ok_or("events/create.json: the ResponseURL has no host")?
        .to_owned();

    section("Test CA and the stand-in base image");
    let pki = TestPki::make(&args.work.join("pki"), &[&response_host])?;
    let image = stand_in_image(&args, &pki.ca).await?;
    println!("{image} is a STAND-IN built here from a minimal root filesystem, not AWS's image:");
    println!(
        "    glibc for {arch} and the host's static busybox (sh, mv, chmod for SAM's image build step);",
        arch = args.arch.name()
    );
    println!("    its system CA bundle holds only the test CA.");
    if args.emulator == Emulator::Native {
        let rapid = native_emulator_image(&args, &image).await?;
        println!(
            "{rapid}: the stand-in plus SAM's own Runtime Interface Emulator for {host}, which SAM uses as it is{how}.",
            host = Arch::host().name(),
            how = if args.function_emulated() {
                format!("; the {} bootstrap runs under qemu-user, the emulator natively", args.arch.name())
            } else {
                String::new()
            }
        );
    } else {
        println!("SAM layers its {} Runtime Interface Emulator on top.", args.arch.name());
    }

    section("AWS inside the namespace");
    let moto = Moto::start_on(&args.moto_server, args.gateway).await?;
    let moto_port = url::Url::parse(moto.endpoint())?.port().ok_or("moto's endpoint has no port")?;
    let _tls_front = TlsFront::start(&pki, (args.gateway, 443).into(), (args.gateway, moto_port).into()).await?;
    println!("moto at {}; https://{response_host} → {}:443 (TLS, test CA) → moto's S3", moto.endpoint(), args.gateway);
    let booking = Publisher::connect(moto.endpoint(), PUBLISHER_ACCOUNT, REGION).await?;
    let topic = booking.publish_topic("booking-lambda", "BookingTopic", EXPORT).await?;
    println!("Booking ({PUBLISHER_ACCOUNT}) exports {EXPORT} = {topic}");
    let responses = MotoResponses::create(moto.endpoint(), REGION).await?;

    let result = invoke_all(&args, &moto, &responses, &response_host, &topic).await;
    moto.stop().await;
    result
}

async fn invoke_all(
    args: &Args,
    moto: &Moto,
    responses: &MotoResponses,
    response_host: &str,
    topic: &str,
) -> Result<(), BoxError> {
    section("1. Create with the default TLS_ROOTS=amazon: the test CA must be refused");
    let mut event = read_event(&args.events, "create")?;
    responses.presign_in_place(&mut event).await?;
    let run = sam_local_invoke(args, moto, response_host, "create-pinned", &event, "amazon").await?;
    expect(responses.answer(&event).await?.is_none(), "no answer reached the bucket")?;
    expect(
        run.logs.contains("TLS certificate is not trusted") && run.logs.contains("UnknownIssuer"),
        "the function's log says the certificate is not trusted, and why",
    )?;
    expect(!run.logs.contains("retrying"), "one attempt: an untrusted certificate is not retried")?;
    expect(run.logs.contains("\"outcome\":\"SUCCESS\""), "the lookup itself succeeded (moto is plain HTTP)")?;
    println!("  ({:.1} s for sam local invoke)", run.elapsed.as_secs_f64());

    let mut physical_id = None;
    let mut invocations = 1;
    let mut retried = u32::from(run.attempts > 1);
    let steps = [(2, "create", "Create"), (3, "update", "Update"), (4, "delete", "Delete")];
    for (round, (step, name, request_type)) in (1..=args.rounds).flat_map(|round| steps.map(|s| (round, s))) {
        let title = if args.rounds > 1 {
            format!("{step}. {request_type} with TLS_ROOTS=system (round {round})")
        } else {
            format!("{step}. {request_type} with TLS_ROOTS=system")
        };
        section(&title);
        let mut event = read_event(&args.events, name)?;
        if round > 1 {
            // Each further round is a request of its own, as CloudFormation's would be: a new
            // RequestId, and the ResponseURL's key naming it.
            let old = event["RequestId"].as_str().unwrap_or_default().to_owned();
            let new = format!("{old}-{round}");
            let url =
                event["ResponseURL"].as_str().unwrap_or_default().replace(&format!("%7C{old}"), &format!("%7C{new}"));
            (event["RequestId"], event["ResponseURL"]) = (json!(new), json!(url));
        }
        responses.presign_in_place(&mut event).await?;
        let run = sam_local_invoke(args, moto, response_host, name, &event, "system").await?;
        let answer = responses
            .answer(&event)
            .await?
            .ok_or_else(|| format!("no answer reached the bucket for {name}; function log:\n{}", run.logs))?;
        let shown = json!({"Status": answer["Status"], "PhysicalResourceId": answer["PhysicalResourceId"], "Data": answer["Data"]});
        println!("answer in s3://{}: {shown}", response_host.split('.').next().unwrap_or_default());
        expect(answer["Status"] == "SUCCESS", &format!("{request_type}: Status SUCCESS"))?;
        expect(answer["RequestId"] == event["RequestId"], "it answers this request")?;
        if request_type == "Delete" {
            expect(answer["PhysicalResourceId"] == event["PhysicalResourceId"], "Delete keeps the PhysicalResourceId")?;
        } else {
            expect(answer["Data"][EXPORT] == topic, &format!("Data.{EXPORT} is Booking's topic"))?;
        }
        if request_type == "Update" {
            expect(
                Some(&answer["PhysicalResourceId"]) == physical_id.as_ref(),
                "Update keeps Create's PhysicalResourceId",
            )?;
        }
        physical_id = Some(answer["PhysicalResourceId"].clone());
        println!("  ({:.1} s for sam local invoke)", run.elapsed.as_secs_f64());
        invocations += 1;
        retried += u32::from(run.attempts > 1);
    }
    println!(
        "\n{invocations} sam local invoke(s) of the {} bootstrap ({}), {retried} of them retried after the container died first",
        args.arch.name(),
        match (args.function_emulated(), args.emulator_emulated()) {
            (false, _) => "natively",
            (true, false) => "under qemu-user, the emulator natively",
            (true, true) => "under qemu-user, the emulator too",
        }
    );
    Ok(())
}

struct Invoked {
    /// SAM's and the function's log (stderr).
    logs: String,
    elapsed: Duration,
    /// 1 unless the container died before the function started and the invocation was tried again.
    attempts: u32,
}

/// One `sam local invoke`, exactly as a stack author runs it, plus the flags this sandbox needs:
/// the stand-in image (`--skip-pull-image`), the S3 host mapped into the container (`--add-host`),
/// and moto as the endpoint (`--env-vars`; the template under test declares the variable).
async fn sam_local_invoke(
    args: &Args,
    moto: &Moto,
    response_host: &str,
    name: &str,
    event: &Value,
    tls_roots: &str,
) -> Result<Invoked, BoxError> {
    let event_file = args.work.join(format!("event-{name}.json"));
    std::fs::write(&event_file, serde_json::to_vec_pretty(event)?)?;
    let env_file = args.work.join(format!("env-{name}.json"));
    let mut env = json!({FUNCTION: {"AWS_ENDPOINT_URL": moto.endpoint(), "TLS_ROOTS": tls_roots}});
    if let Some(godebug) = &args.godebug {
        env[FUNCTION]["GODEBUG"] = json!(godebug);
    }
    std::fs::write(&env_file, serde_json::to_vec_pretty(&env)?)?;
    let mut command = Command::new(&args.sam);
    command
        .args(["local", "invoke", FUNCTION, "--skip-pull-image", "--region", REGION])
        .arg("--template-file")
        .arg(&args.template)
        .arg("--event")
        .arg(&event_file)
        .arg("--env-vars")
        .arg(&env_file)
        .arg("--add-host")
        .arg(format!("{response_host}:{}", args.gateway))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("SAM_CLI_TELEMETRY", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    println!(
        "$ sam local invoke {FUNCTION} --skip-pull-image -e {} --env-vars {} --add-host {response_host}:{}",
        event_file.display(),
        env_file.display(),
        args.gateway
    );
    let started = Instant::now();
    let mut attempt = 1;
    let (output, logs) = loop {
        let output = tokio::time::timeout(INVOKE_TIMEOUT, command.output())
            .await
            .map_err(|_| format!("sam local invoke {name} did not finish within {INVOKE_TIMEOUT:?}"))??;
        let logs = String::from_utf8_lossy(&output.stderr).into_owned();
        std::fs::write(args.work.join(format!("sam-{name}-{attempt}.log")), &logs)?;
        // The function ran when the emulator reported it (`REPORT RequestId`). Not `START`: SAM
        // attaches to the container's output after starting it, and that first line is sometimes
        // lost (seen natively in CI: END and REPORT present, the answer delivered, no START), which
        // earlier versions took for a container that died and retried, invoking the function twice.
        let ran = logs.contains("REPORT RequestId");
        let attempts = if args.emulator_emulated() { EMULATOR_ATTEMPTS } else { 1 };
        if !ran && attempt < attempts {
            println!("  the container ended before the function ran (emulator under qemu); again");
            attempt += 1;
            continue;
        }
        break (output, logs);
    };
    let elapsed = started.elapsed();
    for line in logs.lines().filter(|l| l.contains("answered") || l.contains("ERROR")) {
        println!("  log: {}", shorten(line, 400));
    }
    let result = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    println!("  sam printed the function's result: {}", shorten(&result, 300));
    if !output.status.success() {
        return Err(format!("sam local invoke {name} exited with {}:\n{logs}", output.status).into());
    }
    if !logs.contains("REPORT RequestId") {
        return Err(format!(
            "sam local invoke {name}: the emulator reported no invocation ({attempt} attempt(s)); SAM's log:\n{logs}"
        )
        .into());
    }
    if !logs.contains("START RequestId") {
        println!("  (SAM's output lacks the START line: it attached to the container after the line was written)");
    }
    Ok(Invoked { logs, elapsed, attempts: attempt })
}

fn shorten(text: &str, at: usize) -> String {
    match text.char_indices().nth(at) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The stand-in base image, tagged with the name SAM looks for, built from a root filesystem of a few
/// files: what `bootstrap` links (glibc, libgcc_s), what SAM's own image build step runs (`sh`,
/// `mv`, `chmod`), the directories Lambda provides, and the test CA as the system bundle.
async fn stand_in_image(args: &Args, ca: &Path) -> Result<String, BoxError> {
    let image = format!("public.ecr.aws/lambda/provided:al2023-{}", args.arch.name());
    let context = args.work.join("image");
    let _ = std::fs::remove_dir_all(&context);
    let rootfs = context.join("rootfs");
    for dir in ["bin", "lib", "tmp", "var/task", "var/runtime", "opt", "etc/pki/tls/certs"] {
        std::fs::create_dir_all(rootfs.join(dir))?;
    }
    let (from, loader) = args.arch.glibc();
    let libraries = [loader].into_iter().chain(GLIBC_RUNTIME.iter().copied());
    for library in libraries {
        let source = Path::new(from).join(library);
        std::fs::copy(&source, rootfs.join("lib").join(library))
            .map_err(|e| format!("{}: {e} (cargo xtask sam-local installs it from Debian)", source.display()))?;
    }
    // The dynamic loader looks in /lib64 (x86_64) or /lib/<triplet> (Debian's arm64 loader).
    std::os::unix::fs::symlink("lib", rootfs.join("lib64"))?;
    std::os::unix::fs::symlink(".", rootfs.join("lib/aarch64-linux-gnu"))?;
    std::os::unix::fs::symlink(".", rootfs.join("lib/x86_64-linux-gnu"))?;
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .map_err(|e| format!("/bin/busybox: {e} (apt-get install busybox-static)"))?;
    for applet in ["sh", "mv", "chmod"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))?;
    }
    std::fs::copy(ca, rootfs.join("etc/pki/tls/certs/ca-bundle.crt"))?;
    std::fs::set_permissions(rootfs.join("tmp"), std::os::unix::fs::PermissionsExt::from_mode(0o1777))?;
    let tar = std::process::Command::new("tar")
        .arg("--create")
        .arg("--file")
        .arg(context.join("rootfs.tar"))
        .arg("--directory")
        .arg(&rootfs)
        .arg(".")
        .output()?;
    check("tar", &tar)?;
    std::fs::remove_dir_all(&rootfs)?;
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nADD rootfs.tar /\n\
         LABEL org.opencontainers.image.description=\"Stand-in for AWS Lambda's provided.al2023 base image, built locally by cargo xtask sam-local\"\n",
    )?;
    docker_build(args.arch, &image, &context, "stand-in image").await?;
    // SAM layers its emulator onto the base as `…:al2023-rapid-<arch>` and, with --skip-pull-image,
    // reuses that layer even when the base changed underneath: drop it so it is rebuilt on this base.
    let _ = Command::new("docker").args(["rmi", "--force", &rapid_image(args.arch)]).output().await;
    Ok(image)
}

/// The image SAM runs: its name for the base plus its emulator, `…:al2023-rapid-<arch>`.
fn rapid_image(arch: Arch) -> String {
    format!("public.ecr.aws/lambda/provided:al2023-rapid-{}", arch.name())
}

/// SAM's own layer (its Runtime Interface Emulator at /var/rapid/aws-lambda-rie) made here, with the
/// emulator binary of this machine's architecture from SAM's installation. SAM finds the image under
/// its name and, with --skip-pull-image, uses it as it is; the function's `bootstrap` is untouched.
async fn native_emulator_image(args: &Args, base: &str) -> Result<String, BoxError> {
    let python = args.sam.with_file_name("python");
    let located = Command::new(&python)
        .args(["-c", "import os, samcli; print(os.path.dirname(samcli.__file__))"])
        .output()
        .await
        .map_err(|e| format!("{}: {e}", python.display()))?;
    check("locating SAM's installation", &located)?;
    let samcli = PathBuf::from(String::from_utf8_lossy(&located.stdout).trim());
    let emulator = samcli.join("local/rapid").join(format!("aws-lambda-rie-{}", Arch::host().name()));
    let context = args.work.join("rapid-image");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context)?;
    std::fs::copy(&emulator, context.join("aws-lambda-rie")).map_err(|e| format!("{}: {e}", emulator.display()))?;
    std::fs::set_permissions(context.join("aws-lambda-rie"), std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nCOPY aws-lambda-rie /var/rapid/aws-lambda-rie\n"),
    )?;
    let rapid = rapid_image(args.arch);
    docker_build(args.arch, &rapid, &context, "emulator layer").await?;
    Ok(rapid)
}

/// `docker build` of `context` for the function's architecture, tagged `tag`.
async fn docker_build(arch: Arch, tag: &str, context: &Path, what: &str) -> Result<(), BoxError> {
    let output = Command::new("docker")
        .args(["build", "--quiet", "--platform", &format!("linux/{}", docker_arch(arch)), "--tag", tag])
        .arg(context)
        .output()
        .await?;
    check(&format!("docker build ({what})"), &output)?;
    Ok(())
}

fn docker_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::Arm64 => "arm64",
        Arch::X86_64 => "amd64",
    }
}
