//! The Lambda binary: wires the AWS adapters into the handler and serves the Lambda Runtime API.

use std::sync::Arc;

use cfn_custom_resource::Deadline;
use lambda_runtime::{LambdaEvent, service_fn};
use remote_exports_aws::{CloudFormationExports, HttpResponseTransport, TrustRoots, load_sdk_config};
use remote_exports_lambda::{Handler, Settings};
use serde_json::{Value, json};

// One request at a time: a current-thread runtime starts faster and holds less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    remote_exports_lambda::init_logging();
    let settings = Settings::from_env();
    let setting = std::env::var("TLS_ROOTS").ok();
    // A bad setting must not stop the function: Deletes still have to be answered.
    let roots = TrustRoots::choose(setting.as_deref(), settings.function_region.as_deref()).unwrap_or_else(|error| {
        tracing::error!(%error, "falling back to the system's trusted roots");
        TrustRoots::System
    });
    let exports = CloudFormationExports::new(load_sdk_config(roots).await?);
    let handler = Arc::new(Handler::new(settings, exports, HttpResponseTransport::new(roots)?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let deadline = Deadline::from_epoch_millis(event.context.deadline);
            let handled = handler.handle(event.payload, deadline).await?;
            Ok::<_, remote_exports_lambda::HandleError>(json!({
                "Status": handled.status,
                "PhysicalResourceId": handled.physical_resource_id,
                "Exports": handled.exports,
            }))
        }
    }))
    .await
}
