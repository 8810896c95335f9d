//! `Custom::RemoteExports` as a [`cfn_custom_resource::CustomResource`]: properties → plan (allow-lists
//! and the consumer's policy) → lookup → Data. The Lambda binary and the CLI both run this, each with
//! its own adapters; neither the protocol nor AWS lives here.

mod policy_cache;
mod resource;
mod settings;
mod snapshot;

pub use policy_cache::PolicyCache;
pub use resource::{AuditError, AuditOutcome, NoRegistry, REGISTRY_FOLLOW_UP, RemoteExports};
pub use settings::{PolicySetting, Settings, SnapshotSettings};
pub use snapshot::{LEASE, SnapshotSource, now_ms, snapshot_key};
