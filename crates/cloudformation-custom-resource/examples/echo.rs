//! A complete custom resource in one file: `Custom::Echo` returns its `Message` property as
//! `!GetAtt Echo.Message` and its length in bytes as `!GetAtt Echo.Length`. Build it as a Lambda `bootstrap`
//! (`cargo lambda build --example echo --features lambda`) or run it under any Lambda Runtime API
//! emulator (with `ALLOW_LOOPBACK_RESPONSE_URL=true` when the emulator's ResponseURLs are local).

use cloudformation_custom_resource::{CustomResource, Data, Deleted, Failure, Request, Success};
use serde::Deserialize;

struct Echo;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Properties {
    /// The text to echo.
    message: String,
}

impl CustomResource for Echo {
    type Properties = Properties;

    async fn create(&self, request: &Request<Properties>) -> Result<Success, Failure> {
        let message = &request.properties.message;
        let data = Data::from_iter([("Message", message.clone()), ("Length", message.len().to_string())]);
        Ok(Success::new(format!("echo:{}", request.reply.logical_resource_id), data))
    }

    async fn update(&self, request: &Request<Properties>) -> Result<Success, Failure> {
        self.create(request).await
    }

    async fn delete(&self, _: &Request<Properties>) -> Result<Deleted, Failure> {
        Ok(Deleted::new())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    cloudformation_custom_resource::lambda::run(Echo).await
}
