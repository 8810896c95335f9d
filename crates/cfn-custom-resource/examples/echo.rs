//! A complete custom resource in one file: `Custom::Echo` returns its `Message` property as
//! `!GetAtt Echo.Message` and its length as `!GetAtt Echo.Length`. Build it as a Lambda `bootstrap`
//! (`cargo lambda build --example echo`) or run it under any Lambda Runtime API emulator.

use std::sync::Arc;
use std::time::Duration;

use cfn_custom_resource::{
    CustomResource, Data, Deadline, Deleted, Driver, Failure, Request, ResponseTransport, ResponseUrl, Success,
    TransportError, UrlPolicy,
};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

struct Echo;

impl CustomResource for Echo {
    async fn create(&self, request: &Request) -> Result<Success, Failure> {
        let message = request.properties["Message"]
            .as_str()
            .ok_or_else(|| Failure::new("Message is required: the text to echo."))?;
        let data = Data::from_iter([("Message", json!(message)), ("Length", json!(message.len().to_string()))]);
        Ok(Success::new(format!("echo:{}", request.reply.logical_resource_id), data))
    }

    async fn update(&self, request: &Request) -> Result<Success, Failure> {
        self.create(request).await
    }

    async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
        Ok(Deleted::new())
    }
}

/// The PUT to the presigned URL: an empty Content-Type, or S3 rejects the signature.
struct Put(reqwest::Client);

impl ResponseTransport for Put {
    async fn put(&self, url: &ResponseUrl, body: Vec<u8>, timeout: Duration) -> Result<u16, TransportError> {
        let sent = self.0.put(url.expose().clone()).header("content-type", "").body(body).timeout(timeout).send().await;
        match sent {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err(TransportError::Timeout),
            Err(error) => Err(TransportError::Network(error.without_url().to_string())),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let loopback = std::env::var("ALLOW_LOOPBACK_RESPONSE_URL").is_ok_and(|v| v == "true");
    let driver = Arc::new(Driver::new(Echo, Put(reqwest::Client::new()), UrlPolicy::strict().with_loopback(loopback)));
    let fallback = Deadline::fallback_budget();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let driver = Arc::clone(&driver);
        async move {
            let deadline = Deadline::from_runtime_millis(event.context.deadline, fallback);
            // An error makes Lambda retry the event: only when CloudFormation could not be told anything.
            let handled = driver.handle(event.payload, deadline).await.map_err(lambda_runtime::Error::from)?;
            Ok::<_, lambda_runtime::Error>(json!({"Status": handled.status}))
        }
    }))
    .await
}
