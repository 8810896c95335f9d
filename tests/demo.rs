//! The README's demo, run as a user runs it, and the sample events it feeds to the real binary.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[test]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
fn the_demo_tells_the_booking_airmiles_story_and_cleans_up() {
    let demo = remote_exports_e2e::xtask_var("REMOTE_EXPORTS_DEMO_BIN");
    let moto_server = remote_exports_e2e::xtask_var("MOTO_SERVER");
    let run = || {
        Command::new(&demo)
            .arg("--moto-server")
            .arg(&moto_server)
            .arg("--lambda")
            .arg(remote_exports_e2e::lambda_binary())
            .arg("--cli")
            .arg(remote_exports_e2e::debug_binary("remote-exports"))
            .output()
            .unwrap()
    };
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        stdout.contains(
            "!GetAtt Lookup.booking-lambda-BookingTopicArn  →  arn:aws:sns:eu-west-1:222222222222:BookingTopic\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("→  arn:aws:sns:eu-west-1:222222222222:BookingTopicV2"), "{stdout}");
    assert!(stdout.contains("✓ the function refused"), "{stdout}");
    for step in [
        "✓ Booking can see that Airmiles reads it",
        "✓ a plain stack output, read without an export",
        "✓ payments-api does not exist yet: its Defaults entry answered, and the stack did not fail",
        "✓ an SSM parameter of another account, by name, through the same role",
        "✓ stale flags Airmiles and exits 1",
        "✓ a \"Remote export changed\" event for Airmiles",
        "✓ the change check put one event at once, for Airmiles alone",
        "✓ one Query, no Scan",
        "✓ the scheduled audit, the safety net (events/scheduled-audit.json), finds Airmiles stale too, and alerts nobody twice",
        "✓ a change set of the previous template, only RemoteExportsRefresh changed",
        "✓ a schedule sent to the custom-resource function is refused: only AuditFunction audits",
        "✓ stale is clean again and exits 0",
        "✓ nobody reads the export any more",
    ] {
        assert!(stdout.contains(step), "missing {step}:\n{stdout}");
    }
    assert!(!stdout.contains("NotTheBookingTopic\"\n  }"), "the decoy reached Data:\n{stdout}");
    // Idempotent: a second run starts from a clean moto and passes again.
    assert!(run().status.success(), "a second demo run failed");
}

#[test]
fn sample_events_carry_every_field_cloudformation_sends() {
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(events_dir().join(name)).unwrap()).unwrap()
    };
    let (create, update, delete) = (read("create.json"), read("update.json"), read("delete.json"));
    for (event, kind) in [(&create, "Create"), (&update, "Update"), (&delete, "Delete")] {
        assert_eq!(event["RequestType"], kind);
        for field in [
            "ServiceToken",
            "ResponseURL",
            "StackId",
            "RequestId",
            "LogicalResourceId",
            "ResourceType",
            "ResourceProperties",
        ] {
            assert!(event[field].is_string() || event[field].is_object(), "{kind} lacks {field}");
        }
        assert_eq!(event["ResourceType"], "Custom::RemoteExports");
        // Bound to the event itself, exactly as the deployed function checks it, by a function in the
        // ServiceToken's region (CloudFormation invokes only a ServiceToken in the stack's region).
        let request = cloudformation_custom_resource::Request::parse(event.clone()).unwrap();
        let function_region = event["ServiceToken"].as_str().unwrap().split(':').nth(3).unwrap();
        let policy = cloudformation_custom_resource::UrlPolicy::strict().in_region(function_region);
        let bound = cloudformation_custom_resource::ResponseUrl::bind(&request.reply, &policy);
        assert!(bound.is_ok(), "{kind}: {bound:?}");
        assert!(
            event["ResourceProperties"]["ServiceToken"].is_string(),
            "CloudFormation repeats ServiceToken in the properties"
        );
    }
    assert_eq!(update["OldResourceProperties"], create["ResourceProperties"]);
    assert_ne!(
        update["ResourceProperties"]["Refresh"], create["ResourceProperties"]["Refresh"],
        "the Update is forced by Refresh"
    );
    assert_eq!(update["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1", "the ID that Create returns");
    assert_eq!(delete["PhysicalResourceId"], update["PhysicalResourceId"]);
    let scheduled = read("scheduled-audit.json");
    assert_eq!(
        (scheduled["source"].as_str(), scheduled["detail-type"].as_str()),
        (Some("aws.events"), Some("Scheduled Event"))
    );
    assert!(scheduled.get("ResponseURL").is_none(), "a schedule carries nothing to answer");
}

#[test]
fn the_serverless_repo_metadata_names_real_files_and_the_crates_version() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let field = |name: &str| {
        let line = template.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("no {name}"));
        line.trim_start().trim_start_matches(name).trim().to_owned()
    };
    assert_eq!(field("SemanticVersion:"), env!("CARGO_PKG_VERSION"));
    for file in [field("LicenseUrl:"), field("ReadmeUrl:")] {
        assert!(root.join(&file).is_file(), "{file} is missing");
    }
}
