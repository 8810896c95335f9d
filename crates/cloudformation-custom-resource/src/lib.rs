//! The CloudFormation custom-resource protocol for Rust, independent of what the resource does.
//!
//! Implement [`CustomResource`] (Create, Update, Delete) and serve it: [`lambda::run`] in a Lambda
//! function, or a [`Driver`] anywhere else. The driver owns every guarantee CloudFormation needs, so
//! that a stack is never left waiting:
//!
//! - the ResponseURL is bound to its request before anything is done ([`UrlPolicy`]): only
//!   CloudFormation's response bucket for the stack's region, with the key that names the request;
//! - exactly one answer per request, before the Lambda deadline, even if the resource hangs or panics;
//! - the body is at most 4096 bytes; a long FAILED Reason is cut keeping its beginning;
//! - malformed events and properties that do not parse are answered FAILED when they can be
//!   addressed, and a Delete among them is SUCCESS;
//! - PhysicalResourceId rules: a failed Update or Delete keeps its ID, a failed Create gets a stable one;
//! - delivery retries network errors, 5xx and 429 until the deadline, with an empty Content-Type;
//! - one structured log line per answer, with no signature and no Data values in it;
//! - a [`FollowUp`] (say, recording what was read) runs beside the PUT of a SUCCESS answer and
//!   can never delay, change or fail it; its failure is a WARN and a count in the log line.
//!
//! # Features
//!
//! - `reqwest` (default): [`HttpTransport`], the PUT to the presigned URL.
//! - `lambda`: [`lambda::run`] and the pieces behind it, for a function that also serves other events.
//! - `testing`: [`testing::RecordingTransport`] and [`testing::event`], for unit tests of a resource.
//!
//! # Example
//!
//! ```
//! use cloudformation_custom_resource::{CustomResource, Data, Deleted, Failure, Request, Success};
//! use serde::Deserialize;
//!
//! /// `!GetAtt Resource.Upper` is the `Name` property, upper-cased.
//! struct Shout;
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "PascalCase", deny_unknown_fields)]
//! struct Properties {
//!     name: String,
//! }
//!
//! impl CustomResource for Shout {
//!     type Properties = Properties;
//!
//!     async fn create(&self, request: &Request<Properties>) -> Result<Success, Failure> {
//!         let name = &request.properties.name;
//!         let data = Data::from_iter([("Upper", name.to_uppercase())]);
//!         Ok(Success::new(format!("shout-{name}"), data))
//!     }
//!     async fn update(&self, request: &Request<Properties>) -> Result<Success, Failure> {
//!         self.create(request).await
//!     }
//!     async fn delete(&self, _: &Request<Properties>) -> Result<Deleted, Failure> {
//!         Ok(Deleted::new())
//!     }
//! }
//! # let _ = Shout;
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod deadline;
mod driver;
mod failure;
mod follow_up;
#[cfg(feature = "reqwest")]
mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(test)]
mod proptests;
mod request;
mod response;
mod response_url;
mod sender;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use deadline::Deadline;
pub use driver::{Answer, CustomResource, Deleted, Driver, Handled, Success};
pub use failure::Failure;
pub use follow_up::FollowUp;
#[cfg(feature = "reqwest")]
pub use http::HttpTransport;
pub use request::{ReplyTarget, Request, RequestKind, StackArn};
pub use response::{Data, Response, Status};
pub use response_url::{ResponseUrl, UrlPolicy};
pub use sender::{ResponseTransport, RetryPolicy, TransportError};

/// Why a request could not be answered, and the details inside those errors.
pub mod error {
    pub use crate::driver::HandleError;
    pub use crate::follow_up::FollowUpOutcome;
    pub use crate::request::MalformedRequest;
    pub use crate::response::EncodeError;
    pub use crate::response_url::ResponseUrlError;
    pub use crate::sender::DeliveryError;
}
pub use error::HandleError;

// The README's examples are compiled as doctests.
#[cfg(all(doctest, feature = "lambda", feature = "reqwest"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
