//! What every end-to-end test needs: moto (started by `cargo xtask test`), the real Lambda binary
//! behind a Runtime API emulator, a counting proxy to moto and a ResponseURL endpoint.
//!
//! End-to-end tests are `#[ignore]`d, so that a plain `cargo test` reports them as ignored rather
//! than passed; `cargo xtask test` runs them with `--include-ignored` against its own moto, and
//! there a missing moto is a failure.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
pub use test_support::{
    AuditInbox, AwsError, CONSUMER_ACCOUNT, CapturedPut, CountingProxy, Function, FunctionOptions, HookPayloads,
    Invocation, Moto, MotoResponses, Outcome, Publisher, ReadsTable, ResponseEndpoint, RuntimeApi, SnapshotTable,
    TestPki, TlsFront, create_event, reader_item,
};

/// The consumer stack's region, where the function runs.
pub const REGION: &str = "eu-west-1";
/// Long enough for a lookup against moto on a busy 2-core machine.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// moto's endpoint, from `cargo xtask test`. A test that was asked to run without it fails.
pub fn moto_endpoint(test: &str) -> String {
    std::env::var("MOTO_ENDPOINT")
        .unwrap_or_else(|_| panic!("{test} needs moto: MOTO_ENDPOINT is not set. Run `cargo xtask test`."))
}

/// A variable `cargo xtask test` sets for the end-to-end tests.
pub fn xtask_var(name: &str) -> std::ffi::OsString {
    std::env::var_os(name).unwrap_or_else(|| panic!("{name} is not set. Run `cargo xtask test`."))
}

/// A publisher account of this test's own, so that tests sharing one moto never see each other.
pub fn publisher_account(test: &str) -> String {
    static RUN: OnceLock<u128> = OnceLock::new();
    let run = RUN.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos());
    let mut hasher = DefaultHasher::new();
    (test, run).hash(&mut hasher);
    format!("{:012}", 200_000_000_000 + hasher.finish() % 700_000_000_000)
}

pub fn role_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/remote-exports-reader")
}

/// The Lambda binary under test: `REMOTE_EXPORTS_LAMBDA_BIN` (any build, such as the arm64 bootstrap
/// behind qemu-user), else the debug build that `cargo xtask test` made.
pub fn lambda_binary() -> PathBuf {
    std::env::var_os("REMOTE_EXPORTS_LAMBDA_BIN").map_or_else(|| debug_binary("remote-exports-lambda"), PathBuf::from)
}

/// A binary of this workspace's debug build, which must exist.
pub fn debug_binary(name: &str) -> PathBuf {
    let binary = debug_binary_path(name);
    assert!(binary.exists(), "{} is missing: run `cargo build --workspace` first", binary.display());
    binary
}

/// Where the debug build puts a binary of this workspace.
pub fn debug_binary_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug").join(name)
}

/// One function process with everything around it.
pub struct World {
    pub moto: String,
    pub runtime: RuntimeApi,
    pub responses: ResponseEndpoint,
    pub proxy: CountingProxy,
    pub function: Function,
}

impl World {
    /// Starts the function with extra environment.
    pub async fn start(test: &str, env: &[(&str, &str)]) -> World {
        World::start_in(test, REGION, env).await
    }

    /// Starts the function as deployed in `region`.
    pub async fn start_in(test: &str, region: &str, env: &[(&str, &str)]) -> World {
        let moto = moto_endpoint(test);
        let runtime = RuntimeApi::start().await.unwrap();
        let responses = ResponseEndpoint::start().await.unwrap();
        let proxy = CountingProxy::start(&moto).await.unwrap();
        let function = Function::start(&FunctionOptions {
            binary: lambda_binary(),
            runtime_api: runtime.address(),
            aws_endpoint: proxy.url(),
            region: region.to_owned(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
        .unwrap();
        World { moto, runtime, responses, proxy, function }
    }

    /// A publisher seeded with `exports` (name, value) in `account` and `region`.
    pub async fn publish(&self, account: &str, region: &str, stack: &str, exports: &[(String, String)]) -> Publisher {
        let publisher = Publisher::connect(&self.moto, account, region).await.unwrap();
        publisher.publish(stack, exports).await.unwrap();
        publisher
    }

    /// A custom-resource event as CloudFormation sends it, for the request `name` of a stack in the
    /// consumer account, with a ResponseURL bound to it.
    pub fn event(&self, request_type: &str, name: &str, properties: Value) -> Value {
        self.event_from(CONSUMER_ACCOUNT, request_type, name, properties)
    }

    /// The same for a stack in `account`.
    pub fn event_from(&self, account: &str, request_type: &str, name: &str, properties: Value) -> Value {
        let stack_id =
            format!("arn:aws:cloudformation:{REGION}:{account}:stack/airmiles/6f1c9a70-c7b1-11f0-8d2e-0a1b2c3d4e5f");
        self.event_for(&stack_id, request_type, name, properties)
    }

    /// The same for the stack `stack_id`, in any partition and region.
    pub fn event_for(&self, stack_id: &str, request_type: &str, name: &str, properties: Value) -> Value {
        let mut event = create_event(stack_id, name, properties);
        event["RequestType"] = json!(request_type);
        if request_type != "Create" {
            event["PhysicalResourceId"] = json!("remote-exports:unknown:eu-west-1");
        }
        if request_type == "Update" {
            event["OldResourceProperties"] = event["ResourceProperties"].clone();
        }
        self.responses.address(&mut event);
        event
    }

    /// Invokes the function and returns how the invocation ended and the delivered answer.
    pub async fn send(&self, event: &Value) -> (Invocation, CapturedPut) {
        let name = event["RequestId"].as_str().unwrap().to_owned();
        let invocation = self
            .runtime
            .invoke(event, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{e}\nlogs:\n{}", self.function.logs()));
        let put = self
            .responses
            .delivered(&name, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no answer delivered for {name}; logs:\n{}", self.function.logs()));
        (invocation, put)
    }

    /// `send`, returning the answer's body as JSON.
    pub async fn answer(&self, event: &Value) -> Value {
        self.send(event).await.1.json()
    }
}

/// `count` function processes sharing one export snapshot table, as the containers of one deployment
/// do under a burst of consumers.
pub async fn snapshot_worlds(test: &str, count: usize) -> (SnapshotTable, Vec<World>) {
    let name = format!("cache-{}", publisher_account(test));
    let table = SnapshotTable::create(&moto_endpoint(test), REGION, &name).await.unwrap();
    let mut worlds = Vec::new();
    for n in 0..count {
        worlds.push(World::start(&format!("{test}-{n}"), &[("SNAPSHOT_TABLE", table.name.as_str())]).await);
    }
    (table, worlds)
}

/// Each world answers a Create of `properties` at once: one consumer stack each.
pub async fn answer_at_once(worlds: &[World], properties: &Value) -> Vec<Value> {
    let events: Vec<Value> =
        worlds.iter().enumerate().map(|(n, w)| w.event("Create", &format!("c{n}"), properties.clone())).collect();
    futures_util::future::join_all(worlds.iter().zip(&events).map(|(world, event)| world.answer(event))).await
}

/// The Reason of an answer that must be FAILED.
pub fn reason(answer: &Value) -> &str {
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    answer["Reason"].as_str().unwrap()
}

/// The value of the metric `name` in each EMF document of a function's log, in order.
pub fn metric(logs: &str, name: &str) -> Vec<u64> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|document| document[name].as_u64())
        .collect()
}

/// A CLI run's stdout as JSON, or a panic that shows what it printed.
pub fn json_out(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

/// `count` exports named `<prefix><i>` with values `value-<i>`.
pub fn numbered(prefix: &str, count: usize) -> Vec<(String, String)> {
    (0..count).map(|i| (format!("{prefix}{i}"), format!("value-{i}"))).collect()
}

pub fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// Runs the `remote-exports` CLI as a user would, against `endpoint` with moto's `testing` keys and
/// nothing else from this environment, plus `extra_env`.
pub fn cli(endpoint: &str, args: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(debug_binary("remote-exports"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(extra_env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// The EventBridge schedule's event, as `events/scheduled-audit.json` has it.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": CONSUMER_ACCOUNT,
        "time": "2026-11-23T12:00:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{CONSUMER_ACCOUNT}:rule/remote-exports-audit")],
        "detail": {}
    })
}

/// The audit function: its own process in `audit` mode, as the template deploys it.
pub async fn audit_function(test: &str, env: &[(&str, &str)]) -> World {
    let mut env = env.to_vec();
    env.push(("FUNCTION_MODE", "audit"));
    World::start(&format!("{test}-audit"), &env).await
}

/// Runs one audit and returns its result (the counts EventBridge's invocation gets back).
pub async fn run_audit(audit: &World) -> Value {
    let invocation = audit.runtime.invoke(&scheduled_event(), TIMEOUT).await.unwrap();
    match invocation.outcome {
        Outcome::Response(body) => body,
        other => panic!("{other:?}\n{}", audit.function.logs()),
    }
}
