//! `cargo xtask sam-local`: `sam local invoke` of the dist zip through the dist template (what a
//! release ships, not a separate build) on the sample events, with a real
//! Docker engine that runs only inside a network namespace of its own, so no container can reach the
//! machine's own network or beyond. What touches the machine lives in two scripts under `.ci/`:
//! `provision-sam-local.sh` (packages, arm64 emulation) and `sam-local-sandbox.sh` (the namespace and
//! its engine, for the length of the invocations).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dist::{self, Arch, Dist};
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

/// The machine ready for `sam local invoke`, and the architecture it can run.
pub struct Prepared {
    pub arch: Arch,
    work: PathBuf,
    venv: PathBuf,
    sam_venv: PathBuf,
}

pub fn sam_local(extra: &[String]) -> Result {
    let options = Options::parse(extra)?;
    let prepared = prepare(&options)?;
    let dist = Dist::new(&crate::product_version()?);
    dist::prepare(&dist)?;
    let build_venv = python_venv("build-venv", crate::BUILD_TOOLS)?;
    dist::function_zip(&dist, prepared.arch, &dist::BuildDirs::workspace(), &build_venv)?;
    step("build", workspace_build())?;
    invoke(&options, &prepared, &dist)
}

/// Everything before Docker: packages, tools and arm64 emulation (the deployed architecture). Output
/// goes to target/sam-local/prepare.log, so that it can run beside the rest of `cargo xtask test`.
pub fn prepare(options: &Options) -> Result<Prepared> {
    if !is_root() {
        return Err("sam-local runs a Docker engine in a network namespace of its own, which needs root \
                    (run it as root, or in CI; as a normal user `cargo xtask test` leaves it out and says so)"
            .into());
    }
    let work = target_dir().join("sam-local");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log = work.join("prepare.log");
    std::fs::write(&log, "").map_err(|e| format!("{}: {e}", log.display()))?;
    install_missing_packages(&log)?;
    let venv = python_venv("venv", TEST_TOOLS)?;
    let sam_venv = python_venv("sam-venv", SAM_TOOLS)?;
    let arch = match options.arch.as_deref() {
        Some("x86_64") => Arch::X86_64,
        _ if NATIVE == "arm64" => Arch::Arm64,
        Some(_) => {
            arm64_emulation(&log).map_err(|why| format!("--arch arm64: {why}"))?;
            Arch::Arm64
        }
        // The deployed architecture when this machine can run it; otherwise said loudly.
        None => match arm64_emulation(&log) {
            Ok(()) => Arch::Arm64,
            Err(why) => {
                eprintln!(
                    "xtask: WARNING: arm64 cannot run here ({why}); sam-local invokes the x86_64 zip instead, \
                     and the deployed arm64 bootstrap is NOT invoked"
                );
                Arch::X86_64
            }
        },
    };
    Ok(Prepared { arch, work, venv, sam_venv })
}

/// `sam local invoke` of the dist zip through the dist template, on the sample events, with dockerd
/// in a network namespace of its own (`.ci/sam-local-sandbox.sh`). The invoking program comes from
/// the workspace build, which the caller has made.
pub fn invoke(options: &Options, prepared: &Prepared, dist: &Dist) -> Result {
    let emulator = if options.sam_emulator { "sam" } else { "native" };
    if prepared.arch.name() != NATIVE {
        eprintln!(
            "xtask: the {} bootstrap runs under qemu-user; the Runtime Interface Emulator runs {}",
            prepared.arch.name(),
            if options.sam_emulator { "under qemu too (--emulator sam)" } else { "natively" }
        );
    }
    let template = write_template_under_test(
        &prepared.work,
        dist,
        prepared.arch,
        options.passed.iter().any(|a| a == "--godebug"),
    )?;
    // The namespace and the engine in it belong to a script of their own, which removes both
    // whatever the invocations' outcome.
    let mut invoke = Command::new("bash");
    invoke
        .arg(workspace_root().join(".ci/sam-local-sandbox.sh"))
        .arg(&prepared.work)
        .arg(GATEWAY)
        .arg("--")
        .arg(target_dir().join("debug/remote-exports-sam-local"))
        .arg("--moto-server")
        .arg(prepared.venv.join("bin/moto_server"))
        .arg("--sam")
        .arg(prepared.sam_venv.join("bin/sam"))
        .arg("--template")
        .arg(&template)
        .args(["--arch", prepared.arch.name(), "--emulator", emulator, "--gateway", GATEWAY])
        .arg("--work")
        .arg(prepared.work.join("run"))
        .arg("--events")
        .arg(workspace_root().join("events"))
        .args(&options.passed);
    step(
        &format!("sam local invoke of {} on events/create, update and delete (in the namespace)", {
            let zip = dist.zip(prepared.arch);
            zip.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        }),
        invoke,
    )
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

/// The dist template, changed only where a local run must differ: CodeUri made absolute (the copy
/// lives elsewhere) and the two variables `--env-vars` sets declared (SAM passes only declared ones).
fn write_template_under_test(work: &Path, dist: &Dist, arch: Arch, declare_godebug: bool) -> Result<PathBuf> {
    let original = dist.template(arch);
    let text = std::fs::read_to_string(&original).map_err(|e| format!("{}: {e}", original.display()))?;
    let zip = dist.zip(arch);
    let name = zip.file_name().and_then(|n| n.to_str()).expect("a file name");
    let edits = [
        (format!("    CodeUri: {name}\n"), format!("    CodeUri: {}\n", zip.display())),
        (
            "          SNAPSHOT_TTL_SECONDS: !Ref ExportsSnapshotTtlSeconds\n".to_owned(),
            "          SNAPSHOT_TTL_SECONDS: !Ref ExportsSnapshotTtlSeconds\n          \
             AWS_ENDPOINT_URL: ''\n          TLS_ROOTS: ''\n"
                .to_owned()
                // Only for `--godebug`: the emulator in the container is a Go program.
                + if declare_godebug { "          GODEBUG: ''\n" } else { "" },
        ),
    ];
    let mut edited = format!(
        "# Generated by `cargo xtask sam-local` from {}; do not edit. Changes: CodeUri absolute, \
         AWS_ENDPOINT_URL and TLS_ROOTS declared.\n{text}",
        original.display()
    );
    for (from, to) in edits {
        if edited.matches(&from).count() != 1 {
            return Err(format!("{} changed shape: expected exactly one {:?}", original.display(), from.trim()));
        }
        edited = edited.replacen(&from, &to, 1);
    }
    let path = work.join("template.yaml");
    std::fs::write(&path, edited).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

pub(crate) fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap_or_default()
}
