//! The CloudFormation custom-resource protocol, independent of what the resource does.
//!
//! One request's path: [`Request::parse`] the raw event, do the work under [`run_guarded`] so that a
//! slow or panicking step still leaves time to answer, build a [`Response`], [`Response::encode`] it
//! within CloudFormation's 4096-byte limit, and [`deliver`] it exactly once to the [`ResponseUrl`].

mod deadline;
mod request;
mod response;
mod response_url;
mod sender;

pub use deadline::{Deadline, Interrupted, panic_message, run_guarded};
pub use request::{MalformedRequest, ReplyTarget, Request, RequestKind, StackArn};
pub use response::{EncodeError, MAX_PHYSICAL_ID_BYTES, MAX_RESPONSE_BYTES, Response, Status, truncate_utf8};
pub use response_url::{ResponseUrl, ResponseUrlError, UrlPolicy};
pub use sender::{Delivered, DeliveryError, ResponseTransport, RetryPolicy, TransportError, deliver};
