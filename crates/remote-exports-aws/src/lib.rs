//! AWS adapters for the export-lookup domain and the custom-resource protocol.
//!
//! - [`CloudFormationExports`]: the domain's `ExportSource`, over STS AssumeRole and paginated
//!   ListExports, with one client (and so one credential cache) per role, external ID and region.
//! - [`HttpResponseTransport`]: the protocol's `ResponseTransport`, a reqwest PUT to the ResponseURL.
//! - [`TrustRoots`] and [`load_sdk_config`]: one TLS trust decision for both HTTP clients.

mod exports;
mod response_transport;
mod tls;

pub use exports::CloudFormationExports;
pub use response_transport::HttpResponseTransport;
pub use tls::{TrustRoots, load_sdk_config};
