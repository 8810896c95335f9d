use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::AwsError;
use crate::http::{Received, Reply, Server, reply, serve};

#[derive(Default)]
struct State {
    calls: Mutex<BTreeMap<String, u32>>,
    delay: Mutex<Option<Duration>>,
    /// Action → the AWS error to answer instead of forwarding.
    failures: Mutex<BTreeMap<String, AwsError>>,
    /// (action, text the request body contains, the error to answer): a refusal for some callers only.
    refusals: Mutex<Vec<(String, String, AwsError)>>,
    /// Every request body, with its action, in order.
    bodies: Mutex<Vec<(String, String)>>,
    /// Access key IDs, secret keys and session tokens that AssumeRole answers carried.
    issued: Mutex<Vec<String>>,
    /// Access key ID → the `SourceIdentity` of the AssumeRole that issued it: the session's identity.
    identities: Mutex<BTreeMap<String, String>>,
    /// (action, SourceIdentity, the error to answer): a publisher's permission policy that scopes
    /// reads by the session's identity (ABAC), as IAM would apply it.
    session_refusals: Mutex<Vec<(String, String, AwsError)>>,
    /// Action → a token bucket: calls beyond its rate are answered `Throttling`, as AWS does.
    limits: Mutex<BTreeMap<String, TokenBucket>>,
    /// Calls answered `Throttling` by a limit, per action.
    throttled: Mutex<BTreeMap<String, u32>>,
    /// (action, from, to): moto's answer to `action`, with `from` replaced by `to`.
    rewrites: Mutex<Vec<(String, String, String)>>,
}

/// `rate` tokens a second, at most `burst` saved up.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: std::time::Instant,
}

impl TokenBucket {
    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Forwards AWS calls to moto and counts them by operation, as seen on the wire: the `Action` of
/// query-protocol calls (STS, CloudFormation), the `X-Amz-Target` of JSON ones (DynamoDB, EventBridge).
pub struct CountingProxy {
    server: Server,
    state: Arc<State>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> std::io::Result<CountingProxy> {
        let state = Arc::new(State::default());
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let routes = Arc::clone(&state);
        let server =
            serve(move |request| forward(Arc::clone(&routes), client.clone(), upstream.clone(), request)).await?;
        Ok(CountingProxy { server, state })
    }

    /// The value for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Calls per action (`AssumeRole`, `ListExports`, …) since the start or the last reset.
    pub fn calls(&self) -> BTreeMap<String, u32> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn count(&self, action: &str) -> u32 {
        self.calls().get(action).copied().unwrap_or(0)
    }

    pub fn reset(&self) {
        self.state.calls.lock().unwrap().clear();
        self.state.bodies.lock().unwrap().clear();
    }

    /// Answer every `action` call with this AWS error instead of forwarding it.
    pub fn fail(&self, action: &str, error: AwsError) {
        self.state.failures.lock().unwrap().insert(action.to_owned(), error);
    }

    /// Answer the `action` calls whose request body contains `text` with this AWS error, and
    /// forward the others: a trust policy that admits some callers and not others.
    pub fn fail_when(&self, action: &str, text: &str, error: AwsError) {
        self.state.refusals.lock().unwrap().push((action.to_owned(), text.to_owned(), error));
    }

    /// Answer the `action` calls signed with credentials of a session whose `SourceIdentity` is
    /// `identity` with this AWS error: a publisher whose permission policy refuses that consumer's
    /// sessions (`aws:SourceIdentity`, `aws:PrincipalTag/ConsumerAccount`), though its trust policy
    /// admits it. Only sessions issued through this proxy are known.
    pub fn refuse_session(&self, action: &str, identity: &str, error: AwsError) {
        self.state.session_refusals.lock().unwrap().push((action.to_owned(), identity.to_owned(), error));
    }

    /// The bodies of every `action` call so far, form-decoded for query-protocol calls: what the
    /// function sent, as AWS would read it.
    pub fn requests(&self, action: &str) -> Vec<String> {
        let bodies = self.state.bodies.lock().unwrap();
        bodies.iter().filter(|(a, _)| a == action).map(|(_, body)| body.clone()).collect()
    }

    /// Throttle the CloudFormation read `action` as AWS would: `rate` calls a second, with bursts of
    /// up to `burst`, the rest answered with CloudFormation's `Throttling`.
    pub fn limit(&self, action: &str, rate: f64, burst: f64) {
        let bucket = TokenBucket { rate, burst, tokens: burst, at: std::time::Instant::now() };
        self.state.limits.lock().unwrap().insert(action.to_owned(), bucket);
    }

    /// How many `action` calls a limit answered `Throttling`.
    pub fn throttled(&self, action: &str) -> u32 {
        self.state.throttled.lock().unwrap().get(action).copied().unwrap_or(0)
    }

    /// Every access key ID, secret access key and session token STS handed out through this proxy:
    /// what a log must never contain.
    pub fn issued_credentials(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    /// Answer `action` with moto's own answer, `from` replaced by `to`: a state moto cannot hold
    /// (a stack whose update is in progress, or whose rollback failed), in moto's real envelope.
    pub fn rewrite(&self, action: &str, from: &str, to: &str) {
        self.state.rewrites.lock().unwrap().push((action.to_owned(), from.to_owned(), to.to_owned()));
    }

    /// Forward every call again, unchanged.
    pub fn heal(&self) {
        self.state.failures.lock().unwrap().clear();
        self.state.refusals.lock().unwrap().clear();
        self.state.rewrites.lock().unwrap().clear();
    }

    /// Hold every call this long before forwarding it: a slow AWS endpoint.
    pub fn delay(&self, delay: Option<Duration>) {
        *self.state.delay.lock().unwrap() = delay;
    }
}

async fn forward(
    state: Arc<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    request: Received,
) -> Reply {
    let target = request.headers.get("x-amz-target").and_then(|t| t.to_str().ok()).map(str::to_owned);
    let action = match &target {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
        None => url::form_urlencoded::parse(&request.body)
            .find(|(key, _)| key == "Action")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| format!("{} {}", request.method, request.uri.path())),
    };
    *state.calls.lock().unwrap().entry(action.clone()).or_default() += 1;
    let body = match &target {
        Some(_) => String::from_utf8_lossy(&request.body).into_owned(),
        None => url::form_urlencoded::parse(&request.body)
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&"),
    };
    state.bodies.lock().unwrap().push((action.clone(), body.clone()));
    let over_limit = state.limits.lock().unwrap().get_mut(&action).is_some_and(|bucket| !bucket.take());
    if over_limit {
        *state.throttled.lock().unwrap().entry(action.clone()).or_default() += 1;
    }
    // Limits are for CloudFormation's reads (see `limit`), so their answer is CloudFormation's throttling.
    let refusal = || {
        let refusals = state.refusals.lock().unwrap();
        refusals.iter().find(|(a, text, _)| *a == action && body.contains(text.as_str())).map(|(_, _, e)| e.clone())
    };
    // The session the call is signed for: `Credential=<access key ID>/<date>/…` in SigV4's header.
    let session_refusal = || {
        let authorization = request.headers.get("authorization").and_then(|a| a.to_str().ok())?;
        let key = authorization.split("Credential=").nth(1)?.split('/').next()?;
        let identity = state.identities.lock().unwrap().get(key).cloned()?;
        let refusals = state.session_refusals.lock().unwrap();
        refusals.iter().find(|(a, who, _)| *a == action && *who == identity).map(|(_, _, e)| e.clone())
    };
    let failure = if over_limit {
        Some(AwsError::cloudformation_throttling())
    } else {
        state.failures.lock().unwrap().get(&action).cloned().or_else(refusal).or_else(session_refusal)
    };
    if let Some(error) = failure {
        let mut answer = reply(StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST), error.body);
        for (name, value) in error.headers {
            answer.headers_mut().insert(name, value.parse().unwrap());
        }
        return answer;
    }
    let delay = *state.delay.lock().unwrap();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let path = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = Request::builder().method(request.method.clone()).uri(format!("{upstream}{path}"));
    for (name, value) in &request.headers {
        outgoing = outgoing.header(name, value);
    }
    let Ok(outgoing) = outgoing.body(Full::new(request.body.clone())) else {
        return reply(StatusCode::BAD_REQUEST, "unforwardable request");
    };
    match client.request(outgoing).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let mut body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            for (_, from, to) in state.rewrites.lock().unwrap().iter().filter(|(a, _, _)| *a == action) {
                body = Bytes::from(String::from_utf8_lossy(&body).replace(from.as_str(), to.as_str()));
            }
            if action == "AssumeRole" {
                let text = String::from_utf8_lossy(&body);
                let mut issued = state.issued.lock().unwrap();
                for tag in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
                    issued.extend(xml_values(&text, tag));
                }
                let identity = url::form_urlencoded::parse(&request.body)
                    .find(|(key, _)| key == "SourceIdentity")
                    .map(|(_, value)| value.into_owned());
                if let (Some(identity), Some(key)) = (identity, xml_values(&text, "AccessKeyId").pop()) {
                    state.identities.lock().unwrap().insert(key, identity);
                }
            }
            let mut answer = reply(parts.status, body);
            for (name, value) in &parts.headers {
                if name != "content-length" && name != "transfer-encoding" {
                    answer.headers_mut().insert(name, value.clone());
                }
            }
            answer
        }
        Err(error) => reply(StatusCode::BAD_GATEWAY, format!("upstream unreachable: {error}")),
    }
}

/// The text of every `<tag>…</tag>` in `xml`.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v.to_owned()))
        .collect()
}
