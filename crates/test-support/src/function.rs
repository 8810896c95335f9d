use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How to start the function.
#[derive(Debug, Clone)]
pub struct FunctionOptions {
    pub binary: PathBuf,
    /// `AWS_LAMBDA_RUNTIME_API`.
    pub runtime_api: String,
    /// `AWS_ENDPOINT_URL`: moto, or a proxy in front of it.
    pub aws_endpoint: String,
    /// `AWS_REGION`: the function's own region.
    pub region: String,
    /// Further environment, such as `DEFAULT_ROLE_ARN`.
    pub env: Vec<(String, String)>,
}

/// The real Lambda binary in its own process, started with the environment Lambda gives `bootstrap`
/// (and nothing from the developer's shell), its output kept for inspection.
pub struct Function {
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl FunctionOptions {
    /// The command that starts the function with the environment Lambda gives `bootstrap`.
    pub fn command(&self) -> std::process::Command {
        let options = self;
        let mut command = std::process::Command::new(&options.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &options.runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "remote-exports")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/remote-exports")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]0123456789abcdef")
            .env("AWS_REGION", &options.region)
            .env("AWS_DEFAULT_REGION", &options.region)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &options.aws_endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ALLOW_LOOPBACK_RESPONSE_URL", "true")
            .envs(options.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

impl Function {
    pub fn start(options: &FunctionOptions) -> std::io::Result<Function> {
        let mut command = Command::from(options.command());
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(collect(stdout, Arc::clone(&output))));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(collect(stderr, Arc::clone(&output))));
        }
        Ok(Function { child, output, readers })
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The function's output once `ready` holds for it, or as it is after `within`. The function logs
    /// a request's lines after it delivers the answer, and its output is read as it comes, so a test
    /// that has the answer may not have the lines yet (later still on a busy machine).
    pub async fn logs_when(&self, within: std::time::Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let logs = self.logs();
            if ready(&logs) || tokio::time::Instant::now() >= deadline {
                return logs;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still alive (a crash would end it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the function and returns everything it wrote, read to the end of both pipes.
    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        self.logs()
    }
}

async fn collect(stream: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut output = into.lock().unwrap();
        output.push_str(&line);
        output.push('\n');
    }
}
