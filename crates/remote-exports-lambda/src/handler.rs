use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use cfn_custom_resource::{
    Deadline, DeliveryError, EncodeError, Interrupted, MAX_PHYSICAL_ID_BYTES, MalformedRequest, ReplyTarget, Request,
    RequestKind, Response, ResponseTransport, ResponseUrl, ResponseUrlError, RetryPolicy, StackArn, Status, deliver,
    panic_message, run_guarded, truncate_utf8,
};
use remote_exports_core::{ExportSource, LookupError, LookupPlan, Origin, ResourceProperties, Selected, lookup};
use serde_json::Value;

use crate::Settings;

/// Answers custom-resource requests: exactly one answer per request, before the deadline.
pub struct Handler<S, T> {
    settings: Arc<Settings>,
    exports: Arc<S>,
    transport: T,
}

/// The answer decided for one request, before it is sent.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `None` when the event was not a valid request.
    pub kind: Option<RequestKind>,
    pub reply: ReplyTarget,
    pub response: Response,
    /// The exact bytes to PUT, within CloudFormation's 4096-byte limit.
    pub body: Vec<u8>,
    /// Exports read from the source and pages requested (zero when no lookup ran).
    pub scanned: usize,
    pub pages: u32,
}

/// How a delivered request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub status: Status,
    pub physical_resource_id: String,
    pub exports: usize,
    pub delivery_attempts: u32,
}

/// CloudFormation could not be told the outcome. Only these become an error for the Lambda runtime,
/// because an error makes Lambda run the whole request again.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HandleError {
    #[error("{0}; no ResponseURL to answer it")]
    Unanswerable(MalformedRequest),
    #[error("refusing to send the answer: {0}")]
    ResponseUrlRefused(ResponseUrlError),
    #[error("{0}")]
    Undelivered(DeliveryError),
}

impl<S: ExportSource + 'static, T: ResponseTransport> Handler<S, T> {
    pub fn new(settings: Settings, exports: S, transport: T) -> Self {
        Handler { settings: Arc::new(settings), exports: Arc::new(exports), transport }
    }

    /// Decides the answer to `event` and delivers it to its ResponseURL.
    pub async fn handle(&self, event: Value, deadline: Deadline) -> Result<Handled, HandleError> {
        let started = Instant::now();
        let (answer, url) = match Request::parse(event) {
            Ok(request) => {
                // Checked before any work: a refused URL gets nothing, not even the lookup's effort.
                let url = self.response_url(&request.reply)?;
                (self.answer(request, deadline).await, url)
            }
            Err(malformed) => {
                let Some(reply) = malformed.reply.as_deref().cloned() else {
                    tracing::error!(reason = %malformed.reason, "event is not a custom-resource request and has no ResponseURL");
                    return Err(HandleError::Unanswerable(malformed));
                };
                let url = self.response_url(&reply)?;
                (answer_malformed(reply, &malformed), url)
            }
        };
        let delivered =
            deliver(&self.transport, &url, &answer.body, deadline.delivery_deadline(), RetryPolicy::default()).await;
        let response = &answer.response;
        let request_type = answer.kind.map_or("Invalid", RequestKind::as_str);
        let duration_ms = started.elapsed().as_millis() as u64;
        match delivered {
            Ok(delivery) => {
                tracing::info!(
                    request_type,
                    stack_id = %answer.reply.stack_id,
                    logical_resource_id = %answer.reply.logical_resource_id,
                    physical_resource_id = %response.physical_resource_id,
                    outcome = status_name(response.status),
                    exports = response.data.len(),
                    scanned = answer.scanned,
                    pages = answer.pages,
                    response_bytes = answer.body.len(),
                    delivery_attempts = delivery.attempts,
                    duration_ms,
                    reason = response.reason.as_deref().unwrap_or(""),
                    "answered"
                );
                Ok(Handled {
                    status: response.status,
                    physical_resource_id: response.physical_resource_id.clone(),
                    exports: response.data.len(),
                    delivery_attempts: delivery.attempts,
                })
            }
            Err(error) => {
                tracing::error!(
                    request_type,
                    stack_id = %answer.reply.stack_id,
                    logical_resource_id = %answer.reply.logical_resource_id,
                    outcome = status_name(response.status),
                    response_url = %url,
                    duration_ms,
                    error = %error,
                    "answer not delivered"
                );
                Err(HandleError::Undelivered(error))
            }
        }
    }

    fn response_url(&self, reply: &ReplyTarget) -> Result<ResponseUrl, HandleError> {
        ResponseUrl::parse(&reply.response_url, self.settings.url_policy).map_err(|error| {
            tracing::error!(stack_id = %reply.stack_id, logical_resource_id = %reply.logical_resource_id, %error, "ResponseURL refused");
            HandleError::ResponseUrlRefused(error)
        })
    }

    /// Decides the answer to a request without sending it. Never fails: every problem becomes FAILED.
    pub async fn answer(&self, request: Request, deadline: Deadline) -> Answer {
        let reply = request.reply;
        let kind = request.kind;
        if kind == RequestKind::Delete {
            // Nothing was created, so there is nothing to delete: no call, no validation, always SUCCESS.
            let physical_id = given_or(&reply, || format!("remote-exports:deleted:{}", reply.logical_resource_id));
            return finish(kind, &reply, Response::success(&reply, physical_id, Default::default(), false), 0, 0);
        }
        let planned =
            catch_unwind(AssertUnwindSafe(|| self.plan(&request.properties, &reply))).unwrap_or_else(|panic| {
                Err(LookupError::Internal(format!("panic while reading properties: {}", panic_message(panic.as_ref()))))
            });
        // A failed Update keeps the current ID, so that failing is never mistaken for a replacement.
        let failure_id = |plan: Option<&LookupPlan>| match kind {
            RequestKind::Update => given_or(&reply, || fallback_id(&reply)),
            _ => plan.map_or_else(|| fallback_id(&reply), |p| p.source.physical_resource_id()),
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(error) => {
                return finish(kind, &reply, Response::failed(&reply, failure_id(None), error.to_string()), 0, 0);
            }
        };
        let exports = Arc::clone(&self.exports);
        let work_plan = plan.clone();
        let result = run_guarded(deadline.work_deadline(), async move { lookup(&*exports, &work_plan).await })
            .await
            .unwrap_or_else(|interrupted| {
                Err(match interrupted {
                    Interrupted::TimedOut { waited_ms } => {
                        LookupError::TimedOut { source_name: plan.source.describe(), waited_ms }
                    }
                    Interrupted::Panicked { message } => {
                        LookupError::Internal(format!("panic during lookup: {message}"))
                    }
                })
            });
        let Selected { data, scanned, pages } = match result {
            Ok(selected) => selected,
            Err(error) => {
                return finish(
                    kind,
                    &reply,
                    Response::failed(&reply, failure_id(Some(&plan)), error.to_string()),
                    0,
                    0,
                );
            }
        };
        let exports_selected = data.len();
        let success = Response::success(&reply, plan.source.physical_resource_id(), data, plan.no_echo);
        match success.encode() {
            Ok(body) => Answer { kind: Some(kind), reply, response: success, body, scanned, pages },
            Err(EncodeError::TooLarge { bytes }) => {
                let reason = LookupError::ResponseTooLarge { bytes, exports: exports_selected }.to_string();
                finish(kind, &reply, Response::failed(&reply, failure_id(Some(&plan)), reason), scanned, pages)
            }
            Err(error) => {
                let reason = LookupError::Internal(error.to_string()).to_string();
                finish(kind, &reply, Response::failed(&reply, fallback_id(&reply), reason), scanned, pages)
            }
        }
    }

    fn plan(&self, properties: &Value, reply: &ReplyTarget) -> Result<LookupPlan, LookupError> {
        let governance = self.settings.governance.as_ref().map_err(|error| LookupError::Config(error.clone()))?;
        let stack = StackArn::parse(&reply.stack_id);
        let origin = Origin {
            stack_region: stack.map(|s| s.region),
            function_region: self.settings.function_region.as_deref(),
            stack_name: stack.map(|s| s.stack_name),
            logical_resource_id: &reply.logical_resource_id,
        };
        LookupPlan::new(ResourceProperties::parse(properties)?, governance, origin)
    }
}

fn answer_malformed(reply: ReplyTarget, malformed: &MalformedRequest) -> Answer {
    let physical_id = given_or(&reply, || "remote-exports:invalid-request".to_owned());
    let response = Response::failed(&reply, physical_id, format!("Invalid request: {}.", malformed.reason));
    let body = response.encode().expect("a FAILED answer with a valid ID always fits");
    Answer { kind: None, reply, response, body, scanned: 0, pages: 0 }
}

/// Encodes an answer whose size is known to be safe (FAILED shortens its Reason; Delete has no Data).
fn finish(kind: RequestKind, reply: &ReplyTarget, response: Response, scanned: usize, pages: u32) -> Answer {
    let body = response.encode().expect("FAILED and Delete answers always fit");
    Answer { kind: Some(kind), reply: reply.clone(), response, body, scanned, pages }
}

/// The ID CloudFormation gave, when it is one we can echo.
fn given_or(reply: &ReplyTarget, fallback: impl FnOnce() -> String) -> String {
    reply
        .physical_resource_id
        .as_deref()
        .filter(|id| !id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES)
        .map_or_else(fallback, str::to_owned)
}

/// A deterministic ID for a Create that failed before its source was known; the rollback's Delete
/// of it is a no-op like every Delete.
fn fallback_id(reply: &ReplyTarget) -> String {
    let id = format!("remote-exports:failed:{}", reply.logical_resource_id);
    truncate_utf8(&id, MAX_PHYSICAL_ID_BYTES).to_owned()
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Success => "SUCCESS",
        Status::Failed => "FAILED",
    }
}

impl From<HandleError> for lambda_runtime::Diagnostic {
    fn from(error: HandleError) -> Self {
        let error_type = match error {
            HandleError::Unanswerable(_) => "RemoteExports.Unanswerable",
            HandleError::ResponseUrlRefused(_) => "RemoteExports.ResponseUrlRefused",
            HandleError::Undelivered(_) => "RemoteExports.Undelivered",
        };
        lambda_runtime::Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfn_custom_resource::TransportError;
    use remote_exports_core::{Export, Source, SourceError, SourceStep};
    use serde_json::json;
    use std::ops::ControlFlow;
    use std::sync::Mutex;
    use std::time::Duration;

    /// How the fake source behaves.
    #[derive(Clone)]
    enum Behaviour {
        Exports(Vec<(String, String)>),
        Fail(SourceError),
        Hang,
        Panic,
    }

    struct FakeSource(Behaviour, Mutex<u32>);

    impl ExportSource for FakeSource {
        async fn scan_exports(
            &self,
            _: &Source,
            on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
        ) -> Result<u32, SourceError> {
            *self.1.lock().unwrap() += 1;
            match &self.0 {
                Behaviour::Exports(list) => {
                    let _ = on_page(list.iter().map(|(n, v)| Export { name: n.clone(), value: v.clone() }).collect());
                    Ok(1)
                }
                Behaviour::Fail(error) => Err(error.clone()),
                Behaviour::Hang => std::future::pending().await,
                Behaviour::Panic => panic!("source exploded"),
            }
        }
    }

    #[derive(Default)]
    struct Capture(Mutex<Vec<Vec<u8>>>);

    impl ResponseTransport for &Capture {
        async fn put(&self, _: &ResponseUrl, body: Vec<u8>, _: Duration) -> Result<u16, TransportError> {
            self.0.lock().unwrap().push(body);
            Ok(200)
        }
    }

    fn settings() -> Settings {
        Settings::from_vars(|name| (name == "ALLOW_LOOPBACK_RESPONSE_URL").then(|| "true".to_owned()))
    }

    fn event(kind: &str, properties: Value) -> Value {
        json!({
            "RequestType": kind,
            "ResponseURL": "http://127.0.0.1:9/response?X-Amz-Signature=s",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/airmiles/guid",
            "RequestId": "r1",
            "LogicalResourceId": "Lookup",
            "PhysicalResourceId": "remote-exports:222222222222:eu-west-1",
            "ResourceType": "Custom::RemoteExports",
            "ResourceProperties": properties,
            "OldResourceProperties": {},
        })
    }

    fn exports(pairs: &[(&str, &str)]) -> Behaviour {
        Behaviour::Exports(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect())
    }

    async fn run(
        behaviour: Behaviour,
        event: Value,
        budget: Duration,
    ) -> (Result<Handled, HandleError>, Vec<Value>, u32) {
        let capture = Capture::default();
        let handler = Handler::new(settings(), FakeSource(behaviour, Mutex::new(0)), &capture);
        let deadline = Deadline::at(tokio::time::Instant::now() + budget);
        let result = handler.handle(event, deadline).await;
        let bodies = capture.0.lock().unwrap().iter().map(|b| serde_json::from_slice(b).unwrap()).collect();
        let calls = *handler.exports.1.lock().unwrap();
        (result, bodies, calls)
    }

    const ROLE: &str = "arn:aws:iam::222222222222:role/reader";

    #[tokio::test]
    async fn create_answers_once_with_the_selected_data() {
        let (result, bodies, _) = run(
            exports(&[("a", "1"), ("b", "2")]),
            event("Create", json!({"RoleArn": ROLE, "ExportNames": ["b"]})),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(result.unwrap().status, Status::Success);
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0]["Data"], json!({"b": "2"}));
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn delete_succeeds_without_a_call_even_with_garbage_properties() {
        let (result, bodies, calls) =
            run(Behaviour::Panic, event("Delete", json!({"RoleArn": 42, "Bogus": true})), Duration::from_secs(10))
                .await;
        assert_eq!(result.unwrap().status, Status::Success);
        assert_eq!(calls, 0);
        assert_eq!(bodies[0]["Status"], "SUCCESS");
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn a_panic_in_the_lookup_becomes_failed() {
        let (result, bodies, _) = run(Behaviour::Panic, event("Create", json!({})), Duration::from_secs(10)).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("source exploded"), "{}", bodies[0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_lookup_is_answered_before_the_deadline() {
        let (result, bodies, _) =
            run(Behaviour::Hang, event("Create", json!({"RoleArn": ROLE})), Duration::from_secs(10)).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        let reason = bodies[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("Timed out reading exports from account 222222222222 in eu-west-1"), "{reason}");
    }

    #[tokio::test]
    async fn a_failed_update_keeps_its_physical_id() {
        let failure =
            SourceError { step: SourceStep::AssumeRole, code: Some("AccessDenied".into()), message: "no".into() };
        let (_, bodies, _) = run(
            Behaviour::Fail(failure),
            event("Update", json!({"RoleArn": "arn:aws:iam::333333333333:role/x"})),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:222222222222:eu-west-1");
    }

    #[tokio::test]
    async fn a_create_with_bad_properties_fails_with_a_usable_id_and_no_call() {
        let (_, bodies, calls) =
            run(exports(&[]), event("Create", json!({"RoleArn": "admin"})), Duration::from_secs(10)).await;
        assert_eq!(calls, 0);
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert_eq!(bodies[0]["PhysicalResourceId"], "remote-exports:failed:Lookup");
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("RoleArn 'admin'"));
    }

    #[tokio::test]
    async fn data_over_the_limit_fails_instead_of_dropping_keys() {
        let many: Vec<(String, String)> = (0..60).map(|i| (format!("export-{i}"), "v".repeat(80))).collect();
        let (_, bodies, _) = run(Behaviour::Exports(many), event("Create", json!({})), Duration::from_secs(10)).await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        let reason = bodies[0]["Reason"].as_str().unwrap();
        assert!(reason.starts_with("The 60 selected export(s) make a "), "{reason}");
        assert!(bodies[0].get("Data").is_none());
    }

    #[tokio::test]
    async fn no_echo_is_passed_on() {
        let (_, bodies, _) =
            run(exports(&[("a", "secret")]), event("Create", json!({"NoEcho": "true"})), Duration::from_secs(10)).await;
        assert_eq!(bodies[0]["NoEcho"], true);
    }

    #[tokio::test]
    async fn a_malformed_event_with_a_response_url_is_answered_failed() {
        let mut bad = event("Create", json!({}));
        bad["RequestType"] = json!("Explode");
        let (result, bodies, _) = run(exports(&[]), bad, Duration::from_secs(10)).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        assert!(bodies[0]["Reason"].as_str().unwrap().starts_with("Invalid request: "), "{}", bodies[0]);
    }

    #[tokio::test]
    async fn an_event_without_a_response_url_is_an_error_for_the_runtime() {
        let (result, bodies, _) = run(exports(&[]), json!({"hello": 1}), Duration::from_secs(10)).await;
        assert!(matches!(result, Err(HandleError::Unanswerable(_))));
        assert!(bodies.is_empty());
    }

    #[tokio::test]
    async fn a_foreign_response_url_gets_nothing() {
        let settings = Settings::from_vars(|_| None);
        let capture = Capture::default();
        let handler = Handler::new(settings, FakeSource(exports(&[("a", "1")]), Mutex::new(0)), &capture);
        let deadline = Deadline::at(tokio::time::Instant::now() + Duration::from_secs(5));
        let result = handler.handle(event("Create", json!({})), deadline).await;
        assert!(matches!(result, Err(HandleError::ResponseUrlRefused(_))), "{result:?}");
        assert!(capture.0.lock().unwrap().is_empty());
        assert_eq!(*handler.exports.1.lock().unwrap(), 0, "looked up exports for a refused URL");
    }
}
