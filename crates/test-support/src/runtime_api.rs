use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::BoxError;
use crate::http::{Received, Reply, Server, reply, serve};

const PREFIX: &str = "/2018-06-01/runtime";

/// How the function ended an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Posted to `/response`.
    Response(Value),
    /// Posted to `/error`, as Lambda's async invoke would then retry.
    Error(Value),
}

/// One finished invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub outcome: Outcome,
    /// From the moment the event was handed out to the moment the function answered.
    pub handler_time: Duration,
}

struct Queued {
    id: String,
    body: Vec<u8>,
    deadline_ms: u64,
}

struct State {
    queue: mpsc::UnboundedSender<Queued>,
    next: Mutex<mpsc::UnboundedReceiver<Queued>>,
    waiting: Mutex<HashMap<String, (Instant, oneshot::Sender<Invocation>)>>,
    first_poll: std::sync::Mutex<Option<Instant>>,
    polled: Notify,
    init_error: std::sync::Mutex<Option<Value>>,
    ids: AtomicU64,
}

/// The Lambda Runtime API, as the `provided.al2023` runtime serves it to `bootstrap`.
pub struct RuntimeApi {
    server: Server,
    state: Arc<State>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let (queue, next) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue,
            next: Mutex::new(next),
            waiting: Mutex::new(HashMap::new()),
            first_poll: std::sync::Mutex::new(None),
            polled: Notify::new(),
            init_error: std::sync::Mutex::new(None),
            ids: AtomicU64::new(1),
        });
        let routes = Arc::clone(&state);
        let server = serve(move |request| route(Arc::clone(&routes), request)).await?;
        Ok(RuntimeApi { server, state })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.server.addr.to_string()
    }

    /// Hands `event` to the function with `timeout` as its deadline, and waits for its answer.
    pub async fn invoke(&self, event: &Value, timeout: Duration) -> Result<Invocation, BoxError> {
        self.invoke_raw(serde_json::to_vec(event)?, timeout).await
    }

    /// Like [`RuntimeApi::invoke`] for a body that need not be JSON.
    pub async fn invoke_raw(&self, body: Vec<u8>, timeout: Duration) -> Result<Invocation, BoxError> {
        let id = format!("invocation-{}", self.state.ids.fetch_add(1, Ordering::Relaxed));
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
        let (done, finished) = oneshot::channel();
        self.state.waiting.lock().await.insert(id.clone(), (Instant::now(), done));
        self.state.queue.send(Queued { id: id.clone(), body, deadline_ms: now_ms + timeout.as_millis() as u64 })?;
        // Lambda would kill the function at its deadline; a little grace tells "late" from "never".
        match tokio::time::timeout(timeout + Duration::from_secs(2), finished).await {
            Ok(Ok(invocation)) => Ok(invocation),
            _ => {
                let init_error = self.state.init_error.lock().unwrap().clone();
                Err(format!("{id}: no answer within its {timeout:?} deadline (init error: {init_error:?})").into())
            }
        }
    }

    /// When the function first asked for work: the end of its init phase.
    pub async fn first_poll(&self, wait: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.state.polled.notified();
            if let Some(at) = *self.state.first_poll.lock().unwrap() {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

async fn route(state: Arc<State>, request: Received) -> Reply {
    let path = request.uri.path();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(StatusCode::NOT_FOUND, "unknown path");
    };
    match (&request.method, rest) {
        (&Method::GET, "/invocation/next") => {
            state.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
            state.polled.notify_waiters();
            let Some(queued) = state.next.lock().await.recv().await else {
                return reply(StatusCode::GONE, "shutting down");
            };
            if let Some(entry) = state.waiting.lock().await.get_mut(&queued.id) {
                entry.0 = Instant::now();
            }
            let mut response = reply(StatusCode::OK, queued.body);
            let headers = response.headers_mut();
            headers.insert("lambda-runtime-aws-request-id", queued.id.parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", queued.deadline_ms.to_string().parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:remote-exports".parse().unwrap(),
            );
            headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".parse().unwrap());
            headers.insert("content-type", "application/json".parse().unwrap());
            response
        }
        (&Method::POST, "/init/error") => {
            *state.init_error.lock().unwrap() = Some(json_or_text(&request.body));
            reply(StatusCode::ACCEPTED, "")
        }
        (&Method::POST, rest) => {
            let Some((id, kind)) = rest.strip_prefix("/invocation/").and_then(|r| r.rsplit_once('/')) else {
                return reply(StatusCode::NOT_FOUND, "unknown path");
            };
            let outcome = match kind {
                "response" => Outcome::Response(json_or_text(&request.body)),
                "error" => Outcome::Error(json_or_text(&request.body)),
                _ => return reply(StatusCode::NOT_FOUND, "unknown path"),
            };
            if let Some((started, done)) = state.waiting.lock().await.remove(id) {
                let _ = done.send(Invocation { outcome, handler_time: started.elapsed() });
            }
            reply(StatusCode::ACCEPTED, "")
        }
        _ => reply(StatusCode::NOT_FOUND, "unknown path"),
    }
}

fn json_or_text(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
