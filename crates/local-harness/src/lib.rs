//! Local stand-ins for what surrounds the function in AWS, for the end-to-end tests, the demo and
//! the benchmark. Nothing here is used by the function itself.
//!
//! - [`RuntimeApi`]: the Lambda Runtime API that the real binary polls, with per-invocation deadlines.
//! - [`ResponseEndpoint`]: a ResponseURL in CloudFormation's shape that records every PUT and can fail on request.
//! - [`MotoResponses`]: CloudFormation's response bucket in moto's S3, with real presigned URLs.
//! - [`CountingProxy`]: sits between the function and moto and counts AWS calls on the wire.
//! - [`Moto`] and [`Publisher`]: a moto server process, and stacks with exports seeded into it.
//! - [`Function`]: the real Lambda binary, started as Lambda would start it.
//! - [`CpuQuota`]: a cgroup that holds a process to a Lambda function's share of one CPU.
//! - [`TestPki`] and [`TlsFront`]: a test CA, and TLS in front of a plain-HTTP stand-in.
//! - [`ReadsTable`] and [`AuditInbox`]: the read registry's table, and a queue that receives the audit's events.

mod capture;
mod cpu_quota;
mod event;
mod function;
mod http;
mod moto;
mod moto_responses;
mod proxy;
mod registry;
mod runtime_api;
pub mod story;
mod tls_front;

pub use capture::{CapturedPut, ResponseEndpoint};
pub use cpu_quota::{CpuQuota, MB_PER_VCPU};
pub use event::{SERVICE_TOKEN, create_event, response_bucket, response_key_path};
pub use function::{Function, FunctionOptions};
pub use moto::{CONSUMER_ACCOUNT, Moto, Publisher, sdk_config};
pub use moto_responses::MotoResponses;
pub use proxy::CountingProxy;
pub use registry::{AuditInbox, ExportsCacheTable, ReadsTable};
pub use runtime_api::{Invocation, Outcome, RuntimeApi};
pub use tls_front::{TestPki, TlsFront, check};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
