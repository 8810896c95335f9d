//! AWS adapters for the export-lookup domain and the custom-resource protocol.
//!
//! Every AWS call goes through the service's SDK client, built from the process's one `SdkConfig`
//! (or the assumed role's), so endpoints (FIPS, dual-stack, every partition), credentials caching,
//! clock-skew correction, retries and error shapes are the SDK's. Clients are built on first use.
//!
//! - [`PublisherAccounts`]: the domain's publisher ports (exports, stack outputs, SSM parameters,
//!   admission, attempts), over STS AssumeRole, paginated ListExports, DescribeStacks and
//!   GetParameters, with one client (and so one credential cache) per role, external ID and region.
//! - [`SsmConsumerPolicy`]: the domain's `ConsumerPolicyStore`, for a consumer policy kept in SSM.
//! - [`DynamoDbRegistry`]: the domain's `ReadRegistry`, a DynamoDB table keyed by `Reader`.
//! - [`EventBridgeEvents`]: the domain's `AuditEvents`, PutEvents on the default bus.
//! - [`SnapshotReader`]: the publisher ports again, through the shared snapshot when there is one
//!   (single flight under a lease), else directly; [`DynamoDbSnapshots`]: its `SnapshotStore`.
//! - [`CloudFormationStacks`]: the guard's `PublisherStacks`, DescribeStacks in its own account;
//!   [`guard_registry`]: the registry read through the central role, as this account.
//! - [`call_error`]: any failed SDK call as the domain's `CallError`: code, else HTTP status, else
//!   no answer.
//! - [`HttpResponseTransport`]: the protocol's `ResponseTransport`, a reqwest PUT to the ResponseURL.
//! - [`TrustRoots`] and [`load_sdk_config`]: one TLS trust decision for both HTTP clients.

mod assumed_role;
mod aws_error;
mod consumer_policy;
mod dynamodb_registry;
mod dynamodb_snapshots;
mod events;
mod publisher_accounts;
mod publisher_parameters;
mod response_transport;
mod snapshot_reader;
mod stacks;
mod tls;

pub use aws_error::call_error;
pub use consumer_policy::SsmConsumerPolicy;
pub use dynamodb_registry::{DynamoDbRegistry, READER_KEY, SOURCE_INDEX};
pub use dynamodb_snapshots::{DynamoDbSnapshots, SNAPSHOT_KEY};
pub use events::{EVENT_SOURCE, EventBridgeEvents};
pub use publisher_accounts::{PublisherAccounts, UNTIL_DEADLINE};
pub use response_transport::HttpResponseTransport;
pub use snapshot_reader::{LEASE, SnapshotReader, snapshot_key};
pub use stacks::{CloudFormationStacks, caller_account, guard_registry};
pub use tls::{TrustRoots, UnknownTrustRoots, load_sdk_config, sdk_config_loader};
