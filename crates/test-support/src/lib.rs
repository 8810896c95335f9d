//! What the tests run against: local stand-ins for what surrounds the function in AWS, and
//! fixtures written apart from the code under test. Used by the end-to-end tests (`tests/`) and by
//! the tools (`crates/tools`: demo, benchmark, sam-local); nothing here ships in the function.
//!
//! - [`RuntimeApi`]: the Lambda Runtime API that the real binary polls, with per-invocation deadlines.
//! - [`ResponseEndpoint`]: a ResponseURL in CloudFormation's shape that records every PUT and can fail on request.
//! - [`MotoResponses`]: CloudFormation's response bucket in moto's S3, with real presigned URLs.
//! - [`CountingProxy`]: sits between the function and moto and counts AWS calls on the wire.
//! - [`Moto`] and [`Publisher`]: a moto server process, and stacks with exports seeded into it.
//! - [`Function`]: the real Lambda binary, started as Lambda would start it.
//! - [`TestPki`] and [`TlsFront`]: a test CA, and TLS in front of a plain-HTTP stand-in.
//! - [`HookPayloads`]: a Lambda Hook's payload in moto's S3, behind a presigned GET URL.
//! - [`ReadsTable`] and [`AuditInbox`]: the read registry's table, and a queue that receives the audit's events.

mod aws_errors;
mod capture;
mod event;
mod function;
mod hook_payloads;
mod http;
mod moto;
mod moto_responses;
mod proxy;
mod runtime_api;
mod tables;
mod tls_front;

pub use aws_errors::AwsError;
pub use capture::{CapturedPut, ResponseEndpoint};
pub use event::{SERVICE_TOKEN, create_event, response_bucket, response_key_path};
pub use function::{Function, FunctionOptions};
pub use hook_payloads::HookPayloads;
pub use moto::{CONSUMER_ACCOUNT, Moto, Publisher, sdk_config};
pub use moto_responses::MotoResponses;
pub use proxy::CountingProxy;
pub use runtime_api::{Invocation, Outcome, RuntimeApi};
pub use tables::{AuditInbox, ReadsTable, SnapshotTable, reader_item};
pub use tls_front::{TestPki, TlsFront, check};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
