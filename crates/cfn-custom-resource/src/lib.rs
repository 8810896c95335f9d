//! The CloudFormation custom-resource protocol for Rust, independent of what the resource does.
//!
//! Implement [`CustomResource`] (Create, Update, Delete) and hand it to a [`Driver`]. The driver
//! owns every guarantee CloudFormation needs, so that a stack is never left waiting:
//!
//! - the ResponseURL is bound to its request before anything is done ([`UrlPolicy`]): only
//!   CloudFormation's response bucket for the stack's region, with the key that names the request;
//! - exactly one answer per request, before the Lambda deadline, even if the resource hangs or panics;
//! - the body is at most 4096 bytes; a long FAILED Reason is cut keeping its beginning;
//! - malformed events are answered when they can be addressed, and a Delete among them is SUCCESS;
//! - PhysicalResourceId rules: a failed Update or Delete keeps its ID, a failed Create gets a stable one;
//! - delivery retries network errors, 5xx and 429 until the deadline, with an empty Content-Type;
//! - one structured log line per answer, with no signature and no Data values in it;
//! - a [`FollowUp`] (say, recording what was read) runs beside the PUT of a SUCCESS answer and
//!   can never delay, change or fail it; its failure is a WARN and a count in the log line.
//!
//! The crate has no Lambda runtime and no HTTP client of its own: the [`ResponseTransport`] port
//! sends the PUT, so the same driver runs in a Lambda, a CLI or a test.
//!
//! ```
//! use cfn_custom_resource::{CustomResource, Data, Deleted, Failure, Request, Success};
//!
//! /// Returns the `Name` property, upper-cased, as `!GetAtt Resource.Upper`.
//! struct Shout;
//!
//! impl CustomResource for Shout {
//!     async fn create(&self, request: &Request) -> Result<Success, Failure> {
//!         let name = request.properties["Name"].as_str().ok_or_else(|| Failure::new("Name is required."))?;
//!         let data = Data::from_iter([("Upper", name.to_uppercase())]);
//!         Ok(Success::new(format!("shout-{name}"), data))
//!     }
//!     async fn update(&self, request: &Request) -> Result<Success, Failure> {
//!         self.create(request).await
//!     }
//!     async fn delete(&self, _: &Request) -> Result<Deleted, Failure> {
//!         Ok(Deleted::new())
//!     }
//! }
//! # let _ = Shout;
//! ```
#![warn(missing_docs)]

mod deadline;
mod driver;
mod follow_up;
mod partition;
#[cfg(test)]
mod proptests;
mod recording;
mod request;
mod response;
mod response_url;
mod sender;

pub use deadline::{DEFAULT_BUDGET, Deadline, Interrupted, MAX_LAMBDA_TIMEOUT, panic_message, run_guarded};
pub use driver::{Answer, CustomResource, Deleted, Driver, Failure, HandleError, Handled, Success};
pub use follow_up::{FollowUp, FollowUpOutcome};
pub use partition::{PARTITIONS, Partition};
pub use recording::RecordingTransport;
pub use request::{MalformedRequest, ReplyTarget, Request, RequestKind, StackArn};
pub use response::{Data, EncodeError, MAX_PHYSICAL_ID_BYTES, MAX_RESPONSE_BYTES, Response, Status, truncate_utf8};
pub use response_url::{
    RawResponseUrl, ResponseUrl, ResponseUrlError, UrlBinding, UrlPolicy, encoded_response_key, response_bucket,
    response_key,
};
pub use sender::{Delivered, DeliveryError, ResponseTransport, RetryPolicy, TransportError, deliver};
