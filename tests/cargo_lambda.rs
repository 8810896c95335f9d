//! The function under `cargo lambda watch`, the emulator Rust Lambda developers use every day. It
//! sends a deadline of 600000 ms since the epoch (a moment in 1970), which the function must not
//! take literally.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use remote_exports_e2e::*;
use serde_json::{Value, json};

/// `cargo lambda watch` and the function it starts, killed together when dropped.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // The whole process group this test created: the watcher, cargo and the function.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto and cargo-lambda; `cargo xtask test` runs it"]
async fn cargo_lambda_watch_runs_create_update_and_delete() {
    use std::os::unix::process::CommandExt;
    let test = "cargo_lambda_watch_runs_create_update_and_delete";
    let moto = moto_endpoint(test);
    let cargo_lambda = PathBuf::from(xtask_var("CARGO_LAMBDA"));
    let account = publisher_account(test);
    let export = format!("booking{account}-TopicArn");
    let publisher = test_support::Publisher::connect(&moto, &account, REGION).await.unwrap();
    publisher.publish("booking", &[pair(&export, "arn:topic")]).await.unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();

    let port = free_port();
    let env_file = std::env::temp_dir().join(format!("remote-exports-{account}.env"));
    std::fs::write(
        &env_file,
        format!(
            "AWS_ENDPOINT_URL={moto}\nAWS_REGION={REGION}\nAWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY=testing\n\
             AWS_EC2_METADATA_DISABLED=true\nALLOW_LOOPBACK_RESPONSE_URL=true\n"
        ),
    )
    .unwrap();
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/remote-exports-lambda");
    let log = std::fs::File::create(std::env::temp_dir().join(format!("remote-exports-{account}-watch.log"))).unwrap();
    let watch = Watch(
        Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()])
            .arg("--env-file")
            .arg(&env_file)
            .current_dir(&crate_dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch starts"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "cargo lambda watch did not listen");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

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
        let event_file = std::env::temp_dir().join(format!("remote-exports-{account}-{request_id}.json"));
        std::fs::write(&event_file, event.to_string()).unwrap();
        let invoked = Command::new(&cargo_lambda)
            .args(["lambda", "invoke", "remote-exports-lambda", "-A", "127.0.0.1", "-P", &port.to_string()])
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
    drop(watch);
}
