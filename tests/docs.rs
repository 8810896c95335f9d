//! The manual (README.md, the book under docs/, the protocol crate's README): every relative link
//! resolves, every chapter is in the book's summary, the README stays a front door, and every
//! template or resource fragment in it passes cfn-lint.

use std::path::{Path, PathBuf};

use remote_exports_e2e::xtask_var;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The manual's pages.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("crates/cloudformation-custom-resource/README.md")];
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(root().join("docs/src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    pages.extend(chapters);
    pages
}

/// The text outside code fences and inline code spans, line by line.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Drop `code spans`: what is inside them is not a link.
            let kept: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
            lines.push(kept);
        }
    }
    lines
}

/// `[label](target)` targets.
fn links(text: &str) -> Vec<String> {
    let link = regex_lite::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    prose(text).iter().flat_map(|line| link.captures_iter(line).map(|c| c[1].to_owned()).collect::<Vec<_>>()).collect()
}

/// A heading's anchor as mdBook and GitHub make it: lower case, spaces to hyphens, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    prose(&text).iter().filter_map(|l| l.strip_prefix('#').map(|h| anchor(h.trim_start_matches('#')))).collect()
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let resolved = if file.is_empty() { page.clone() } else { page.parent().unwrap().join(file) };
            assert!(resolved.exists(), "{}: the link to {target} leads nowhere", page.display());
            if let Some(fragment) = fragment {
                assert!(
                    anchors(&resolved).iter().any(|a| a == fragment),
                    "{}: {} has no heading #{fragment}",
                    page.display(),
                    resolved.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} links were checked");
}

#[test]
fn every_chapter_is_in_the_summary_and_the_readme_is_a_front_door() {
    let summary = std::fs::read_to_string(root().join("docs/src/SUMMARY.md")).unwrap();
    let listed = links(&summary);
    for page in pages().iter().filter(|p| p.starts_with(root().join("docs/src"))) {
        let name = page.file_name().unwrap().to_str().unwrap();
        assert!(name == "SUMMARY.md" || listed.iter().any(|l| l == name), "{name} is not in SUMMARY.md");
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines: the reference belongs in docs/");
    for section in ["## Should you use it?", "## Two commands", "## Deploy it in five steps", "## The manual"] {
        assert!(readme.contains(section), "README.md lacks {section}");
    }
}

/// ```yaml blocks that are a template, or resources (top-level keys whose value has a `Type`).
/// The README's opening (after its title, up to "## Two commands") as the book's introduction reads it:
/// under the heading "# What it is", with the README's `docs/src/` links relative to the book.
fn readme_opening_for_the_book() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let opening = readme.split_once('\n').unwrap().1;
    let opening = &opening[..opening.find("\n## Two commands").expect("the README has a Two commands section")];
    format!("# What it is\n{}\n", opening.replace("](docs/src/", "](").trim_end())
}

/// The book's introduction is the README's opening, not a copy that drifts: `cargo xtask test` fails
/// when they differ, and this test's message is the introduction to paste.
#[test]
fn the_introduction_is_the_readmes_opening() {
    let introduction = std::fs::read_to_string(root().join("docs/src/introduction.md")).unwrap();
    let expected = readme_opening_for_the_book();
    assert!(introduction == expected, "docs/src/introduction.md must be the README's opening:\n{expected}");
}

fn templates(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, fence) if fence.starts_with("```yaml") => current = Some(Vec::new()),
            (Some(block), "```") => {
                let yaml = block.join("\n");
                let top_level: Vec<&str> =
                    block.iter().copied().filter(|l| !l.starts_with([' ', '#']) && !l.is_empty()).collect();
                if top_level.iter().any(|l| l.starts_with("Resources:") || l.starts_with("AWSTemplateFormatVersion")) {
                    blocks.push(yaml);
                } else if !top_level.is_empty()
                    && top_level.iter().all(|l| l.ends_with(':'))
                    && block.iter().any(|l| l.starts_with("  Type: "))
                {
                    let indented: Vec<String> = block.iter().map(|l| format!("  {l}")).collect();
                    blocks
                        .push(format!("AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n{}", indented.join("\n")));
                }
                current = None;
            }
            (Some(block), _) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// A fragment may refer to resources it does not show (E1010, and cfn-lint's W3694 about the same
/// reference); every other check applies.
#[test]
#[ignore = "needs cfn-lint, which `cargo xtask test` installs"]
fn every_template_in_the_manual_passes_cfn_lint() {
    let cfn_lint = xtask_var("CFN_LINT");
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let mut linted = 0;
    for page in pages() {
        for (n, template) in templates(&std::fs::read_to_string(&page).unwrap()).into_iter().enumerate() {
            let name = format!("{}-{n}.yaml", page.file_stem().unwrap().to_str().unwrap());
            let file = dir.join(&name);
            std::fs::write(&file, &template).unwrap();
            let output = std::process::Command::new(&cfn_lint)
                .args(["--ignore-checks", "E1010", "W3694", "--"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{} (block {n}) fails cfn-lint:\n{}\n{template}",
                page.display(),
                String::from_utf8_lossy(&output.stdout)
            );
            linted += 1;
        }
    }
    assert!(linted >= 2, "only {linted} templates were found in the manual");
}

/// The release workflow is the manual's "Releasing" procedure: on a version tag, it checks the tag, tests,
/// builds the release twice-compared, checks advisories, tries what cannot be undone, then uploads to
/// each place the manual names.
#[test]
fn the_release_workflow_runs_the_procedure_the_manual_describes() {
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let workflow: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(workflow["on"]["push"]["tags"], serde_json::json!(["v*"]));
    let steps = workflow["jobs"]["release"]["steps"].as_array().unwrap();
    let runs: Vec<String> = steps
        .iter()
        .map(|step| format!("{} {}", step["run"].as_str().unwrap_or(""), step["uses"].as_str().unwrap_or("")))
        .collect();
    let position = |needle: &str| {
        runs.iter().position(|run| run.contains(needle)).unwrap_or_else(|| panic!("no step runs {needle:?}"))
    };
    let order = [
        "test \"v$version\" = \"$GITHUB_REF_NAME\"",
        "cargo xtask test",
        "cargo xtask dist --twice",
        "check advisories",
        "cargo publish --locked --dry-run -p remote-exports-shared -p cloudformation-custom-resource",
        "gh release create",
        "npm publish \"target/",
        "pypa/gh-action-pypi-publish",
        "for crate in remote-exports-shared cloudformation-custom-resource",
        "sam\" publish",
        "CodeS3ObjectVersion",
    ];
    let positions: Vec<usize> = order.iter().map(|needle| position(needle)).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "out of order: {order:?} at {positions:?}");
    let manual = std::fs::read_to_string(root().join("docs/src/releasing.md")).unwrap();
    for documented in
        ["cargo xtask dist --twice", "check advisories", "npm publish", "twine upload", "cargo publish", "sam publish"]
    {
        assert!(manual.contains(documented), "releasing.md does not say {documented}");
    }
}
