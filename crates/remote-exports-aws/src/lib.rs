//! AWS adapters for the export-lookup domain and the custom-resource protocol.
//!
//! - [`CloudFormationExports`]: the domain's `ExportSource`, over STS AssumeRole and paginated
//!   ListExports, with one client (and so one credential cache) per role, external ID and region.
//! - [`HttpResponseTransport`]: the protocol's `ResponseTransport`, a reqwest PUT to the ResponseURL.

mod exports;
mod response_transport;

pub use exports::{CloudFormationExports, load_sdk_config};
pub use response_transport::HttpResponseTransport;
