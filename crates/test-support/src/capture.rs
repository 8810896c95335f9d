use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Notify;

use crate::http::{Received, Reply, Server, reply, serve};

/// One PUT received by the endpoint, whatever it was answered.
#[derive(Debug, Clone)]
pub struct CapturedPut {
    /// The RequestId the key names: which request this answers.
    pub name: String,
    /// The bucket of the path-style URL.
    pub bucket: String,
    /// The decoded object key.
    pub key: String,
    pub query: String,
    /// `None` when the header was absent; `Some("")` when it was sent empty, as S3 needs.
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub body: Vec<u8>,
    /// What the endpoint answered.
    pub status: u16,
    /// When it arrived.
    pub received_at: std::time::Instant,
}

impl CapturedPut {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the response body is JSON")
    }
}

#[derive(Default)]
struct State {
    puts: Mutex<Vec<CapturedPut>>,
    /// Statuses to answer the next PUTs with, before answering 200 again.
    scripted: Mutex<VecDeque<u16>>,
    /// The `Location` of a scripted 3xx answer.
    redirect_to: Mutex<Option<String>>,
    arrived: Notify,
}

/// A stand-in for S3 behind a presigned ResponseURL, path-style on loopback (`/<bucket>/<key>`): records
/// every PUT, answers 200 unless told otherwise.
pub struct ResponseEndpoint {
    server: Server,
    state: Arc<State>,
}

/// Stands in for the presigned query string, so tests can check that it never reaches a log.
pub const SIGNATURE: &str = "X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0-do-not-log";

impl ResponseEndpoint {
    pub async fn start() -> std::io::Result<ResponseEndpoint> {
        let state = Arc::new(State::default());
        let routes = Arc::clone(&state);
        let server = serve(move |request| record(Arc::clone(&routes), request)).await?;
        Ok(ResponseEndpoint { server, state })
    }

    /// A presigned-looking URL in CloudFormation's shape for this request: the response bucket of
    /// the stack's region and the key `<StackId>|<LogicalResourceId>|<RequestId>`.
    pub fn url(&self, stack_id: &str, logical_resource_id: &str, request_id: &str) -> String {
        let region = cloudformation_custom_resource::StackArn::parse(stack_id).map_or("us-east-1", |s| s.region);
        format!(
            "http://127.0.0.1:{}/{}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&{SIGNATURE}",
            self.server.addr.port(),
            crate::response_bucket(region),
            crate::response_key_path(stack_id, logical_resource_id, request_id)
        )
    }

    /// Points `event`'s ResponseURL here, bound to the event's own StackId, LogicalResourceId and RequestId.
    pub fn address(&self, event: &mut Value) {
        let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
        let url = self.url(&field("StackId"), &field("LogicalResourceId"), &field("RequestId"));
        event["ResponseURL"] = Value::String(url);
    }

    /// Where the endpoint listens (plain HTTP): what a [`crate::TlsFront`] passes on to.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// Like [`ResponseEndpoint::address`], but the URL is `https://` on `front`, which passes on here.
    pub fn address_through(&self, front: &crate::TlsFront, event: &mut Value) {
        self.address(event);
        let plain = format!("http://{}", self.server.addr);
        let url =
            event["ResponseURL"].as_str().unwrap_or_default().replacen(&plain, &format!("https://{}", front.addr), 1);
        event["ResponseURL"] = Value::String(url);
    }

    /// Every PUT received, for any request.
    pub fn all_puts(&self) -> Vec<CapturedPut> {
        self.state.puts.lock().unwrap().clone()
    }

    pub fn signature() -> &'static str {
        SIGNATURE
    }

    /// Answer the next PUTs with these statuses (say 503), then 200 again.
    pub fn answer_next_with(&self, statuses: &[u16]) {
        self.state.scripted.lock().unwrap().extend(statuses);
    }

    /// Answer the next PUT with `status` (a 3xx) and `Location: location`, as a bucket that
    /// redirects would; then 200 again.
    pub fn redirect_next_to(&self, status: u16, location: &str) {
        *self.state.redirect_to.lock().unwrap() = Some(location.to_owned());
        self.answer_next_with(&[status]);
    }

    /// Every PUT received for `name`, in order.
    pub fn puts(&self, name: &str) -> Vec<CapturedPut> {
        self.state.puts.lock().unwrap().iter().filter(|p| p.name == name).cloned().collect()
    }

    /// The first PUT for `name` that was accepted (2xx), waiting for it up to `wait`.
    pub async fn delivered(&self, name: &str, wait: Duration) -> Option<CapturedPut> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.state.arrived.notified();
            if let Some(put) = self.puts(name).into_iter().find(|p| (200..300).contains(&p.status)) {
                return Some(put);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }
}

async fn record(state: Arc<State>, request: Received) -> Reply {
    let path = request.uri.path().trim_start_matches('/');
    let Some((bucket, encoded_key)) = path.split_once('/') else {
        return reply(StatusCode::NOT_FOUND, "");
    };
    if request.method != Method::PUT {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "");
    }
    let key = percent_encoding::percent_decode_str(encoded_key).decode_utf8_lossy().into_owned();
    let name = key.rsplit('|').next().unwrap_or_default().to_owned();
    let status = state.scripted.lock().unwrap().pop_front().unwrap_or(200);
    let header = |name: &str| request.headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    state.puts.lock().unwrap().push(CapturedPut {
        name,
        bucket: bucket.to_owned(),
        key,
        query: request.uri.query().unwrap_or("").to_owned(),
        content_type: header("content-type"),
        content_length: header("content-length").and_then(|v| v.parse().ok()),
        body: request.body.to_vec(),
        status,
        received_at: std::time::Instant::now(),
    });
    state.arrived.notify_waiters();
    let mut answer = reply(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), "");
    if (300..400).contains(&status)
        && let Some(location) = state.redirect_to.lock().unwrap().as_deref()
    {
        answer.headers_mut().insert("location", location.parse().expect("a header value"));
    }
    answer
}
