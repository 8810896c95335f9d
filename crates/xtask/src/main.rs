//! `cargo xtask test | demo | bench | dist | sam-local | lint-templates`: everything a fresh machine with
//! only Rust and Python 3 needs, installed into `target/xtask/` and run in the right order.

mod dist;
mod sam_local;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Pinned tools. Tests must not change behaviour because a tool released a new version.
const TEST_TOOLS: &[&str] = &["moto[server]==5.2.5", "cfn-lint==1.58.0", "cargo-lambda==1.9.2", "ziglang==0.17.1"];
/// What the release build needs, in a venv of its own so that it starts before the test tools are
/// installed. Zig is cargo-lambda's linker and C compiler: pinned too, as the release's bytes depend on it.
const BUILD_TOOLS: &[&str] = &["cargo-lambda==1.9.2", "ziglang==0.17.1"];
/// The benchmark's Python peer (bench/peers/python): what a 2018-style Python custom resource runs on.
const PYTHON_PEER: &[&str] = &["boto3==1.44.5", "crhelper==2.0.12", "awslambdaric==4.2.2"];
/// The CDK for Python, for the app that uses the constructs' Python package (the same versions as
/// cdk/package-lock.json's).
const CDK_PYTHON: &[&str] = &["aws-cdk-lib==2.275.0", "constructs==10.8.1"];
/// SAM CLI pins its own boto3, so it lives in a venv of its own.
const SAM_TOOLS: &[&str] = &["aws-sam-cli==1.170.0"];
/// mdBook, which builds the manual under docs/ (HTML and its search only: no server, no watcher).
const MDBOOK: &str = "0.5.4";
/// The supply-chain tools, from crates.io: the dependency policy (deny.toml), the SBOMs, and the
/// third-party licence texts (about.toml).
/// cargo-about first: its licence scans take longest, and should be done before the release build is.
const SUPPLY_CHAIN_TOOLS: &[(&str, &str, &[&str])] = &[
    // Its licence-text matching is CPU-bound work on every crate's sources: built as its authors build it.
    ("cargo-about", "0.9.3", &["--features", "cli"]),
    ("cargo-deny", "0.20.2", QUICK_BUILD),
    ("cargo-cyclonedx", "0.5.9", QUICK_BUILD),
];
/// Tools that do little work per run are built for a short compile (CI builds them on every fresh
/// machine): opt-level 1, no LTO, parallel code generation.
const QUICK_BUILD: &[&str] = &[
    "--config",
    "profile.release.opt-level=1",
    "--config",
    "profile.release.lto=false",
    "--config",
    "profile.release.codegen-units=16",
    "--config",
    "profile.release.debug=false",
];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("dist") => dist::dist(&args[1..]),
        Some("sam-local") => sam_local::sam_local(&args[1..]),
        Some("lint-templates") => lint_templates(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 test [--without-docker]  install pinned tools, start moto, run fmt, clippy, every test, the demo, the manual,\n                           \
                 the template linters and sam-local (as root or with CI=true; otherwise left out, and said so)\n  \
                 demo                     run the Booking/Airmiles demo locally: no AWS account, no Docker\n  \
                 bench [--quick]          measure cold start, CPU, memory and AWS calls of the release binary\n                           \
                 (--registry, --burst, --cpu-share 128: see crates/tools/src/bin/remote-exports-bench)\n  \
                 dist [--twice]           the release in target/dist/<version>/: the arm64 zip (reproducible; --twice builds it\n                           \
                 again elsewhere and compares), its template, the static CLI, SBOMs, licences, the CDK\n                           \
                 package and wheel with the zip inside, SHA256SUMS; --x86_64 adds the x86_64 zip,\n                           \
                 --without-cli leaves out the CLI\n  \
                 sam-local [--arch A]     the dist zip (arm64, as deployed) through the dist template: sam local invoke on\n                           \
                 events/create|update|delete.json in Docker inside a network namespace of its own (root; installs\n                           \
                 Docker from Debian); --arch x86_64 builds for x86_64, --emulator sam runs SAM's arm64 emulator\n                           \
                 under qemu too, --rounds N repeats\n                           \
                 Create/Update/Delete, --godebug V sets GODEBUG in the container\n  \
                 lint-templates           cfn-lint and sam validate --lint on every template"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => {
            eprintln!("xtask: {} finished in {:.0?}", args[0], started.elapsed());
            ExitCode::SUCCESS
        }
        Err(error) => {
            stop_background_steps();
            eprintln!("xtask: {} FAILED: {error}", args[0]);
            ExitCode::FAILURE
        }
    }
}

fn test(extra: &[String]) -> Result {
    let with_docker = match extra {
        [] => true,
        [flag] if flag == "--without-docker" => false,
        other => return Err(format!("unknown arguments for test: {other:?}")),
    };
    // sam-local needs root (Debian packages, binfmt_misc, dockerd in a namespace). A contributor's
    // machine runs everything else and says what it left out; root and CI always run it.
    let sam_local = sam_local_plan(with_docker, in_ci(), sam_local::is_root());
    let version = one_version()?;
    // The release is built as `cargo xtask dist` builds it, and what ships is what is tested: the
    // templates first (the linters read them), the arm64 zip beside the debug build.
    let release = dist::Dist::new(&version);
    let _ = std::fs::remove_dir_all(&release.dir);
    dist::prepare(&release)?;
    // pip waits on the network more than on the CPU, so the tools install while cargo compiles; and
    // the release build runs beside the debug build, filling the cores that each leaves idle (its
    // fat-LTO link uses one).
    let tools = std::thread::spawn(|| python_venv("venv", TEST_TOOLS));
    let sam_tools = std::thread::spawn(|| python_venv("sam-venv", SAM_TOOLS));
    let book_tool = std::thread::spawn(mdbook);
    // The dependency policy, the SBOMs and the licence texts need the tools, not the release build.
    let supply_chain = {
        let release = release.clone();
        std::thread::spawn(move || supply_chain_checks(&release))
    };
    // The CDK constructs (Node): installed from the lock file, compiled with jsii and tested beside the
    // Rust build; their synthesized templates feed the linters and an end-to-end test.
    // The service construct's tests stage the function this build makes: they wait for it.
    let (built, wait_for_build) = std::sync::mpsc::channel();
    let (constructs_done, wait_for_constructs) = std::sync::mpsc::channel();
    let constructs = std::thread::spawn(move || {
        let tested = cdk_constructs(&wait_for_build);
        if tested.is_ok() {
            let _ = constructs_done.send(());
        }
        tested
    });
    // The release build, then its packages; `sam local invoke` of the zip starts as soon as the zip is
    // there, beside the packaging.
    let (zip_built, wait_for_zip) = std::sync::mpsc::channel();
    let shipped = {
        let release = release.clone();
        let sam_local = sam_local == SamLocal::Run;
        std::thread::spawn(move || {
            release_under_test(&release, sam_local, &zip_built, &wait_for_constructs, supply_chain)
        })
    };
    step("rustfmt", cargo(&["fmt", "--all", "--", "--check"]))?;
    clippy_still_denies_warnings()?;
    step("build, linted by clippy (-D warnings)", workspace_build())?;
    let _ = built.send(());
    let venv = installed(tools)?;
    let sam_venv = installed(sam_tools)?;
    constructs.join().map_err(|_| "the CDK constructs' tests panicked".to_string())??;
    // The linters are Python programs that need one core at most: they run beside the tests.
    let lints = {
        let (venv, sam_venv) = (venv.clone(), sam_venv.clone());
        let log = target_dir().join("xtask/lint-templates.log");
        std::thread::spawn(move || {
            let _ = std::fs::remove_file(&log);
            lint_templates_with(&venv, &sam_venv, &|name, command| logged_step(name, command, &log))
        })
    };
    let moto_server = venv.join("bin/moto_server");
    let moto = MotoProcess::start(&moto_server)?;
    // End-to-end tests are #[ignore]d for a plain `cargo test`; here they run, and must pass.
    let mut tests = linted(&["test", "--workspace", "--all-targets", "--locked", "--", "--include-ignored"]);
    tests
        .env("MOTO_ENDPOINT", &moto.endpoint)
        .env("MOTO_SERVER", &moto_server)
        // Property tests: enough cases to find shallow bugs, bounded so CI time stays flat.
        .env("PROPTEST_CASES", "256")
        // Another build of the function (say the arm64 bootstrap under qemu-user) can be tested instead.
        .env(
            "REMOTE_EXPORTS_LAMBDA_BIN",
            std::env::var_os("REMOTE_EXPORTS_LAMBDA_BIN")
                .unwrap_or_else(|| target_dir().join("debug/remote-exports-lambda").into()),
        )
        .env("REMOTE_EXPORTS_DEMO_BIN", target_dir().join("debug/remote-exports-demo"))
        .env("CARGO_LAMBDA", venv.join("bin/cargo-lambda"))
        .env("CFN_LINT", venv.join("bin/cfn-lint"))
        .env("CDK_SYNTH_DIR", cdk_synth_dir());
    step("tests (unit and end-to-end, against moto)", tests)?;
    drop(moto);
    protocol_crate_stands_alone()?;
    let mdbook = book_tool.join().map_err(|_| "installing mdBook panicked".to_string())??;
    let mut book = Command::new(mdbook);
    book.args(["build", "docs"]).current_dir(workspace_root());
    step("the manual: mdbook build docs (into target/book)", book)?;
    lints.join().map_err(|_| "the template linters panicked".to_string())??;
    let Ok(prepared) = wait_for_zip.recv() else {
        // The release thread ended before its zip: its own error says why.
        shipped.join().map_err(|_| "the release build panicked".to_string())??;
        return Err("the release build ended without a zip".into());
    };
    // The zip's packages are checked meanwhile; both must pass.
    let invoked = match prepared {
        Some(prepared) => sam_local::invoke(&Default::default(), &prepared, &release),
        None => Ok(()),
    };
    shipped.join().map_err(|_| "the release build panicked".to_string())??;
    invoked?;
    match sam_local {
        SamLocal::Run => {}
        SamLocal::LeftOut(why) => eprintln!(
            "xtask: sam-local left out ({why}): `sam local invoke` of the dist zip on the sample events was NOT \
             tested; run `sudo cargo xtask sam-local` on a Debian-based machine, or let CI run it"
        ),
    }
    eprintln!("xtask: the release under test is in {}", release.dir.display());
    Ok(())
}

/// What `cargo xtask dist` ships (but the static CLI, which a release builds), built and checked
/// beside the rest of the test command: the arm64 zip (`zip_built` says when it is there), the CDK
/// package and wheel carrying it, SHA256SUMS once the supply-chain checks have written the SBOMs and
/// licences, and the packed CDK package used as a new user would. With `sam_local`, the machine is
/// prepared for `sam local invoke` too (and, if it cannot run arm64, the x86_64 zip is built for it).
fn release_under_test(
    release: &dist::Dist,
    sam_local: bool,
    zip_built: &std::sync::mpsc::Sender<Option<sam_local::Prepared>>,
    constructs: &std::sync::mpsc::Receiver<()>,
    supply_chain: std::thread::JoinHandle<Result>,
) -> Result {
    // The release build is the longest step: it starts first, the machine's preparation after it.
    let venv = python_venv("build-venv", BUILD_TOOLS)?;
    dist::function_zip(release, dist::Arch::Arm64, &dist::BuildDirs::workspace(), &venv)?;
    let prepared = if sam_local { Some(sam_local::prepare(&Default::default())?) } else { None };
    if prepared.as_ref().is_some_and(|p| p.arch == dist::Arch::X86_64) {
        dist::function_zip(release, dist::Arch::X86_64, &dist::BuildDirs::workspace(), &venv)?;
    }
    let _ = zip_built.send(prepared);
    constructs.recv().map_err(|_| "the CDK constructs failed, so their package was not built".to_string())?;
    dist::cdk_packages(release)?;
    supply_chain.join().map_err(|_| "the supply-chain checks panicked".to_string())??;
    dist::checksums(release)?;
    packed_cdk_as_a_new_user(release)
        .map_err(|e| format!("{e} (the packed CDK package, installed as a new user would)"))
}

/// `cargo deny check licenses bans sources` (deny.toml), then the release's SBOMs and licence texts.
fn supply_chain_checks(release: &dist::Dist) -> Result {
    let tools = supply_chain_tools()?;
    let log = target_dir().join("xtask/supply-chain.log");
    let _ = std::fs::remove_file(&log);
    let mut deny = Command::new(tools.join("bin/cargo-deny"));
    deny.args(["deny", "--locked", "check", "licenses", "bans", "sources"]).current_dir(workspace_root());
    logged_step("cargo deny check licenses bans sources (deny.toml)", deny, &log)?;
    dist::sboms(release, &tools)?;
    dist::licences(release, &tools)
}

/// The packed CDK package and wheel, installed into fresh places with no Rust on the PATH, synthesize
/// a consumer app and a platform app whose function asset is the zip in SHA256SUMS
/// (cdk/release-check/).
fn packed_cdk_as_a_new_user(release: &dist::Dist) -> Result {
    let log = target_dir().join("xtask/cdk.log");
    let venv = python_venv("cdk-python", CDK_PYTHON)?;
    pip_install_wheel(&venv, &only_file(&release.dir, "whl")?, "cdk: pip install the shipped wheel", &log)?;
    let mut check = Command::new("node");
    check
        .args(["--test", "release-check/"])
        .current_dir(workspace_root().join("cdk"))
        .env("REMOTE_EXPORTS_DIST", &release.dir)
        .env("REMOTE_EXPORTS_PYTHON", venv.join("bin/python"));
    logged_step("cdk: the packed package and wheel in fresh directories, without Rust", check, &log)
}

/// The published crates as crates.io would have them: the protocol crate and the shared crate it
/// depends on, packaged together (cargo resolves the one against the other's tarball), then each
/// tarball (with the Cargo.lock it ships) passes clippy: the shared crate alone, the protocol crate
/// with its default features, with none, and with `lambda` alone, against the shared crate's
/// tarball. This is `cargo package`'s own verification in check mode, which is all a library needs,
/// over three feature sets instead of one.
fn protocol_crate_stands_alone() -> Result {
    let (shared, protocol) = ("remote-exports-shared", "cloudformation-custom-resource");
    step(
        &format!("cargo package -p {shared} -p {protocol}"),
        cargo(&["package", "-p", shared, "-p", protocol, "--locked", "--allow-dirty", "--no-verify"]),
    )?;
    let shared_dir = unpacked_tarball(shared)?;
    let protocol_dir = unpacked_tarball(protocol)?;
    // `cargo_args` go to cargo, before the `--` that starts clippy's own.
    let tarball_clippy = |manifest_dir: &Path, cargo_args: &[&str]| {
        let mut check = cargo(&["clippy", "--manifest-path"]);
        check
            .arg(manifest_dir.join("Cargo.toml"))
            // The workspace's dev profile (a packaged crate carries no profile), so that build scripts
            // and their dependencies, aws-lc-sys's C library among them, are the workspace build's.
            .args(["--config", "profile.dev.debug=\"line-tables-only\""])
            .args(["--config", "profile.dev.package.\"*\".debug=false"])
            .args(cargo_args)
            .args(["--", "-D", "warnings"])
            .env("CARGO_TARGET_DIR", target_dir());
        check
    };
    step(&format!("clippy on the {shared} tarball"), tarball_clippy(&shared_dir, &["--locked"]))?;
    for features in [&[][..], &["--no-default-features"], &["--no-default-features", "--features", "lambda"]] {
        // The shared crate is not on crates.io until released: its tarball stands in for it, which
        // changes its lock entry's source, so this run may not be `--locked`; every other crate keeps
        // the version the shipped Cargo.lock names.
        let patch = format!("patch.crates-io.{shared}.path={:?}", shared_dir.display().to_string());
        let check = tarball_clippy(&protocol_dir, &[&["--config", patch.as_str()][..], features].concat());
        let shown = if features.is_empty() { "default features".to_owned() } else { features.join(" ") };
        step(&format!("clippy on the {protocol} tarball, {shown}"), check)?;
    }
    Ok(())
}

/// `target/package/<name>-<version>/`, unpacked afresh from the crate's packaged tarball.
fn unpacked_tarball(name: &str) -> Result<PathBuf> {
    let manifest = std::fs::read_to_string(workspace_root().join("crates").join(name).join("Cargo.toml"))
        .map_err(|e| format!("{name}'s Cargo.toml: {e}"))?;
    let version = line_value(&manifest, "version = ")
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or_else(|| format!("{name}'s Cargo.toml has no version line"))?;
    let packaged = target_dir().join("package");
    let unpacked = packaged.join(format!("{name}-{version}"));
    let _ = std::fs::remove_dir_all(&unpacked);
    let mut unpack = Command::new("tar");
    unpack.arg("-xzf").arg(packaged.join(format!("{name}-{version}.crate"))).arg("-C").arg(&packaged);
    step(&format!("unpack the {name} tarball"), unpack)?;
    Ok(unpacked)
}

/// The product's one version, where each place that ships it says it: the crates (the workspace's
/// `workspace.package.version`), the CDK package and its lock file, the template's Serverless
/// Application Repository `SemanticVersion`, and the newest release of `CHANGELOG.md`.
fn one_version() -> Result<String> {
    let read = |path: &str| {
        std::fs::read_to_string(workspace_root().join(path)).map_err(|e| format!("cannot read {path}: {e}"))
    };
    let places = [
        ("Cargo.toml workspace.package.version", workspace_version(&read("Cargo.toml")?)),
        ("cdk/package.json version", json_version(&read("cdk/package.json")?)),
        ("cdk/package-lock.json version", json_version(&read("cdk/package-lock.json")?)),
        ("template.yaml SemanticVersion", line_value(&read("template.yaml")?, "SemanticVersion: ")),
        ("CHANGELOG.md's newest release", changelog_version(&read("CHANGELOG.md")?)),
    ];
    let expected = places[0].1.clone().ok_or("Cargo.toml has no workspace.package.version")?;
    let wrong: Vec<String> = places
        .iter()
        .filter(|(_, found)| found.as_deref() != Some(expected.as_str()))
        .map(|(place, found)| format!("{place} is {}", found.as_deref().unwrap_or("missing")))
        .collect();
    if !wrong.is_empty() {
        return Err(format!("the product's version is {expected}, but {}", wrong.join(", ")));
    }
    eprintln!("xtask: one version: {expected} (crates, CDK package, template, changelog)");
    Ok(expected)
}

/// The product's version: Cargo.toml's `workspace.package.version`.
fn product_version() -> Result<String> {
    let manifest =
        std::fs::read_to_string(workspace_root().join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    workspace_version(&manifest).ok_or_else(|| "Cargo.toml has no workspace.package.version".into())
}

fn workspace_version(manifest: &str) -> Option<String> {
    let section = manifest.split("[workspace.package]").nth(1)?;
    let section = section.split("\n[").next()?;
    line_value(section, "version = ").map(|v| v.trim_matches('"').to_owned())
}

/// The first `"version": "…"` of a package.json or package-lock.json: the package's own.
fn json_version(text: &str) -> Option<String> {
    line_value(text, "\"version\": ").map(|v| v.trim_end_matches(',').trim_matches('"').to_owned())
}

/// The first `## [X.Y.Z]` heading.
fn changelog_version(text: &str) -> Option<String> {
    text.lines().find_map(|line| line.strip_prefix("## [")?.split(']').next().map(str::to_owned))
}

/// What follows `prefix` on the first line that starts with it (leading spaces ignored).
fn line_value(text: &str, prefix: &str) -> Option<String> {
    text.lines().find_map(|line| line.trim_start().strip_prefix(prefix).map(|v| v.trim().to_owned()))
}

/// Whether `cargo xtask test` runs sam-local.
#[derive(Debug, PartialEq, Eq)]
enum SamLocal {
    Run,
    LeftOut(&'static str),
}

/// Under `CI=true` it always runs (and fails the run when it cannot), so CI never skips it silently.
fn sam_local_plan(with_docker: bool, in_ci: bool, root: bool) -> SamLocal {
    match (with_docker, in_ci, root) {
        (_, true, _) => SamLocal::Run,
        (false, false, _) => SamLocal::LeftOut("--without-docker"),
        (true, false, true) => SamLocal::Run,
        (true, false, false) => SamLocal::LeftOut("not root"),
    }
}

fn demo(extra: &[String]) -> Result {
    let venv = python_venv("venv", TEST_TOOLS)?;
    step("build", workspace_build())?;
    let mut demo = Command::new(target_dir().join("debug/remote-exports-demo"));
    demo.arg("--moto-server")
        .arg(venv.join("bin/moto_server"))
        .arg("--lambda")
        .arg(target_dir().join("debug/remote-exports-lambda"))
        .arg("--cli")
        .arg(target_dir().join("debug/remote-exports"))
        .args(extra);
    step("demo", demo)
}

fn bench(extra: &[String]) -> Result {
    let venv = python_venv("venv", TEST_TOOLS)?;
    step("release build of the Lambda", cargo(&["build", "--release", "--locked", "-p", "remote-exports-lambda"]))?;
    step("build", workspace_build())?;
    let mut bench = Command::new(target_dir().join("debug/remote-exports-bench"));
    bench
        .arg("--moto-server")
        .arg(venv.join("bin/moto_server"))
        .arg("--lambda")
        .arg(target_dir().join("release/remote-exports-lambda"))
        .args(extra);
    if extra.iter().any(|a| a == "--cpu-share") {
        peers(&mut bench)?;
    }
    step("benchmark", bench)
}

/// The peers for `bench --cpu-share`: the Python one always, the Node.js one when node and npm are here.
fn peers(bench: &mut Command) -> Result {
    let python = python_venv("peer-venv", PYTHON_PEER)?;
    bench.arg("--python").arg(python.join("bin/python"));
    let has = |tool: &str| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !(has("node") && has("npm")) {
        eprintln!("xtask: node or npm not found: the Node.js peer is left out");
        return Ok(());
    }
    let source = workspace_root().join("bench/peers/node");
    let installed = target_dir().join("xtask/node-peer");
    std::fs::create_dir_all(&installed).map_err(|e| e.to_string())?;
    for file in ["package.json", "index.mjs"] {
        std::fs::copy(source.join(file), installed.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let mut install = Command::new("npm");
    install.args(["install", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&installed);
    step("npm install (Node.js peer: AWS SDK v3)", install)?;
    bench.arg("--node").arg("node").arg("--node-peer").arg(installed);
    Ok(())
}

fn lint_templates() -> Result {
    let venv = python_venv("venv", TEST_TOOLS)?;
    let sam_venv = python_venv("sam-venv", SAM_TOOLS)?;
    lint_templates_with(&venv, &sam_venv, &step)
}

/// Every CloudFormation template in the repository must be clean: no errors, no warnings. `run` runs
/// each linter as a step.
fn lint_templates_with(venv: &Path, sam_venv: &Path, run: &dyn Fn(&str, Command) -> Result) -> Result {
    let root = workspace_root();
    let mut templates = vec![root.join("template.yaml")];
    // The release's template, which deploys the built zip (`cargo xtask test` writes it first).
    if let Ok(version) = product_version() {
        let released = dist::Dist::new(&version).template(dist::Arch::Arm64);
        if released.exists() {
            templates.push(released);
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join("examples")) {
        let mut examples: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        examples.sort();
        templates.extend(examples);
    }
    // What the CDK constructs synthesized, when their tests have run: cfn-lint only (no SAM in them).
    let synthesized: Vec<PathBuf> = std::fs::read_dir(cdk_synth_dir())
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    let mut cfn_lint = Command::new(venv.join("bin/cfn-lint"));
    cfn_lint.args(&templates).args(&synthesized);
    run(
        &format!("cfn-lint ({} templates, {} synthesized by the CDK constructs)", templates.len(), synthesized.len()),
        cfn_lint,
    )?;
    for template in &templates {
        let mut validate = Command::new(sam_venv.join("bin/sam"));
        validate
            .args(["validate", "--lint", "--region", "eu-west-1", "--template-file"])
            .arg(template)
            .env("SAM_CLI_TELEMETRY", "0");
        run(&format!("sam validate --lint {}", template.strip_prefix(&root).unwrap_or(template).display()), validate)?;
    }
    Ok(())
}

/// Process groups of the steps running beside the main line, stopped when the run fails.
static BACKGROUND: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn stop_background_steps() {
    for group in BACKGROUND.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{group}")]).status();
    }
}

/// A step whose output goes to a log file (it runs beside others); the log's tail is shown if it fails.
fn logged_step(name: &str, mut command: Command, log: &Path) -> Result {
    use std::os::unix::process::CommandExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let errors = file.try_clone().map_err(|e| e.to_string())?;
    eprintln!("xtask: {name}: started (output in {})", log.display());
    let started = Instant::now();
    let mut child = command
        .stdout(file)
        .stderr(errors)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{name}: cannot run {:?}: {e}", command.get_program()))?;
    BACKGROUND.lock().unwrap_or_else(|e| e.into_inner()).push(child.id());
    let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
    BACKGROUND.lock().unwrap_or_else(|e| e.into_inner()).retain(|&group| group != child.id());
    if status.success() {
        eprintln!("xtask: {name}: ok in {:.1?}", started.elapsed());
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    eprintln!("xtask: {name}: the end of {}:", log.display());
    for line in tail.iter().rev() {
        eprintln!("    {line}");
    }
    Err(format!("{name} failed ({status}); its output is in {}", log.display()))
}

fn step(name: &str, mut command: Command) -> Result {
    eprintln!("\nxtask: ── {name} ──");
    let started = Instant::now();
    let status = command.status().map_err(|e| format!("{name}: cannot run {:?}: {e}", command.get_program()))?;
    if status.success() {
        eprintln!("xtask: {name}: ok in {:.1?}", started.elapsed());
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    if in_ci() {
        // A fresh clone compiles everything once: incremental state would only be written, never read.
        command.env("CARGO_INCREMENTAL", "0");
    }
    command
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Every crate and test of the workspace, built as `cargo xtask test` builds them, so that its other
/// commands reuse the same artifacts.
pub(crate) fn workspace_build() -> Command {
    linted(&["build", "--workspace", "--all-targets", "--locked"])
}

/// Cargo with clippy linting the workspace's own crates while they compile, denying every warning:
/// what `cargo clippy -- -D warnings` does (clippy-driver as the rustc wrapper of workspace members,
/// its arguments in CLIPPY_ARGS), but in one build. A separate `cargo clippy` type-checks every
/// dependency again in check mode, about three minutes of CI on two cores. `__CLIPPY_HACKERY__` is
/// how `cargo clippy` itself separates CLIPPY_ARGS, not a documented interface: if clippy changed
/// it, `-D warnings` would stop reaching the lints and warnings would pass in silence, so
/// [`clippy_still_denies_warnings`] proves the encoding on a probe before every build.
fn linted(args: &[&str]) -> Command {
    let mut command = cargo(args);
    command.env("RUSTC_WORKSPACE_WRAPPER", "clippy-driver").env("CLIPPY_ARGS", CLIPPY_ARGS);
    command
}

const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// clippy-driver with [`CLIPPY_ARGS`] refuses a file whose only finding is a warn-by-default lint
/// (`needless_return`), which it merely warns about without them: the encoding still means `-D warnings`.
fn clippy_still_denies_warnings() -> Result {
    let probe = target_dir().join("xtask/clippy-probe.rs");
    std::fs::create_dir_all(probe.parent().expect("under target")).map_err(|e| e.to_string())?;
    let source = "fn main() {\n    println!(\"{}\", one());\n}\n\nfn one() -> i32 {\n    return 1;\n}\n";
    std::fs::write(&probe, source).map_err(|e| e.to_string())?;
    let output = Command::new("clippy-driver")
        .arg("rustc")
        .arg(&probe)
        .args(["--edition=2024", "--emit=metadata", "-o"])
        .arg(probe.with_extension("rmeta"))
        .env("CLIPPY_ARGS", CLIPPY_ARGS)
        .output()
        .map_err(|e| format!("cannot run clippy-driver: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !stderr.contains("needless_return") {
        return Err(format!(
            "clippy-driver no longer denies warnings through CLIPPY_ARGS={CLIPPY_ARGS} (exit {}): the lints of \
             the build would pass in silence; update `linted` in crates/xtask to clippy's current encoding\n{stderr}",
            output.status
        ));
    }
    eprintln!("xtask: clippy-driver denies warnings through CLIPPY_ARGS (a probe's needless_return is an error)");
    Ok(())
}

/// The venv a background install made.
fn installed(install: std::thread::JoinHandle<Result<PathBuf>>) -> Result<PathBuf> {
    install.join().map_err(|_| "installing the Python tools panicked".to_string())?
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/xtask is two levels down").to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// A venv under target/xtask with exactly these pinned packages; rebuilt only when the pins change.
fn python_venv(name: &str, packages: &[&str]) -> Result<PathBuf> {
    // Threads that want the same venv wait for the one installing it.
    static INSTALLING: std::sync::Mutex<Vec<(String, std::sync::Arc<std::sync::Mutex<()>>)>> =
        std::sync::Mutex::new(Vec::new());
    let lock = {
        let mut locks = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
        match locks.iter().find(|(n, _)| n == name) {
            Some((_, lock)) => lock.clone(),
            None => {
                let lock = std::sync::Arc::new(std::sync::Mutex::new(()));
                locks.push((name.to_owned(), lock.clone()));
                lock
            }
        }
    };
    let _installing = lock.lock().unwrap_or_else(|e| e.into_inner());
    let venv = target_dir().join("xtask").join(name);
    let marker = venv.join(".pinned");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(venv);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut create = Command::new(&python);
    create.args(["-m", "venv", "--clear"]).arg(&venv);
    step(&format!("python venv {name}"), create)?;
    let mut install = Command::new(venv.join("bin/pip"));
    // --no-compile: Python compiles what it imports when it first does, not every module installed.
    install.args(["install", "--quiet", "--disable-pip-version-check", "--no-compile"]).args(packages);
    step(&format!("pip install {}", packages.join(" ")), install)?;
    std::fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    Ok(venv)
}

/// Where the CDK constructs' tests write the templates they synthesize.
fn cdk_synth_dir() -> PathBuf {
    target_dir().join("cdk")
}

/// `npm ci` from cdk/package-lock.json, `jsii` (the constructs must compile for every jsii target),
/// the Python package, and (once `built` says the workspace is built) the constructs' tests, which
/// write their synthesized templates to `cdk_synth_dir()`. Output goes to a log, as this runs beside
/// the workspace's build.
fn cdk_constructs(built: &std::sync::mpsc::Receiver<()>) -> Result {
    let dir = workspace_root().join("cdk");
    let log = target_dir().join("xtask/cdk.log");
    std::fs::create_dir_all(log.parent().expect("a parent")).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(cdk_synth_dir());
    let in_cdk = |program: std::ffi::OsString, args: &[&str]| {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&dir)
            .env("CDK_SYNTH_DIR", cdk_synth_dir())
            .env("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1");
        command
    };
    let npm = |args: &[&str]| in_cdk(args[0].into(), &args[1..]);
    cdk_install(&log)?;
    // Python users: the package jsii-pacmak builds from the same classes, in a venv with the CDK for
    // Python, synthesizing the same consumer app (tests/cdk.rs compares the two).
    let wheel = python_wheel(&target_dir().join("cdk-dist"), "cdk: jsii-pacmak --targets python", &log)?;
    let venv = python_venv("cdk-python", CDK_PYTHON)?;
    pip_install_wheel(&venv, &wheel, "cdk: pip install the Python package", &log)?;
    let python = in_cdk(venv.join("bin/python").into_os_string(), &["test/python_consumer.py"]);
    logged_step("cdk: the consumer app in Python", python, &log)?;
    built.recv().map_err(|_| "the workspace did not build, so the construct tests did not run".to_string())?;
    let mut tests = npm(&["node", "--test", "test/"]);
    tests.env("REMOTE_EXPORTS_BOOTSTRAP", target_dir().join("debug/remote-exports-lambda"));
    logged_step("cdk: construct tests (node --test)", tests, &log)
}

/// mdBook at the pinned version under target/xtask/mdbook, built from crates.io with its own lock
/// file; installed once. Its output goes to a log, as it runs beside the workspace's build.
fn mdbook() -> Result<PathBuf> {
    let args = [&["--no-default-features", "--features", "search"], QUICK_BUILD].concat();
    let root = cargo_tool("mdbook", &[("mdbook", MDBOOK, &args)])?;
    Ok(root.join("bin/mdbook"))
}

/// cargo-deny, cargo-cyclonedx and cargo-about at their pinned versions, under
/// target/xtask/supply-chain (`bin/…`); installed once.
fn supply_chain_tools() -> Result<PathBuf> {
    cargo_tool("supply-chain", SUPPLY_CHAIN_TOOLS)
}

/// Crates installed with `cargo install --locked` (their own lock files) under target/xtask/`name`,
/// rebuilt only when a pin changes. Two callers installing at once wait for each other on cargo's
/// lock of the shared target directory.
fn cargo_tool(name: &str, crates: &[(&str, &str, &[&str])]) -> Result<PathBuf> {
    let root = target_dir().join("xtask").join(name);
    let marker = root.join(".pinned");
    let wanted: Vec<String> =
        crates.iter().map(|(krate, version, args)| format!("{krate} {version} {}", args.join(" "))).collect();
    let wanted = wanted.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(root);
    }
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    for (krate, version, args) in crates {
        let mut install = cargo(&["install", krate, "--version", version, "--locked", "--force", "--root"]);
        // One target directory for every tool: what their lock files share is compiled once.
        install.arg(&root).arg("--target-dir").arg(target_dir().join("xtask/cargo-install")).args(*args);
        logged_step(&format!("cargo install {krate} {version}"), install, &root.join("install.log"))?;
    }
    std::fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    Ok(root)
}

/// `npm ci` from cdk/package-lock.json and `jsii`: the constructs compiled, for their packages.
fn cdk_install(log: &Path) -> Result {
    let dir = workspace_root().join("cdk");
    let mut ci = Command::new("npm");
    ci.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
    logged_step("cdk: npm ci (cdk/package-lock.json)", ci, log)?;
    let mut jsii = Command::new("npx");
    jsii.args(["--no-install", "jsii", "--silence-warnings=reserved-word"])
        .current_dir(&dir)
        .env("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1");
    logged_step("cdk: jsii", jsii, log)
}

/// The constructs' Python package, built by jsii-pacmak into a fresh `outdir` from cdk/ as it is now
/// (compiled by jsii; with the staged zip when packing a release): the wheel's path.
fn python_wheel(outdir: &Path, name: &str, log: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(outdir);
    let mut pacmak = Command::new("npx");
    pacmak
        .args(["--no-install", "jsii-pacmak", "--targets", "python", "--outdir"])
        .arg(outdir)
        .current_dir(workspace_root().join("cdk"))
        .env("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1");
    logged_step(name, pacmak, log)?;
    only_file(&outdir.join("python"), "whl")
}

/// A wheel into `venv`, replacing any copy of it there, without touching its dependencies.
fn pip_install_wheel(venv: &Path, wheel: &Path, name: &str, log: &Path) -> Result {
    let mut install = Command::new(venv.join("bin/pip"));
    install.args(["install", "--quiet", "--disable-pip-version-check", "--no-deps", "--force-reinstall"]).arg(wheel);
    logged_step(name, install, log)
}

/// The one file with this extension in `dir`.
fn only_file(dir: &Path, extension: &str) -> Result<PathBuf> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("expected one .{extension} in {}, found {}", dir.display(), found.len())),
    }
}

/// moto on a free loopback port, stopped when dropped (also when a step fails).
struct MotoProcess {
    child: Child,
    endpoint: String,
}

impl MotoProcess {
    fn start(moto_server: &Path) -> Result<MotoProcess> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let child = Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", moto_server.display()))?;
        let mut moto = MotoProcess { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                eprintln!("xtask: moto listening on {}", moto.endpoint);
                return Ok(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto_server exited early ({status})"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("moto_server did not listen within 60 s".into())
    }
}

impl Drop for MotoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_where_each_file_keeps_it() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.package]\nedition = \"2024\"\nversion = \"1.2.3\"\n\n[workspace.dependencies]\nversion = \"9\"\n";
        assert_eq!(workspace_version(manifest).as_deref(), Some("1.2.3"));
        assert_eq!(workspace_version("[workspace]\n[dependencies]\nversion = \"9\"\n"), None);
        let package = "{\n  \"name\": \"x\",\n  \"version\": \"1.2.3\",\n  \"deps\": {\"version\": \"9\"}\n}";
        assert_eq!(json_version(package).as_deref(), Some("1.2.3"));
        assert_eq!(changelog_version("# Changelog\n\n## [1.2.3] - unreleased\n## [1.2.2]\n").as_deref(), Some("1.2.3"));
        assert_eq!(
            line_value("Metadata:\n    SemanticVersion: 1.2.3\n", "SemanticVersion: ").as_deref(),
            Some("1.2.3")
        );
    }

    #[test]
    fn sam_local_runs_as_root_and_always_in_ci_and_is_named_when_left_out() {
        assert_eq!(sam_local_plan(true, false, true), SamLocal::Run);
        assert_eq!(sam_local_plan(true, false, false), SamLocal::LeftOut("not root"));
        assert_eq!(sam_local_plan(false, false, true), SamLocal::LeftOut("--without-docker"));
        for (with_docker, root) in [(true, false), (false, false), (true, true), (false, true)] {
            assert_eq!(sam_local_plan(with_docker, true, root), SamLocal::Run, "CI must run it");
        }
    }
}
