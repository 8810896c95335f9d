//! `cargo xtask dist`: what a release ships, in `target/dist/<version>/`, built so that a platform team
//! deploys it without a Rust toolchain and can check it byte for byte:
//!
//! - `remote-exports-<v>-arm64.zip`: the `provided.al2023` bootstrap, built reproducibly (paths
//!   remapped, one fixed timestamp and mode in the zip); `--x86_64` adds the x86_64 zip;
//! - `template.yaml`: `template.yaml` with that zip as its code and no build step (`sam deploy`,
//!   `sam package` and `sam publish` take it as it is), beside `deploy-regions.sh`, the publisher role's
//!   and the export guard's templates;
//! - `remote-exports-<v>-linux-<arch>`: the CLI, static (musl), unless `--without-cli`;
//! - a CycloneDX SBOM per binary, the third-party licence texts, the CDK package (`npm pack`) and its
//!   Python wheel, both carrying the arm64 zip;
//! - `SHA256SUMS` over all of it.
//!
//! `--twice` builds the arm64 zip a second time from a copy of the sources in another directory, with
//! another target directory, and fails unless both zips are the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{BUILD_TOOLS, Result, logged_step, python_venv, step, target_dir, workspace_root};

/// The Lambda architectures a zip is built for, in SAM's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Arm64,
    X86_64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    fn cargo_lambda_flag(self) -> &'static str {
        match self {
            Arch::Arm64 => "--arm64",
            Arch::X86_64 => "--x86-64",
        }
    }

    /// The CPU cargo-lambda builds a Lambda function for (Graviton2's Neoverse N1; Haswell on x86_64),
    /// as `sam build` and `cargo lambda build` do.
    fn lambda_cpu(self) -> &'static str {
        match self {
            Arch::Arm64 => "neoverse-n1",
            Arch::X86_64 => "haswell",
        }
    }

    /// The static (musl) target of the CLI for this architecture.
    fn musl_target(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64-unknown-linux-musl",
            Arch::X86_64 => "x86_64-unknown-linux-musl",
        }
    }
}

/// What `cargo xtask dist` was asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--twice`: prove the arm64 zip is reproducible.
    pub twice: bool,
    /// `--x86_64`: the x86_64 zip and template too.
    pub x86_64: bool,
    /// `--without-cli`: no static CLI builds (`cargo xtask test` leaves them to a release).
    pub without_cli: bool,
}

impl Options {
    pub fn parse(extra: &[String]) -> Result<Options> {
        let mut options = Options::default();
        for flag in extra {
            match flag.as_str() {
                "--twice" => options.twice = true,
                "--x86_64" => options.x86_64 = true,
                "--without-cli" => options.without_cli = true,
                _ => {
                    return Err(format!("usage: cargo xtask dist [--twice] [--x86_64] [--without-cli], not {extra:?}"));
                }
            }
        }
        Ok(options)
    }
}

/// `target/dist/<version>/` and the names of what goes in it.
#[derive(Clone)]
pub struct Dist {
    pub version: String,
    pub dir: PathBuf,
}

impl Dist {
    pub fn new(version: &str) -> Dist {
        Dist { version: version.to_owned(), dir: target_dir().join("dist").join(version) }
    }

    pub fn zip(&self, arch: Arch) -> PathBuf {
        self.dir.join(format!("remote-exports-{}-{}.zip", self.version, arch.name()))
    }

    pub fn template(&self, arch: Arch) -> PathBuf {
        match arch {
            Arch::Arm64 => self.dir.join("template.yaml"),
            Arch::X86_64 => self.dir.join("template-x86_64.yaml"),
        }
    }

    fn log(&self) -> PathBuf {
        target_dir().join("dist").join(format!("{}.log", self.version))
    }
}

/// `cargo xtask dist`: everything, in order.
pub fn dist(extra: &[String]) -> Result {
    let options = Options::parse(extra)?;
    let dist = Dist::new(&crate::product_version()?);
    let _ = std::fs::remove_dir_all(&dist.dir);
    prepare(&dist)?;
    let venv = python_venv("build-venv", BUILD_TOOLS)?;
    let arm64 = function_zip(&dist, Arch::Arm64, &BuildDirs::workspace(), &venv)?;
    if options.twice {
        let again = built_elsewhere(&dist, &venv)?;
        let (first, second) = (sha256(&arm64)?, sha256(&again)?);
        eprintln!(
            "xtask: the arm64 zip, built twice in two directories:\n  {first}  {}\n  {second}  {}",
            arm64.display(),
            again.display()
        );
        if first != second {
            return Err(format!(
                "the arm64 zip is not reproducible: {} and {} differ (unzip both and compare the bootstraps)",
                arm64.display(),
                again.display()
            ));
        }
    }
    if options.x86_64 {
        function_zip(&dist, Arch::X86_64, &BuildDirs::workspace(), &venv)?;
    }
    if !options.without_cli {
        for arch in [Arch::X86_64, Arch::Arm64] {
            static_cli(&dist, arch, &venv)?;
        }
    }
    let tools = crate::supply_chain_tools()?;
    sboms(&dist, &tools)?;
    licences(&dist, &tools)?;
    crate::cdk_install(&dist.log())?;
    cdk_packages(&dist)?;
    checksums(&dist)?;
    crate::packed_cdk_as_a_new_user(&dist)?;
    eprintln!("xtask: dist: {}", dist.dir.display());
    Ok(())
}

/// The directory, the arm64 template (which needs no build: the linters read it before the zip is
/// there), the project's own texts that `sam publish` reads (`LicenseUrl`, `ReadmeUrl`) and the
/// publisher-side templates.
pub fn prepare(dist: &Dist) -> Result {
    std::fs::create_dir_all(&dist.dir).map_err(|e| format!("{}: {e}", dist.dir.display()))?;
    std::fs::write(dist.log(), "").map_err(|e| format!("{}: {e}", dist.log().display()))?;
    write_template(dist, Arch::Arm64)?;
    // The texts `sam publish` reads, and what the platform and publisher teams deploy beside the function.
    let shipped = [
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "examples/publisher-role.yaml",
        "examples/export-guard.yaml",
        "examples/publisher-changes.yaml",
        "examples/consumer-refresher.yaml",
        "examples/deploy-regions.sh",
    ];
    for file in shipped {
        let name = Path::new(file).file_name().expect("a file name");
        std::fs::copy(workspace_root().join(file), dist.dir.join(name)).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(())
}

/// The template that deploys the zip of `arch`.
fn write_template(dist: &Dist, arch: Arch) -> Result {
    let source = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let zip = dist.zip(arch);
    let name = zip.file_name().and_then(|n| n.to_str()).expect("a file name");
    let template = dist_template(&text, &dist.version, name, arch)?;
    std::fs::write(dist.template(arch), template).map_err(|e| format!("{}: {e}", dist.template(arch).display()))
}

/// The function's build metadata, which the dist template has no use for: its code is the zip.
const BUILD_METADATA: &str = "    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: remote-exports-lambda\n";

/// `template.yaml` for a built zip: the zip as the functions' CodeUri, no build metadata, the
/// architecture the zip was built for.
pub fn dist_template(template: &str, version: &str, zip: &str, arch: Arch) -> Result<String> {
    // Every function of the template is the one binary: each has the build metadata once.
    let functions = template.matches("    Type: AWS::Serverless::Function\n").count();
    let edits = [
        ("    CodeUri: .\n".to_owned(), format!("    CodeUri: {zip}\n"), 1),
        (BUILD_METADATA.to_owned(), String::new(), functions),
        ("    Architectures: [arm64]\n".to_owned(), format!("    Architectures: [{}]\n", arch.name()), 1),
    ];
    let mut edited = template.to_owned();
    for (from, to, count) in edits {
        if edited.matches(&from).count() != count {
            return Err(format!("template.yaml changed shape: expected {count} of {:?}", from.trim()));
        }
        edited = edited.replace(&from, &to);
    }
    if edited.contains("BuildMethod") {
        return Err("template.yaml has build metadata of another shape: the release's template would build".into());
    }
    let header = format!(
        "# remote-exports {version} ({arch}): template.yaml with {zip} as the functions' code, so that \
         `sam deploy --guided`\n# (or `sam package` and `sam publish`) needs no build. Made by `cargo xtask dist`.\n",
        arch = arch.name()
    );
    Ok(header + &edited)
}

/// Builds the bootstrap for `arch` from the sources at `source` into `target`, then zips it into
/// the dist directory. Reproducible: the sources', target's and cargo home's paths are remapped in
/// Rust and C code alike, and the zip has one entry with a fixed time and mode.
pub fn function_zip(dist: &Dist, arch: Arch, dirs: &BuildDirs, venv: &Path) -> Result<PathBuf> {
    let zip = if dirs.source == workspace_root() {
        dist.zip(arch)
    } else {
        dirs.target.join(dist.zip(arch).file_name().expect("a name"))
    };
    let mut build = reproducible_cargo_lambda(dirs, venv, Some(arch.lambda_cpu()));
    build.args(["build", "--release", "--locked", "--bin", "remote-exports-lambda", arch.cargo_lambda_flag()]);
    logged_step(
        &format!("cargo lambda build --release {} (the function)", arch.cargo_lambda_flag()),
        build,
        &dist.log(),
    )?;
    let bootstrap = dirs.target.join("lambda/remote-exports-lambda/bootstrap");
    reproducible_zip(&bootstrap, &zip)?;
    write_template(dist, arch)?;
    eprintln!("xtask: {}: {} bytes, sha256 {}", zip.display(), file_size(&zip)?, sha256(&zip)?);
    Ok(zip)
}

/// The sources as git knows them (committed, changed and new but not ignored), copied to a directory
/// of another name and length, and built there with a target directory of its own.
fn built_elsewhere(dist: &Dist, venv: &Path) -> Result<PathBuf> {
    let elsewhere = target_dir().join("dist-twice/a-second-checkout-elsewhere");
    let _ = std::fs::remove_dir_all(&elsewhere);
    let source = elsewhere.join("src");
    let files = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    if !files.status.success() {
        return Err("git ls-files failed: --twice copies the sources git knows".into());
    }
    for file in files.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let relative = Path::new(std::str::from_utf8(file).map_err(|e| e.to_string())?);
        let from = workspace_root().join(relative);
        if !from.is_file() {
            continue; // deleted but not yet committed
        }
        let to = source.join(relative);
        std::fs::create_dir_all(to.parent().expect("a parent")).map_err(|e| e.to_string())?;
        std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    // Cargo's home by another path too (a link to the same one), so that a path of it the remapping
    // missed would show as a difference.
    let cargo_home = elsewhere.join("cargo-home");
    std::os::unix::fs::symlink(BuildDirs::workspace().cargo_home, &cargo_home)
        .map_err(|e| format!("{}: {e}", cargo_home.display()))?;
    let dirs = BuildDirs { source, target: elsewhere.join("target"), cargo_home };
    function_zip(dist, Arch::Arm64, &dirs, venv)
}

/// Where a build reads and writes: the sources, its target directory and cargo's home. Each is
/// remapped in what the build makes.
pub struct BuildDirs {
    source: PathBuf,
    target: PathBuf,
    cargo_home: PathBuf,
}

impl BuildDirs {
    /// This checkout, its target directory and this user's cargo home.
    pub fn workspace() -> BuildDirs {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
        BuildDirs { source: workspace_root(), target: target_dir(), cargo_home }
    }
}

/// `cargo lambda` (cargo-lambda and its Zig from the test venv) with every build-machine path
/// remapped: the sources, the target directory and cargo's home, in rustc and in the C compiler
/// (aws-lc's `__FILE__`s). Setting rustflags replaces the `target-cpu` cargo-lambda would set for a
/// Lambda target, so the function's is given here (`cpu`); the CLI stays generic.
fn reproducible_cargo_lambda(dirs: &BuildDirs, venv: &Path, cpu: Option<&str>) -> Command {
    let maps = [(&dirs.source, "/remote-exports"), (&dirs.target, "/target"), (&dirs.cargo_home, "/cargo")];
    let mut rustflags: Vec<String> =
        maps.iter().map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display())).collect();
    rustflags.extend(cpu.map(|cpu| format!("-Ctarget-cpu={cpu}")));
    let cflags: Vec<String> =
        maps.iter().map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display())).collect();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .arg("lambda")
        .current_dir(&dirs.source)
        .env("CARGO_TARGET_DIR", &dirs.target)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\u{1f}"))
        .env("CARGO_HOME", &dirs.cargo_home)
        .env("CFLAGS", cflags.join(" "))
        .env("CARGO_INCREMENTAL", "0")
        .env("PATH", crate::sam_local::prepend_path(&venv.join("bin")));
    command
}

/// One entry, `bootstrap`, mode 0755, dated 1980-01-01 (the zip format's epoch), stored: the same bytes
/// for the same bootstrap on every machine (deflate's output would depend on the machine's zlib, and
/// zlib-ng deflates differently). Python's zipfile, which every machine that runs this has.
fn reproducible_zip(bootstrap: &Path, zip: &Path) -> Result {
    const SCRIPT: &str = "import sys, zipfile\n\
        info = zipfile.ZipInfo('bootstrap', date_time=(1980, 1, 1, 0, 0, 0))\n\
        info.create_system = 3\n\
        info.external_attr = 0o100755 << 16\n\
        data = open(sys.argv[1], 'rb').read()\n\
        with zipfile.ZipFile(sys.argv[2], 'w') as z:\n    \
            z.writestr(info, data, compress_type=zipfile.ZIP_STORED)\n";
    let _ = std::fs::remove_file(zip);
    let mut python = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    python.args(["-c", SCRIPT]).arg(bootstrap).arg(zip);
    step(&format!("zip {}", zip.file_name().and_then(|n| n.to_str()).unwrap_or("?")), python)
}

/// The CLI for Linux, statically linked against musl (Zig links it, as it does the function).
fn static_cli(dist: &Dist, arch: Arch, venv: &Path) -> Result {
    let dirs = BuildDirs::workspace();
    let triple = arch.musl_target();
    let mut add = Command::new("rustup");
    add.args(["target", "add", triple]);
    logged_step(&format!("rustup target add {triple}"), add, &dist.log())?;
    let mut build = reproducible_cargo_lambda(&dirs, venv, None);
    build.args([
        "build",
        "--release",
        "--locked",
        "--package",
        "remote-exports-cli",
        "--bin",
        "remote-exports",
        "--target",
        triple,
    ]);
    logged_step(&format!("cargo lambda build --release --target {triple} (the CLI, static)"), build, &dist.log())?;
    // cargo-lambda moves what it builds to target/lambda/<binary>/bootstrap, whatever the binary.
    let built = dirs.target.join("lambda/remote-exports/bootstrap");
    let shipped = dist.dir.join(format!("remote-exports-{}-linux-{}", dist.version, arch.name()));
    std::fs::copy(&built, &shipped).map_err(|e| format!("{}: {e}", built.display()))?;
    eprintln!("xtask: {}: {} bytes", shipped.display(), file_size(&shipped)?);
    Ok(())
}

/// A CycloneDX SBOM per shipped binary (cargo-cyclonedx, from Cargo.lock and cargo metadata), named
/// after the artifact it describes.
pub fn sboms(dist: &Dist, tools: &Path) -> Result {
    // Each binary's dependencies as resolved for the target it ships for: the function for arm64
    // Lambda (glibc), the CLI for static Linux (musl).
    let shipped = [
        ("remote-exports-lambda", "remote-exports-lambda", "lambda", "aarch64-unknown-linux-gnu"),
        ("remote-exports-cli", "remote-exports", "cli", "x86_64-unknown-linux-musl"),
    ];
    for (package, binary, what, target) in shipped {
        let mut sbom = Command::new(tools.join("bin/cargo-cyclonedx"));
        sbom.args(["cyclonedx", "--format", "json", "--spec-version", "1.5", "--describe", "binaries"])
            .args(["--target", target])
            .current_dir(workspace_root());
        logged_step(&format!("cargo cyclonedx (the SBOM of {binary}, {target})"), sbom, &dist.log())?;
        let from = workspace_root().join("crates").join(package).join(format!("{binary}_bin.cdx.json"));
        let to = dist.dir.join(format!("remote-exports-{}-{what}.cdx.json", dist.version));
        std::fs::rename(&from, &to).map_err(|e| format!("cargo-cyclonedx wrote no {}: {e}", from.display()))?;
        remove_unshipped_sboms()?;
    }
    Ok(())
}

/// cargo-cyclonedx describes every binary of the workspace beside its crate's manifest; what is not
/// shipped is removed.
fn remove_unshipped_sboms() -> Result {
    let listed = Command::new("git")
        .args(["ls-files", "--others", "--exclude-standard", "-z", "--", "*.cdx.json"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    for other in listed.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let _ = std::fs::remove_file(workspace_root().join(String::from_utf8_lossy(other).as_ref()));
    }
    Ok(())
}

/// The licence texts of every third-party crate in each shipped binary (cargo-about, policy in
/// about.toml, offline: the texts come from the crates' own sources).
pub fn licences(dist: &Dist, tools: &Path) -> Result {
    for (package, what) in [("remote-exports-lambda", "lambda"), ("remote-exports-cli", "cli")] {
        let mut about = Command::new(tools.join("bin/cargo-about"));
        about
            .args(["about", "generate", "--locked", "--offline", "--fail", "--manifest-path"])
            .arg(workspace_root().join("crates").join(package).join("Cargo.toml"))
            .arg("--config")
            .arg(workspace_root().join("about.toml"))
            .arg("--output-file")
            .arg(dist.dir.join(format!("remote-exports-{}-{what}.licenses.txt", dist.version)))
            .arg(workspace_root().join("about.hbs"))
            .current_dir(workspace_root());
        logged_step(&format!("cargo about generate ({package}'s third-party licences)"), about, &dist.log())?;
    }
    Ok(())
}

/// The CDK package with the arm64 zip inside (`cdk/assets/`, which `files` ships): `npm pack` and the
/// Python wheel jsii-pacmak makes from it, into the dist directory. The constructs must be compiled
/// (jsii) already.
pub fn cdk_packages(dist: &Dist) -> Result {
    let cdk = workspace_root().join("cdk");
    let assets = cdk.join("assets");
    std::fs::create_dir_all(&assets).map_err(|e| e.to_string())?;
    let packed = std::fs::copy(dist.zip(Arch::Arm64), assets.join("remote-exports-arm64.zip"))
        .map_err(|e| format!("staging the arm64 zip in cdk/assets: {e}"))
        .and_then(|_| {
            let mut pack = Command::new("npm");
            pack.args(["pack", "--pack-destination"]).arg(&dist.dir).current_dir(&cdk);
            logged_step("cdk: npm pack (with the arm64 zip)", pack, &dist.log())
        })
        .and_then(|()| {
            let outdir = target_dir().join("cdk-dist-shipped");
            crate::python_wheel(&outdir, "cdk: jsii-pacmak --targets python (with the arm64 zip)", &dist.log())
        });
    // Not left behind, whatever happened: a later `npm pack` in cdk/ must not ship an old zip unsaid.
    let _ = std::fs::remove_dir_all(&assets);
    let wheel = packed?;
    std::fs::copy(&wheel, dist.dir.join(wheel.file_name().expect("a name"))).map_err(|e| e.to_string())?;
    Ok(())
}

/// `SHA256SUMS` over every file in the dist directory, in `sha256sum --check`'s format.
pub fn checksums(dist: &Dist) -> Result {
    let sums = dist.dir.join("SHA256SUMS");
    let _ = std::fs::remove_file(&sums);
    let mut names: Vec<String> = std::fs::read_dir(&dist.dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let output = Command::new("sha256sum")
        .args(&names)
        .current_dir(&dist.dir)
        .output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    if !output.status.success() {
        return Err(format!("sha256sum failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    std::fs::write(&sums, output.stdout).map_err(|e| format!("{}: {e}", sums.display()))?;
    eprintln!("xtask: {} ({} files)", sums.display(), names.len());
    Ok(())
}

pub fn sha256(file: &Path) -> Result<String> {
    let output = Command::new("sha256sum").arg(file).output().map_err(|e| format!("sha256sum: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.split_whitespace().next() {
        Some(hash) if output.status.success() => Ok(hash.to_owned()),
        _ => Err(format!("sha256sum {} failed", file.display())),
    }
}

fn file_size(file: &Path) -> Result<u64> {
    std::fs::metadata(file).map(|m| m.len()).map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "AWSTemplateFormatVersion: \"2010-09-09\"\nGlobals:\n  Function:\n    CodeUri: .\n    Handler: bootstrap\n    Architectures: [arm64]\nResources:\n  A:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: remote-exports-lambda\n    Properties:\n      MemorySize: 128\n  B:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: remote-exports-lambda\n    Properties: {}\n";

    #[test]
    fn the_dist_template_deploys_the_zip_with_no_build() {
        let dist = dist_template(TEMPLATE, "1.2.3", "remote-exports-1.2.3-arm64.zip", Arch::Arm64).unwrap();
        assert!(dist.starts_with("# remote-exports 1.2.3 (arm64)"));
        assert!(dist.contains(
            "    CodeUri: remote-exports-1.2.3-arm64.zip\n    Handler: bootstrap\n    Architectures: [arm64]\n"
        ));
        assert!(!dist.contains("BuildMethod"), "{dist}");
        assert!(dist.contains("    Type: AWS::Serverless::Function\n    Properties:\n      MemorySize: 128\n"));
        let x86 = dist_template(TEMPLATE, "1.2.3", "remote-exports-1.2.3-x86_64.zip", Arch::X86_64).unwrap();
        assert!(x86.contains(
            "    CodeUri: remote-exports-1.2.3-x86_64.zip\n    Handler: bootstrap\n    Architectures: [x86_64]\n"
        ));
    }

    #[test]
    fn a_template_of_another_shape_is_refused_not_half_edited() {
        let moved = TEMPLATE.replace("    CodeUri: .\n", "    CodeUri: ./\n");
        let error = dist_template(&moved, "1.2.3", "z.zip", Arch::Arm64).unwrap_err();
        assert!(error.contains("CodeUri: ."), "{error}");
    }

    #[test]
    fn dist_flags_are_parsed_and_unknown_ones_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Options::parse(&args(&["--twice", "--without-cli"])).unwrap(),
            Options { twice: true, x86_64: false, without_cli: true }
        );
        assert!(Options::parse(&args(&["--arm"])).is_err());
    }
}
