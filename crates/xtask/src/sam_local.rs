//! `cargo xtask sam-local`: `sam build` and `sam local invoke` on the sample events, with a real
//! Docker engine that runs only inside a network namespace of its own, so no container can reach the
//! machine's own network or beyond. What touches the machine lives in two scripts under `.ci/`:
//! `provision-sam-local.sh` (packages, arm64 emulation) and `sam-local-sandbox.sh` (the namespace and
//! its engine, for the length of the invocations).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{
    Result, SAM_TOOLS, TEST_TOOLS, logged_step, python_venv, step, target_dir, workspace_build, workspace_root,
};

/// This machine's architecture, in SAM's words.
const NATIVE: &str = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
/// Docker's bridge inside the namespace: where containers reach moto and the TLS front.
const GATEWAY: &str = "172.17.0.1";

/// What `cargo xtask sam-local` was asked for.
#[derive(Default)]
pub struct Options {
    /// `--arch`: the template's arm64 (the deployed build) unless x86_64 is asked for.
    arch: Option<String>,
    /// `--emulator sam`: SAM's emulator for the function's architecture, under qemu on x86_64.
    sam_emulator: bool,
    /// `--rounds N`, `--godebug V`: passed to the invoking program.
    passed: Vec<String>,
}

impl Options {
    pub fn parse(extra: &[String]) -> Result<Options> {
        let usage = || {
            format!(
                "usage: cargo xtask sam-local [--arch arm64|x86_64] [--emulator native|sam] [--rounds N] [--godebug V], \
                 not {extra:?}"
            )
        };
        let mut options = Options::default();
        for pair in extra.chunks(2) {
            match pair {
                [flag, arch] if flag == "--arch" && (arch == "arm64" || arch == "x86_64") => {
                    options.arch = Some(arch.clone())
                }
                [flag, emulator] if flag == "--emulator" && (emulator == "native" || emulator == "sam") => {
                    options.sam_emulator = emulator == "sam"
                }
                [flag, value] if flag == "--rounds" || flag == "--godebug" => {
                    options.passed.extend([flag.clone(), value.clone()])
                }
                _ => return Err(usage()),
            }
        }
        Ok(options)
    }
}

/// The function as `sam build` made it, ready for `sam local invoke`.
pub struct Built {
    arch: &'static str,
    work: PathBuf,
    venv: PathBuf,
    sam_venv: PathBuf,
}

pub fn sam_local(extra: &[String]) -> Result {
    let options = Options::parse(extra)?;
    let built = build(&options)?;
    step("build", workspace_build())?;
    invoke(&options, &built)
}

/// Everything before Docker: packages, tools, arm64 emulation and `sam build` of the real template
/// (arm64, as deployed). Its output goes to target/sam-local/build.log, so that it can run beside
/// the rest of `cargo xtask test`.
pub fn build(options: &Options) -> Result<Built> {
    if !is_root() {
        return Err("sam-local runs a Docker engine in a network namespace of its own, which needs root \
                    (run it as root, or in CI; as a normal user `cargo xtask test` leaves it out and says so)"
            .into());
    }
    let work = target_dir().join("sam-local");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log = work.join("build.log");
    std::fs::write(&log, "").map_err(|e| format!("{}: {e}", log.display()))?;
    install_missing_packages(&log)?;
    let venv = python_venv("venv", TEST_TOOLS)?;
    let sam_venv = python_venv("sam-venv", SAM_TOOLS)?;
    let arch = match options.arch.as_deref() {
        Some("x86_64") => "x86_64",
        _ if NATIVE == "arm64" => "arm64",
        Some(_) => {
            arm64_emulation(&log).map_err(|why| format!("--arch arm64: {why}"))?;
            "arm64"
        }
        // The deployed architecture when this machine can build and run it; otherwise said loudly.
        None => match arm64_emulation(&log) {
            Ok(()) => "arm64",
            Err(why) => {
                eprintln!(
                    "xtask: WARNING: arm64 cannot be built or run here ({why}); sam-local builds and invokes \
                     x86_64 instead, and the deployed arm64 bootstrap is NOT tested"
                );
                "x86_64"
            }
        },
    };
    let template = write_template_under_test(&work, arch, options.passed.iter().any(|a| a == "--godebug"))?;
    // Niced: beside `cargo xtask test` it takes the CPU the debug build and the tests leave, so that
    // the tests' timing is not at the mercy of a release build.
    let mut sam_build = Command::new("nice");
    sam_build
        .args(["-n", "10"])
        .arg(sam_venv.join("bin/sam"))
        .args(["build", "--template-file"])
        .arg(&template)
        .arg("--build-dir")
        .arg(work.join("build"))
        .current_dir(&work)
        // cargo-lambda and its zig come from the test venv, as SAM's rust-cargolambda workflow expects.
        .env("PATH", prepend_path(&venv.join("bin")))
        .env("SAM_CLI_TELEMETRY", "0");
    logged_step(&format!("sam build ({arch}: cargo lambda build --release)"), sam_build, &log)?;
    Ok(Built { arch, work, venv, sam_venv })
}

/// `sam local invoke` on the sample events, with dockerd in a network namespace of its own
/// (`.ci/sam-local-sandbox.sh`). The invoking program comes from the workspace build, which the
/// caller has made.
pub fn invoke(options: &Options, built: &Built) -> Result {
    let emulator = if options.sam_emulator { "sam" } else { "native" };
    if built.arch != NATIVE {
        eprintln!(
            "xtask: the {} bootstrap runs under qemu-user; the Runtime Interface Emulator runs {}",
            built.arch,
            if options.sam_emulator { "under qemu too (--emulator sam)" } else { "natively" }
        );
    }
    // The namespace and the engine in it belong to a script of their own, which removes both
    // whatever the invocations' outcome.
    let mut invoke = Command::new("bash");
    invoke
        .arg(workspace_root().join(".ci/sam-local-sandbox.sh"))
        .arg(&built.work)
        .arg(GATEWAY)
        .arg("--")
        .arg(target_dir().join("debug/remote-exports-sam-local"))
        .arg("--moto-server")
        .arg(built.venv.join("bin/moto_server"))
        .arg("--sam")
        .arg(built.sam_venv.join("bin/sam"))
        .arg("--template")
        .arg(built.work.join("build/template.yaml"))
        .args(["--arch", built.arch, "--emulator", emulator, "--gateway", GATEWAY])
        .arg("--work")
        .arg(built.work.join("run"))
        .arg("--events")
        .arg(workspace_root().join("events"))
        .args(&options.passed);
    step("sam local invoke on events/create, update and delete (in the namespace)", invoke)
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The machine's part lives in a script of its own (Debian's packages, the aarch64 standard
/// library, qemu with binfmt_misc), not in this build tool; its output goes to `log`.
fn provision(what: &str, log: &Path) -> Result {
    let mut command = Command::new("bash");
    command.arg(workspace_root().join(".ci/provision-sam-local.sh")).arg(what);
    logged_step(&format!(".ci/provision-sam-local.sh {what}"), command, log)
}

/// Debian packages: the engine, the namespace, the test certificates, the stand-in image's contents,
/// and arm64 emulation. Installed only when missing.
fn install_missing_packages(log: &Path) -> Result {
    provision("packages", log)
}

/// Ok when arm64 containers can run here (the script says why not, in `log`).
fn arm64_emulation(log: &Path) -> Result {
    provision("arm64", log).map_err(|_| format!("see {} for why", log.display()))
}

/// The real template, changed only where a local run must differ: CodeUri made absolute (the copy
/// lives under target/), the two variables `--env-vars` sets declared (SAM passes only declared
/// ones), and the architecture when arm64 cannot run here.
fn write_template_under_test(work: &Path, arch: &str, declare_godebug: bool) -> Result<PathBuf> {
    let original = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&original).map_err(|e| format!("{}: {e}", original.display()))?;
    let root = workspace_root();
    let edits = [
        ("    CodeUri: .\n".to_owned(), format!("    CodeUri: {}\n", root.display())),
        (
            "          EXPORTS_CACHE_TTL_SECONDS: !Ref ExportsSnapshotTtlSeconds\n".to_owned(),
            "          EXPORTS_CACHE_TTL_SECONDS: !Ref ExportsSnapshotTtlSeconds\n          \
             AWS_ENDPOINT_URL: ''\n          TLS_ROOTS: ''\n"
                .to_owned()
                // Only for `--godebug`: the emulator in the container is a Go program.
                + if declare_godebug { "          GODEBUG: ''\n" } else { "" },
        ),
        ("    Architectures: [arm64]\n".to_owned(), format!("    Architectures: [{arch}]\n")),
    ];
    let mut edited = format!(
        "# Generated by `cargo xtask sam-local` from template.yaml; do not edit. Changes: CodeUri, \
         AWS_ENDPOINT_URL and TLS_ROOTS declared, Architectures [{arch}].\n{text}"
    );
    for (from, to) in edits {
        if edited.matches(&from).count() != 1 {
            return Err(format!("template.yaml changed shape: expected exactly one {:?}", from.trim()));
        }
        edited = edited.replacen(&from, &to, 1);
    }
    let path = work.join("template.yaml");
    std::fs::write(&path, edited).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap_or_default()
}
