//! Serving a custom resource as a Lambda function (feature `lambda`).
//!
//! A function that serves custom-resource requests and nothing else needs one call:
//!
//! ```no_run
//! # use cloudformation_custom_resource::{CustomResource, Deleted, Failure, Request, Success};
//! # struct MyResource;
//! # impl CustomResource for MyResource {
//! #     type Properties = serde_json::Value;
//! #     async fn create(&self, _: &Request) -> Result<Success, Failure> { unimplemented!() }
//! #     async fn update(&self, _: &Request) -> Result<Success, Failure> { unimplemented!() }
//! #     async fn delete(&self, _: &Request) -> Result<Deleted, Failure> { unimplemented!() }
//! # }
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     cloudformation_custom_resource::lambda::run(MyResource).await
//! }
//! ```
//!
//! A function that also handles other events calls [`handle`] from its own handler for the events
//! that are custom-resource requests, and [`reply`] or the `From<HandleError>` for
//! [`lambda_runtime::Diagnostic`] to end the invocation.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lambda_runtime::{Context, Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::{CustomResource, Deadline, Driver, HandleError, Handled, ResponseTransport};

/// Serves `resource` with an [`crate::HttpTransport`] and [`crate::UrlPolicy::strict`] in the
/// function's own region (`AWS_REGION`, which Lambda sets): what a deployed function needs. `ALLOW_LOOPBACK_RESPONSE_URL=true` in the function's environment also
/// accepts ResponseURLs on 127.0.0.1, for local emulators only; a WARN says so at start.
#[cfg(feature = "reqwest")]
pub async fn run<R: CustomResource>(resource: R) -> Result<(), lambda_runtime::Error> {
    let (policy, warnings) = crate::UrlPolicy::strict().with_lambda_vars(|name| std::env::var(name).ok());
    for warning in warnings {
        tracing::warn!(%warning, "function setting");
    }
    serve(Driver::new(resource, crate::HttpTransport::new()?).with_url_policy(policy)).await
}

/// Serves a driver you configured: its own transport, URL policy or retry policy.
pub async fn serve<R, T>(driver: Driver<R, T>) -> Result<(), lambda_runtime::Error>
where
    R: CustomResource,
    T: ResponseTransport + 'static,
{
    let driver = Arc::new(driver);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let driver = Arc::clone(&driver);
        async move {
            let handled = handle(&driver, event).await.map_err(Diagnostic::from)?;
            Ok::<_, Diagnostic>(reply(&handled))
        }
    }))
    .await
}

/// Answers one invocation's event under the invocation's deadline. `Err` only when CloudFormation
/// could not be told anything; returning it to the runtime makes Lambda retry the event.
pub async fn handle<R, T>(driver: &Driver<R, T>, event: LambdaEvent<Value>) -> Result<Handled, HandleError>
where
    R: CustomResource,
    T: ResponseTransport,
{
    driver.handle(event.payload, deadline(&event.context)).await
}

/// The invocation's deadline. Emulators send nonsense (`cargo lambda watch` sends 600000): then
/// `AWS_LAMBDA_FUNCTION_TIMEOUT`, else 60 s, with a WARN.
pub fn deadline(context: &Context) -> Deadline {
    // The environment does not change while the process lives: read it on the first invocation only.
    static FALLBACK: OnceLock<Duration> = OnceLock::new();
    Deadline::from_runtime_millis(context.deadline, *FALLBACK.get_or_init(Deadline::fallback_budget))
}

/// What the invocation returns once CloudFormation has its answer (the answer itself went to the
/// ResponseURL): `{"Status", "PhysicalResourceId", "DataKeys"}`.
pub fn reply(handled: &Handled) -> Value {
    json!({
        "Status": handled.status,
        "PhysicalResourceId": handled.physical_resource_id,
        "DataKeys": handled.data_keys,
    })
}

impl From<HandleError> for Diagnostic {
    /// `errorType` is `CustomResource.<kind>`, such as `CustomResource.ResponseUrlRefused`.
    fn from(error: HandleError) -> Self {
        Diagnostic { error_type: format!("CustomResource.{}", error.kind_name()), error_message: error.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{RecordingTransport, event};
    use crate::{Data, Deleted, Failure, Request, RequestKind, Status, Success, UrlPolicy};

    struct Answers;

    impl CustomResource for Answers {
        type Properties = Value;
        async fn create(&self, _: &Request) -> Result<Success, Failure> {
            Ok(Success::new("id", Data::from_iter([("A", "1"), ("B", "2")])))
        }
        async fn update(&self, request: &Request) -> Result<Success, Failure> {
            self.create(request).await
        }
        async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
            Ok(Deleted::new())
        }
    }

    fn invocation(payload: Value, deadline_ms: u64) -> LambdaEvent<Value> {
        let mut context = Context::default();
        context.deadline = deadline_ms;
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn an_invocation_is_answered_and_replied_to() {
        let transport = RecordingTransport::new();
        let driver = Driver::new(Answers, &transport)
            .with_url_policy(UrlPolicy::strict().in_region(crate::testing::REGION).with_loopback(true));
        // cargo lambda watch's deadline: the fallback budget is used instead.
        let handled = handle(&driver, invocation(event(RequestKind::Create, serde_json::json!({})), 600_000)).await;
        let handled = handled.unwrap();
        assert_eq!(
            reply(&handled),
            serde_json::json!({"Status": "SUCCESS", "PhysicalResourceId": "id", "DataKeys": 2})
        );
        assert_eq!(transport.answers().len(), 1);
        assert_eq!(handled.status, Status::Success);
    }

    #[tokio::test]
    async fn a_refused_url_becomes_a_typed_runtime_error() {
        let transport = RecordingTransport::new();
        let driver = Driver::new(Answers, &transport);
        let error =
            handle(&driver, invocation(event(RequestKind::Create, serde_json::json!({})), 0)).await.unwrap_err();
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "CustomResource.ResponseUrlRefused");
        assert!(!diagnostic.error_message.contains("X-Amz-Signature"), "{}", diagnostic.error_message);
        assert!(transport.answers().is_empty());
    }
}
