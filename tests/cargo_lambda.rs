//! The function under `cargo lambda watch`, the emulator Rust Lambda developers use every day, in
//! its `--only-lambda-apis` mode: the emulator serves the runtime API and `cargo lambda invoke`, and
//! the function is started as from an IDE. The binary is the one every end-to-end test runs (in CI
//! the deployed arm64 bootstrap), not a third build of the package. The emulator sends a deadline of
//! 600000 ms since the epoch (a moment in 1970), which the function must not take literally.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// A process killed when dropped: the emulator, or the function it serves.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto and cargo-lambda; `cargo xtask test` runs it"]
async fn cargo_lambda_watch_runs_create_update_and_delete() {
    let test = "cargo_lambda_watch_runs_create_update_and_delete";
    let moto = moto_endpoint(test);
    let cargo_lambda = PathBuf::from(xtask_var("CARGO_LAMBDA"));
    let account = publisher_account(test);
    let export = format!("booking{account}-TopicArn");
    let publisher = test_support::Publisher::connect(&moto, &account, REGION).await.unwrap();
    publisher.publish("booking", &[pair(&export, "arn:topic")]).await.unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();

    let port = free_port();
    // The emulator reads the package's metadata, so it starts in the function's crate.
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/remote-exports-lambda");
    let files = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(files.path().join("watch.log")).unwrap();
    let _watch = Killed(
        Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(&crate_dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cargo lambda watch starts"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "cargo lambda watch did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the emulator prints that the function needs; `_` is its one unnamed function.
    let function_log = files.path().join("watched-function.log");
    let _function = Killed(
        Command::new(lambda_binary())
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
            .envs([
                ("AWS_ENDPOINT_URL", moto.as_str()),
                ("AWS_REGION", REGION),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("ALLOW_LOOPBACK_RESPONSE_URL", "true"),
            ])
            .stdout(std::fs::File::create(&function_log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the function starts"),
    );

    let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/watched/0");
    let properties = json!({"RoleArn": role_arn(&account), "ExportNames": [export]});
    for (kind, request_id) in [("Create", "watch-create"), ("Update", "watch-update"), ("Delete", "watch-delete")] {
        let mut event = create_event(&stack_id, request_id, properties.clone());
        event["RequestType"] = json!(kind);
        if kind != "Create" {
            event["PhysicalResourceId"] = json!(format!("remote-exports:{account}:{REGION}"));
            event["OldResourceProperties"] = properties.clone();
        }
        responses.address(&mut event);
        let event_file = files.path().join(format!("{request_id}.json"));
        std::fs::write(&event_file, event.to_string()).unwrap();
        let invoked = Command::new(&cargo_lambda)
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &port.to_string()])
            .arg("--data-file")
            .arg(&event_file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&invoked.stdout);
        assert!(invoked.status.success(), "{kind}: {stdout}\n{}", String::from_utf8_lossy(&invoked.stderr));
        let put = responses.delivered(request_id, Duration::from_secs(10)).await.expect("an answer was PUT");
        let answer: Value = put.json();
        println!("cargo lambda invoke {kind}: {} {}", answer["Status"], answer["Data"]);
        assert_eq!(answer["Status"], "SUCCESS", "{kind}: {answer}");
        if kind != "Delete" {
            assert_eq!(answer["Data"][&export], "arn:topic", "{kind}: {answer}");
        }
        assert_eq!(responses.puts(request_id).len(), 1, "{kind}: exactly one answer");
    }
}
