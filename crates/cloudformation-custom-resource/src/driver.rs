//! The driver: every protocol guarantee around any [`CustomResource`]. (Long because its tests of
//! each guarantee, over 400 lines, sit beside it; the driver itself is 500.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use serde::de::DeserializeOwned;

use crate::deadline::{Interrupted, run_guarded};
use crate::error::{DeliveryError, EncodeError, FollowUpOutcome, MalformedRequest, ResponseUrlError};
use crate::response::{MAX_PHYSICAL_ID_BYTES, truncate_utf8};
use crate::sender::deliver;
use crate::{
    Data, Deadline, Failure, FollowUp, ReplyTarget, Request, RequestKind, Response, ResponseTransport, ResponseUrl,
    RetryPolicy, Status, UrlPolicy,
};

/// What a Create or Update produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct Success {
    /// The resource's ID. On Update, a different ID tells CloudFormation the resource was replaced,
    /// and it will send a Delete for the old one.
    pub physical_resource_id: String,
    /// What `!GetAtt` reads.
    pub data: Data,
    /// Ask CloudFormation to mask `data` in its console and API output.
    pub no_echo: bool,
    /// A short `key=value` summary for the answer's log line (never secrets).
    pub detail: String,
    /// Runs beside the delivery, if the answer is still SUCCESS once encoded.
    pub follow_up: Option<FollowUp>,
}

impl Success {
    /// Success with this ID and these attributes.
    pub fn new(physical_resource_id: impl Into<String>, data: Data) -> Self {
        Success {
            physical_resource_id: physical_resource_id.into(),
            data,
            no_echo: false,
            detail: String::new(),
            follow_up: None,
        }
    }

    /// Work to run beside the delivery of this answer (see [`FollowUp`]).
    pub fn then(self, follow_up: FollowUp) -> Self {
        Success { follow_up: Some(follow_up), ..self }
    }

    /// Masks the data in CloudFormation's output.
    pub fn no_echo(self, no_echo: bool) -> Self {
        Success { no_echo, ..self }
    }

    /// Adds a summary to the answer's log line.
    pub fn detail(self, detail: impl Into<String>) -> Self {
        Success { detail: detail.into(), ..self }
    }
}

/// What a Delete produced. Its answer always echoes the ID CloudFormation gave.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Deleted {
    /// A short `key=value` summary for the answer's log line (never secrets).
    pub detail: String,
    /// Runs beside the delivery of the SUCCESS answer.
    pub follow_up: Option<FollowUp>,
}

impl Deleted {
    /// Nothing more to say or do.
    pub fn new() -> Self {
        Deleted::default()
    }

    /// Work to run beside the delivery of this answer (see [`FollowUp`]).
    pub fn then(self, follow_up: FollowUp) -> Self {
        Deleted { follow_up: Some(follow_up), ..self }
    }

    /// Adds a summary to the answer's log line.
    pub fn detail(self, detail: impl Into<String>) -> Self {
        Deleted { detail: detail.into(), ..self }
    }
}

/// A custom resource: what Create, Update and Delete do. The [`Driver`] around it owns the protocol.
///
/// Each method runs on a task of its own under the deadline guard: if it panics or runs out of time,
/// the request is still answered FAILED, and the task is stopped so that nothing it started fires
/// in a later invocation.
pub trait CustomResource: Send + Sync + 'static {
    /// What `ResourceProperties` read as: a `serde` type of your own, or [`serde_json::Value`] to
    /// read them yourself. Properties that do not read are answered FAILED with a Reason that names
    /// the property and the problem, and your code is not called. On Delete they are answered
    /// SUCCESS without calling [`CustomResource::delete`]: a Create with such properties failed
    /// before it made anything, and a FAILED Delete would leave the stack in DELETE_FAILED.
    type Properties: DeserializeOwned + Send + Sync + 'static;

    /// Creates the resource.
    fn create(&self, request: &Request<Self::Properties>) -> impl Future<Output = Result<Success, Failure>> + Send;

    /// Updates it; a different ID in the result means replacement.
    fn update(&self, request: &Request<Self::Properties>) -> impl Future<Output = Result<Success, Failure>> + Send;

    /// Deletes it. A FAILED Delete can leave a stack in DELETE_FAILED, so fail only when the
    /// resource really still exists.
    fn delete(&self, request: &Request<Self::Properties>) -> impl Future<Output = Result<Deleted, Failure>> + Send;

    /// The Reason when Create or Update ran out of time.
    fn timeout_reason(&self, request: &Request<Self::Properties>, waited: Duration) -> String {
        format!(
            "{} of {} did not finish within {} ms, the time left before the function's deadline.",
            request.kind.as_str(),
            request.reply.logical_resource_id,
            waited.as_millis()
        )
    }

    /// The Reason when a SUCCESS answer does not fit CloudFormation's 4096 bytes.
    fn oversized_reason(&self, _request: &Request<Self::Properties>, bytes: usize, data_keys: usize) -> String {
        format!(
            "The answer with {data_keys} Data key(s) is {bytes} bytes, over CloudFormation's limit of \
             {} bytes. Return fewer or shorter attributes.",
            Response::MAX_BYTES
        )
    }

    /// The ID of a Create that failed without naming one, such as one that panicked. The rollback's
    /// Delete carries it, so it must be stable and recognisable.
    fn failed_create_id(&self, reply: &ReplyTarget) -> String {
        format!("{}-create-failed", reply.logical_resource_id)
    }
}

/// The answer decided for one request, before it is sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer {
    /// `None` when the event was not a valid request.
    pub kind: Option<RequestKind>,
    /// The body, as a value.
    pub response: Response,
    /// The exact bytes to PUT, within CloudFormation's 4096-byte limit.
    pub body: Vec<u8>,
    /// The resource's summary for the log line.
    pub detail: String,
    /// Runs beside the delivery; only a SUCCESS answer carries one.
    pub follow_up: Option<FollowUp>,
}

/// How a delivered request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handled {
    /// `None` when the event was not a valid request.
    pub kind: Option<RequestKind>,
    /// What CloudFormation was told.
    pub status: Status,
    /// The ID it was told.
    pub physical_resource_id: String,
    /// The stack the answer was for, as the request named it: vouched for by the ResponseURL when the
    /// URL policy binds it to the request (`UrlPolicy::binds_request`), the invoker's claim otherwise.
    pub stack_id: String,
    /// How many Data keys.
    pub data_keys: usize,
    /// PUT attempts, retries included.
    pub delivery_attempts: u32,
    /// How the answer's follow-up ended, when it had one.
    pub follow_up: Option<FollowUpOutcome>,
}

/// CloudFormation could not be told the outcome. Only these should become an error for the Lambda
/// runtime, because an error makes Lambda run the whole request again.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The event has no ResponseURL, so nobody can be answered.
    #[error("{0}; no ResponseURL to answer it")]
    Unanswerable(MalformedRequest),
    /// The ResponseURL failed the [`crate::UrlPolicy`]: nothing was done and nothing was sent.
    #[error("refusing to act on the request: {0}")]
    ResponseUrlRefused(ResponseUrlError),
    /// Even a FAILED answer does not fit, because the echoed identifiers alone are too long.
    #[error("no answer fits CloudFormation's limits: {0}")]
    Unencodable(EncodeError),
    /// Every attempt to PUT the answer failed.
    #[error("{0}")]
    Undelivered(DeliveryError),
}

impl HandleError {
    /// A stable name for the kind of error, such as `ResponseUrlRefused`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            HandleError::Unanswerable(_) => "Unanswerable",
            HandleError::ResponseUrlRefused(_) => "ResponseUrlRefused",
            HandleError::Unencodable(_) => "Unencodable",
            HandleError::Undelivered(_) => "Undelivered",
        }
    }
}

/// Answers custom-resource events for one [`CustomResource`]: exactly one answer per request,
/// bound to its request, within 4096 bytes, before the deadline, whatever the resource does.
///
/// ```no_run
/// # #[cfg(feature = "reqwest")]
/// # fn make<R: cloudformation_custom_resource::CustomResource>(resource: R) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use cloudformation_custom_resource::{Driver, HttpTransport, RetryPolicy, UrlPolicy};
///
/// let driver = Driver::new(resource, HttpTransport::new()?)
///     .with_url_policy(UrlPolicy::strict())
///     .with_retry_policy(RetryPolicy::default().with_attempt_timeout(Duration::from_secs(5)));
/// # Ok(()) }
/// ```
pub struct Driver<R, T> {
    resource: Arc<R>,
    transport: T,
    url_policy: UrlPolicy,
    retry: RetryPolicy,
}

impl<R: CustomResource, T: ResponseTransport> Driver<R, T> {
    /// A driver that sends answers through `transport`, to URLs that pass [`UrlPolicy::strict`] in
    /// the function's own region (`AWS_REGION`, see [`UrlPolicy::in_lambda_region`]), retrying as
    /// [`RetryPolicy::default`] does.
    pub fn new(resource: R, transport: T) -> Self {
        Driver {
            resource: Arc::new(resource),
            transport,
            url_policy: UrlPolicy::strict().in_lambda_region(),
            retry: RetryPolicy::default(),
        }
    }

    /// Which ResponseURLs may receive an answer.
    pub fn with_url_policy(self, url_policy: UrlPolicy) -> Self {
        Driver { url_policy, ..self }
    }

    /// How delivery retries.
    pub fn with_retry_policy(self, retry: RetryPolicy) -> Self {
        Driver { retry, ..self }
    }

    /// The resource inside.
    pub fn resource(&self) -> &R {
        &self.resource
    }

    /// The URL policy answers are checked against.
    pub fn url_policy(&self) -> &UrlPolicy {
        &self.url_policy
    }

    /// Answers one raw event: parse, bind the ResponseURL, decide under the deadline guard, deliver,
    /// log one line. `Err` only when CloudFormation could not be told anything.
    pub async fn handle(&self, event: Value, deadline: Deadline) -> Result<Handled, HandleError> {
        let started = Instant::now();
        let (answer, url) = match Request::parse(event) {
            Ok(request) => {
                // Before any work: a refused URL gets nothing, not even the resource's effort.
                let url = self.bind(&request.reply)?;
                (self.decide(request, deadline).await?, url)
            }
            Err(malformed) => {
                let Some(reply) = malformed.reply.as_deref().cloned() else {
                    tracing::error!(reason = %malformed.reason, "event is not a custom-resource request and has no ResponseURL");
                    return Err(HandleError::Unanswerable(malformed));
                };
                let url = self.bind(&reply)?;
                (self.answer_malformed(&reply, &malformed)?, url)
            }
        };
        let mut answer = answer;
        let follow_up = answer.follow_up.take();
        // Beside the PUT, not before it: the answer is never delayed or changed by the follow-up.
        let (delivered, follow_up) = tokio::join!(
            deliver(&self.transport, &url, &answer.body, deadline.delivery_deadline(), self.retry),
            async {
                match follow_up {
                    Some(work) => Some(work.run(deadline.delivery_deadline()).await),
                    None => None,
                }
            }
        );
        let follow_up_summary = follow_up.as_ref().map_or_else(|| "none".to_owned(), FollowUpOutcome::summary);
        let follow_up_failures = u32::from(follow_up.as_ref().is_some_and(|f| f.error.is_some()));
        let response = &answer.response;
        let request_type = answer.kind.map_or("Invalid", RequestKind::as_str);
        let duration_ms = started.elapsed().as_millis() as u64;
        match delivered {
            Ok(delivery) => {
                tracing::info!(
                    request_type,
                    stack_id = %response.stack_id,
                    logical_resource_id = %response.logical_resource_id,
                    request_id = %response.request_id,
                    physical_resource_id = %response.physical_resource_id,
                    outcome = response.status.as_str(),
                    data_keys = response.data.len(),
                    response_bytes = answer.body.len(),
                    delivery_attempts = delivery.attempts,
                    duration_ms,
                    follow_up = %follow_up_summary,
                    follow_up_failures,
                    reason = response.reason.as_deref().unwrap_or(""),
                    detail = %answer.detail,
                    "answered"
                );
                Ok(Handled {
                    kind: answer.kind,
                    status: response.status,
                    physical_resource_id: response.physical_resource_id.clone(),
                    stack_id: response.stack_id.clone(),
                    data_keys: response.data.len(),
                    delivery_attempts: delivery.attempts,
                    follow_up,
                })
            }
            Err(error) => {
                tracing::error!(
                    request_type,
                    stack_id = %response.stack_id,
                    logical_resource_id = %response.logical_resource_id,
                    request_id = %response.request_id,
                    outcome = response.status.as_str(),
                    response_url = %url,
                    duration_ms,
                    follow_up = %follow_up_summary,
                    follow_up_failures,
                    error = %error,
                    "answer not delivered"
                );
                Err(HandleError::Undelivered(error))
            }
        }
    }

    fn bind(&self, reply: &ReplyTarget) -> Result<ResponseUrl, HandleError> {
        ResponseUrl::bind(reply, &self.url_policy).map_err(|error| {
            tracing::error!(
                stack_id = %reply.stack_id,
                logical_resource_id = %reply.logical_resource_id,
                request_id = %reply.request_id,
                %error,
                "ResponseURL refused: nothing was done and nothing was sent"
            );
            HandleError::ResponseUrlRefused(error)
        })
    }

    /// Decides the answer to a request without sending it. Every problem, a panic or a timeout
    /// included, becomes FAILED with the right PhysicalResourceId; `Err` only when even a FAILED
    /// answer cannot fit, because the identifiers it must echo are too long.
    pub async fn decide(&self, request: Request, deadline: Deadline) -> Result<Answer, HandleError> {
        let kind = request.kind;
        let reply = request.reply.clone();
        let request = match request.typed::<R::Properties>() {
            Ok(request) => request,
            Err(invalid) => return self.answer_unreadable(kind, &reply, &invalid.to_string()),
        };
        let resource = Arc::clone(&self.resource);
        let shared = Arc::new(request);
        let work_request = Arc::clone(&shared);
        let outcome = run_guarded(deadline.work_deadline(), async move {
            match work_request.kind {
                RequestKind::Create => resource.create(&work_request).await,
                RequestKind::Update => resource.update(&work_request).await,
                // The ID of a Delete's answer is decided by `succeed`: always the one it was given.
                RequestKind::Delete => resource.delete(&work_request).await.map(|deleted| Success {
                    detail: deleted.detail,
                    follow_up: deleted.follow_up,
                    ..Success::new("", Data::new())
                }),
            }
        })
        .await;
        let request = &*shared;
        let outcome = outcome.unwrap_or_else(|interrupted| {
            Err(match interrupted {
                Interrupted::TimedOut { waited } => Failure::new(self.resource.timeout_reason(request, waited)),
                Interrupted::Panicked { message } => Failure::new(format!(
                    "Internal error in the custom resource's {} handler: it panicked ({message}). This is a bug: \
                     please report it with the function's logs.",
                    kind.as_str()
                )),
            })
        });
        match outcome {
            Ok(success) => self.succeed(request, success),
            Err(failure) => {
                let id = self.failure_id(kind, &reply, failure.physical_resource_id.as_deref());
                self.fail(Some(kind), &reply, id, &failure.reason, failure.detail)
            }
        }
    }

    /// Properties that do not read as the resource's: FAILED, except a Delete, which is SUCCESS
    /// because nothing can have been created from them.
    fn answer_unreadable(&self, kind: RequestKind, reply: &ReplyTarget, reason: &str) -> Result<Answer, HandleError> {
        let id = self.failure_id(kind, reply, None);
        if kind != RequestKind::Delete {
            return self.fail(Some(kind), reply, id, reason, String::from("properties=unreadable"));
        }
        tracing::warn!(
            logical_resource_id = %reply.logical_resource_id,
            problem = %reason,
            "Delete answered SUCCESS without calling the resource: its properties do not read"
        );
        let response = Response::success(reply, id, Data::new(), false);
        let body = response.encode().map_err(HandleError::Unencodable)?;
        Ok(Answer { kind: Some(kind), response, body, detail: String::from("properties=unreadable"), follow_up: None })
    }

    fn succeed(&self, request: &Request<R::Properties>, success: Success) -> Result<Answer, HandleError> {
        let reply = &request.reply;
        let id = match request.kind {
            RequestKind::Delete => self.failure_id(request.kind, reply, None),
            _ => success.physical_resource_id,
        };
        let data_keys = success.data.len();
        let response = Response::success(reply, id, success.data, success.no_echo);
        let failed = |reason: String| {
            let id = self.failure_id(request.kind, reply, None);
            self.fail(Some(request.kind), reply, id, &reason, success.detail.clone())
        };
        match response.encode() {
            Ok(body) => Ok(Answer {
                kind: Some(request.kind),
                response,
                body,
                detail: success.detail,
                follow_up: success.follow_up,
            }),
            Err(EncodeError::TooLarge { bytes }) => failed(self.resource.oversized_reason(request, bytes, data_keys)),
            Err(error) => failed(format!(
                "Internal error in the custom resource: {error}. This is a bug: please report it with the function's logs."
            )),
        }
    }

    /// The rules for every answer but a successful Create or Update: Update and Delete keep the ID
    /// they were given; a failed Create uses the resource's suggestion when it is usable, else its
    /// stable fallback.
    fn failure_id(&self, kind: RequestKind, reply: &ReplyTarget, suggested: Option<&str>) -> String {
        let usable = |id: &&str| !id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES;
        match kind {
            RequestKind::Update | RequestKind::Delete => given_id(reply),
            RequestKind::Create => suggested.filter(usable).map(str::to_owned),
        }
        .unwrap_or_else(|| truncated_id(self.resource.failed_create_id(reply)))
    }

    fn fail(
        &self,
        kind: Option<RequestKind>,
        reply: &ReplyTarget,
        id: String,
        reason: &str,
        detail: String,
    ) -> Result<Answer, HandleError> {
        let response = Response::failed(reply, id, reason);
        // A FAILED body only fails to encode when the echoed identifiers alone overflow 4096 bytes.
        let body = response.encode().map_err(HandleError::Unencodable)?;
        Ok(Answer { kind, response, body, detail, follow_up: None })
    }

    /// A malformed event that can be addressed: a Delete is SUCCESS (there is nothing to do for a
    /// request nobody can read, and a FAILED Delete blocks the stack), anything else FAILED.
    fn answer_malformed(&self, reply: &ReplyTarget, malformed: &MalformedRequest) -> Result<Answer, HandleError> {
        let id =
            given_id(reply).unwrap_or_else(|| truncated_id(format!("{}-invalid-request", reply.logical_resource_id)));
        let (kind, response) = match malformed.claimed_kind {
            Some(RequestKind::Delete) => (Some(RequestKind::Delete), Response::success(reply, id, Data::new(), false)),
            _ => (None, Response::failed(reply, id, format!("Invalid request: {}.", malformed.reason))),
        };
        let body = response.encode().map_err(HandleError::Unencodable)?;
        Ok(Answer { kind, response, body, detail: String::from("malformed=true"), follow_up: None })
    }
}

/// The ID CloudFormation gave, when it is one we can echo.
fn given_id(reply: &ReplyTarget) -> Option<String> {
    reply
        .physical_resource_id
        .as_deref()
        .filter(|id| !id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES)
        .map(str::to_owned)
}

fn truncated_id(id: String) -> String {
    let kept = truncate_utf8(&id, MAX_PHYSICAL_ID_BYTES);
    if kept.is_empty() { "custom-resource".to_owned() } else { kept.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ResponseUrlError;
    use crate::request::RawResponseUrl;
    use crate::response_url::{response_bucket, response_key};
    use crate::testing::RecordingTransport;
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// What the fake resource does on Create and Update.
    #[derive(Clone)]
    enum Behaviour {
        Succeed(Vec<(&'static str, String)>),
        Fail(&'static str, Option<&'static str>),
        Hang,
        Panic,
    }

    struct Fake {
        behaviour: Behaviour,
        calls: AtomicU32,
    }

    impl CustomResource for Fake {
        type Properties = Value;

        async fn create(&self, request: &Request) -> Result<Success, Failure> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match &self.behaviour {
                Behaviour::Succeed(pairs) => Ok(Success::new(
                    format!("id-{}", request.reply.logical_resource_id),
                    pairs.iter().cloned().collect(),
                )),
                Behaviour::Fail(reason, id) => {
                    let failure = Failure::new(*reason);
                    Err(match id {
                        Some(id) => failure.with_physical_resource_id(*id),
                        None => failure,
                    })
                }
                Behaviour::Hang => std::future::pending().await,
                Behaviour::Panic => panic!("resource exploded"),
            }
        }
        async fn update(&self, request: &Request) -> Result<Success, Failure> {
            self.create(request).await
        }
        async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Deleted::new())
        }
    }

    const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/airmiles/guid";

    fn event(kind: &str, request_id: &str) -> Value {
        let key = response_key(STACK, "Lookup", request_id).replace(':', "%3A").replace('|', "%7C");
        json!({
            "RequestType": kind,
            "ResponseURL": format!("http://127.0.0.1:9/{}/{key}?X-Amz-Signature=s", response_bucket("eu-west-1")),
            "StackId": STACK,
            "RequestId": request_id,
            "LogicalResourceId": "Lookup",
            "PhysicalResourceId": "current-id",
            "ResourceType": "Custom::Test",
            "ResourceProperties": {},
            "OldResourceProperties": {},
        })
    }

    async fn run(behaviour: Behaviour, event: Value) -> (Result<Handled, HandleError>, Vec<Value>, u32) {
        let transport = RecordingTransport::new();
        let resource = Fake { behaviour, calls: AtomicU32::new(0) };
        let driver = Driver::new(resource, &transport)
            .with_url_policy(UrlPolicy::strict().in_region("eu-west-1").with_loopback(true));
        let result = driver.handle(event, Deadline::after(Duration::from_secs(10))).await;
        (result, transport.answers(), driver.resource().calls.load(Ordering::SeqCst))
    }

    fn ok(pairs: &[(&'static str, &str)]) -> Behaviour {
        Behaviour::Succeed(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    #[tokio::test]
    async fn create_is_answered_once_with_its_data() {
        let (result, bodies, calls) = run(ok(&[("Upper", "X")]), event("Create", "r1")).await;
        assert_eq!(result.unwrap().status, Status::Success);
        assert_eq!((bodies.len(), calls), (1, 1));
        assert_eq!(bodies[0]["Data"], json!({"Upper": "X"}));
        assert_eq!(bodies[0]["PhysicalResourceId"], "id-Lookup");
        assert_eq!(bodies[0]["RequestId"], "r1");
    }

    #[tokio::test]
    async fn delete_echoes_the_given_id() {
        let (_, bodies, _) = run(Behaviour::Panic, event("Delete", "r1")).await;
        assert_eq!(bodies[0]["Status"], "SUCCESS");
        assert_eq!(bodies[0]["PhysicalResourceId"], "current-id");
    }

    #[tokio::test]
    async fn a_panic_becomes_failed_and_a_failed_create_gets_a_stable_id() {
        let (result, bodies, _) = run(Behaviour::Panic, event("Create", "r1")).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("resource exploded"), "{}", bodies[0]);
        assert_eq!(bodies[0]["PhysicalResourceId"], "Lookup-create-failed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_is_answered_failed_before_the_deadline() {
        let started = Instant::now();
        let (result, bodies, _) = run(Behaviour::Hang, event("Create", "r1")).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("did not finish within"), "{}", bodies[0]);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_failed_update_keeps_its_id_whatever_the_resource_suggests() {
        let (_, bodies, _) = run(Behaviour::Fail("no", Some("other-id")), event("Update", "r1")).await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert_eq!(bodies[0]["PhysicalResourceId"], "current-id");
        let (_, bodies, _) = run(Behaviour::Fail("no", Some("suggested")), event("Create", "r2")).await;
        assert_eq!(bodies[0]["PhysicalResourceId"], "suggested");
    }

    #[tokio::test]
    async fn an_oversized_success_fails_instead_of_dropping_keys() {
        let big = "v".repeat(5000);
        let (_, bodies, _) = run(ok(&[("Big", &big)]), event("Create", "r1")).await;
        assert_eq!(bodies[0]["Status"], "FAILED");
        assert!(bodies[0]["Reason"].as_str().unwrap().contains("over CloudFormation's limit"), "{}", bodies[0]);
        assert!(bodies[0].get("Data").is_none());
    }

    #[tokio::test]
    async fn a_malformed_delete_is_success_and_other_malformed_events_fail() {
        let mut delete = event("Delete", "r1");
        delete.as_object_mut().unwrap().remove("ResourceType");
        let (result, bodies, calls) = run(ok(&[]), delete).await;
        assert_eq!(result.unwrap().status, Status::Success);
        assert_eq!((bodies[0]["Status"].as_str(), calls), (Some("SUCCESS"), 0));
        assert_eq!(bodies[0]["PhysicalResourceId"], "current-id");

        let mut unknown = event("Create", "r2");
        unknown["RequestType"] = json!("Upsert");
        let (result, bodies, calls) = run(ok(&[]), unknown).await;
        assert_eq!(result.unwrap().status, Status::Failed);
        assert!(bodies[0]["Reason"].as_str().unwrap().starts_with("Invalid request: "), "{}", bodies[0]);
        assert_eq!(calls, 0);
    }

    #[tokio::test]
    async fn huge_identifiers_are_an_error_not_a_panic() {
        let policy = UrlPolicy::host_only().in_region("eu-west-1").with_loopback(true);
        let transport = RecordingTransport::new();
        let driver =
            Driver::new(Fake { behaviour: ok(&[]), calls: AtomicU32::new(0) }, &transport).with_url_policy(policy);
        let mut huge = event("Create", &"r".repeat(5000));
        huge["RequestType"] = json!("Upsert");
        let result = driver.handle(huge, Deadline::after(Duration::from_secs(5))).await;
        assert!(matches!(result, Err(HandleError::Unencodable(_))), "{result:?}");
        assert!(transport.bodies().is_empty());
    }

    #[tokio::test]
    async fn a_url_that_names_another_request_gets_nothing_done() {
        let mut forged = event("Create", "r1");
        forged["RequestId"] = json!("r2");
        let (result, bodies, calls) = run(ok(&[("A", "secret")]), forged).await;
        assert!(
            matches!(result, Err(HandleError::ResponseUrlRefused(ResponseUrlError::WrongKey { .. }))),
            "{result:?}"
        );
        assert_eq!((bodies.len(), calls), (0, 0));
    }

    /// Succeeds (or, with `oversized`, answers too much) and leaves a follow-up that ends with `result`.
    struct Following {
        result: Result<(), &'static str>,
        oversized: bool,
        ran: Arc<AtomicU32>,
    }

    impl Following {
        fn follow_up(&self) -> FollowUp {
            let (ran, result) = (Arc::clone(&self.ran), self.result);
            FollowUp::new("registry", async move {
                ran.fetch_add(1, Ordering::SeqCst);
                result.map_err(str::to_owned)
            })
        }
    }

    impl CustomResource for Following {
        type Properties = Value;

        async fn create(&self, _: &Request) -> Result<Success, Failure> {
            let value = if self.oversized { "v".repeat(5000) } else { "v".to_owned() };
            Ok(Success::new("id", Data::from_iter([("K", value)])).then(self.follow_up()))
        }
        async fn update(&self, request: &Request) -> Result<Success, Failure> {
            self.create(request).await
        }
        async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
            Ok(Deleted::new().then(self.follow_up()))
        }
    }

    async fn run_following(result: Result<(), &'static str>, oversized: bool, kind: &str) -> (Handled, Value, u32) {
        let transport = RecordingTransport::new();
        let ran = Arc::new(AtomicU32::new(0));
        let resource = Following { result, oversized, ran: Arc::clone(&ran) };
        let driver = Driver::new(resource, &transport)
            .with_url_policy(UrlPolicy::strict().in_region("eu-west-1").with_loopback(true));
        let handled = driver.handle(event(kind, "r1"), Deadline::after(Duration::from_secs(10))).await.unwrap();
        (handled, transport.answers().remove(0), ran.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_failed_follow_up_is_reported_but_never_changes_the_answer() {
        for kind in ["Create", "Update", "Delete"] {
            let (handled, body, ran) = run_following(Err("PutItem: AccessDeniedException"), false, kind).await;
            assert_eq!((body["Status"].as_str(), ran), (Some("SUCCESS"), 1), "{kind}");
            let outcome = handled.follow_up.unwrap();
            assert_eq!(outcome.error.as_deref(), Some("PutItem: AccessDeniedException"));
        }
        let (handled, _, ran) = run_following(Ok(()), false, "Create").await;
        assert_eq!((handled.follow_up.unwrap().error, ran), (None, 1));
    }

    #[tokio::test]
    async fn a_failed_answer_drops_the_follow_up_unrun() {
        let (handled, body, ran) = run_following(Ok(()), true, "Create").await;
        assert_eq!((body["Status"].as_str(), ran), (Some("FAILED"), 0));
        assert!(handled.follow_up.is_none());
    }

    /// Typed properties, as a resource of a stranger's would declare them.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Sized {
        name: String,
        count: u32,
    }

    /// Records what it was called with.
    #[derive(Default)]
    struct Typed {
        seen: std::sync::Mutex<Vec<(RequestKind, String, Option<u32>)>>,
    }

    impl CustomResource for Typed {
        type Properties = Sized;

        async fn create(&self, request: &Request<Sized>) -> Result<Success, Failure> {
            let old = request.old_properties.as_ref().map(|old| old.count);
            self.seen.lock().unwrap().push((request.kind, request.properties.name.clone(), old));
            Ok(Success::new("typed", Data::from_iter([("Count", request.properties.count.to_string())])))
        }
        async fn update(&self, request: &Request<Sized>) -> Result<Success, Failure> {
            self.create(request).await
        }
        async fn delete(&self, request: &Request<Sized>) -> Result<Deleted, Failure> {
            self.seen.lock().unwrap().push((request.kind, request.properties.name.clone(), None));
            Ok(Deleted::new())
        }
    }

    async fn run_typed(kind: &str, properties: Value, old: Value) -> (Value, Vec<(RequestKind, String, Option<u32>)>) {
        let transport = RecordingTransport::new();
        let driver = Driver::new(Typed::default(), &transport)
            .with_url_policy(UrlPolicy::strict().in_region("eu-west-1").with_loopback(true));
        let mut event = event(kind, "r1");
        event["ResourceProperties"] = properties;
        event["OldResourceProperties"] = old;
        driver.handle(event, Deadline::after(Duration::from_secs(10))).await.unwrap();
        let seen = std::mem::take(&mut *driver.resource().seen.lock().unwrap());
        (transport.answers().remove(0), seen)
    }

    #[tokio::test]
    async fn typed_properties_are_read_without_cloudformations_own_keys() {
        let properties = json!({"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:f", "ServiceTimeout": "60", "Name": "a", "Count": 3});
        let (body, seen) = run_typed("Update", properties, json!({"Name": "a", "Count": 2})).await;
        assert_eq!((body["Status"].as_str(), &body["Data"]["Count"]), (Some("SUCCESS"), &json!("3")), "{body}");
        assert_eq!(seen, [(RequestKind::Update, "a".to_owned(), Some(2))]);
    }

    #[tokio::test]
    async fn properties_that_do_not_read_fail_naming_the_property_and_the_resource_is_not_called() {
        for (properties, reason) in [
            (json!({"Name": "a"}), "Invalid properties: missing field `Count`."),
            (
                json!({"Name": "a", "Count": 1, "Colour": "red"}),
                "Invalid properties: Colour: unknown field `Colour`, expected `Name` or `Count`.",
            ),
            (
                json!({"Name": "a", "Count": "3"}),
                "Invalid properties: Count: invalid type: string \"3\", expected u32. CloudFormation passes every \
                 number and boolean property as a string: declare the field as a string, or parse it from one.",
            ),
        ] {
            let (body, seen) = run_typed("Create", properties, json!({})).await;
            assert_eq!((body["Status"].as_str(), body["Reason"].as_str()), (Some("FAILED"), Some(reason)));
            assert_eq!(body["PhysicalResourceId"], "Lookup-create-failed");
            assert!(seen.is_empty());
        }
    }

    #[tokio::test]
    async fn a_delete_with_unreadable_properties_succeeds_without_calling_the_resource() {
        let (body, seen) = run_typed("Delete", json!({"Name": 7}), json!({})).await;
        assert_eq!(
            (body["Status"].as_str(), body["PhysicalResourceId"].as_str()),
            (Some("SUCCESS"), Some("current-id"))
        );
        assert!(seen.is_empty());
    }

    #[tokio::test]
    async fn an_update_whose_old_properties_no_longer_read_goes_on_without_them() {
        // The rollback of an Update that failed on its properties: the old ones are the bad ones.
        let (body, seen) =
            run_typed("Update", json!({"Name": "a", "Count": 1}), json!({"Name": "a", "Count": "x"})).await;
        assert_eq!(body["Status"], "SUCCESS", "{body}");
        assert_eq!(seen, [(RequestKind::Update, "a".to_owned(), None)]);
    }

    /// A Reason a person reads: a sentence, every slot filled, no doubled words or articles.
    fn assert_plain_sentence(text: &str) {
        assert!(text.starts_with(|c: char| c.is_ascii_uppercase()), "{text}");
        assert!(text.ends_with('.'), "{text}");
        let lower = text.to_lowercase();
        for slip in
            ["'s the ", " the the ", " a a ", " a the ", " the a ", "..", " .", "  ", ": .", "()", "''", "{", "}"]
        {
            assert!(!lower.contains(slip), "'{slip}' in: {text}");
        }
        let words: Vec<&str> = lower.split_whitespace().collect();
        for pair in words.windows(2) {
            assert!(
                pair[0] != pair[1] || !pair[0].chars().any(char::is_alphabetic),
                "doubled '{}' in: {text}",
                pair[0]
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_reason_the_driver_writes_reads_as_a_plain_sentence() {
        let mut reasons = Vec::new();
        for behaviour in [Behaviour::Hang, Behaviour::Panic, ok(&[("Big", &"v".repeat(5000))])] {
            let (_, bodies, _) = run(behaviour, event("Create", "r1")).await;
            reasons.push(bodies[0]["Reason"].as_str().unwrap().to_owned());
        }
        let mut unknown = event("Create", "r2");
        unknown["RequestType"] = json!("Upsert");
        let (_, bodies, _) = run(ok(&[]), unknown).await;
        reasons.push(bodies[0]["Reason"].as_str().unwrap().to_owned());
        for properties in
            [json!({"Name": "a"}), json!({"Name": "a", "Count": "3"}), json!({"Name": "a", "Count": 1, "X": 1})]
        {
            let (body, _) = run_typed("Create", properties, json!({})).await;
            reasons.push(body["Reason"].as_str().unwrap().to_owned());
        }
        assert_eq!(reasons.len(), 7);
        for reason in &reasons {
            assert_plain_sentence(reason);
        }
    }

    #[tokio::test]
    async fn an_event_without_a_response_url_is_unanswerable() {
        let (result, bodies, _) = run(ok(&[]), json!({"hello": 1})).await;
        assert!(matches!(result, Err(HandleError::Unanswerable(_))));
        assert!(bodies.is_empty());
    }

    #[test]
    fn debug_output_never_shows_a_signature_or_a_value() {
        let raw = event("Create", "r1");
        let request = Request::parse(raw).unwrap();
        let data = Data::from_iter([("Secret", "hunter2")]);
        let response = Response::success(&request.reply, "id".into(), data.clone(), false);
        let answer = Answer {
            kind: Some(RequestKind::Create),
            response: response.clone(),
            body: vec![],
            detail: String::new(),
            follow_up: None,
        };
        let success = Success::new("id", data);
        let url =
            ResponseUrl::bind(&request.reply, &UrlPolicy::strict().in_region("eu-west-1").with_loopback(true)).unwrap();
        let raw_url = RawResponseUrl::new("http://127.0.0.1:9/b/k?X-Amz-Signature=s");
        let malformed = Request::parse(json!({"ResponseURL": "http://h/k?X-Amz-Signature=s"})).unwrap_err();
        let shown = [
            format!("{request:?}"),
            format!("{:?}", request.reply),
            format!("{response:?}"),
            format!("{answer:?}"),
            format!("{success:?}"),
            format!("{url:?}"),
            format!("{raw_url:?}"),
            format!("{malformed:?}"),
            format!("{:?}", HandleError::Unanswerable(malformed.clone())),
        ];
        for text in shown {
            assert!(!text.contains("X-Amz-Signature") && !text.contains("hunter2"), "{text}");
        }
    }
}
