//! The use cases: `Custom::RemoteExports` as a [`cloudformation_custom_resource::CustomResource`] (properties →
//! plan (allow-lists and the consumer's policy) → lookup → Data), the stale-read [`Audit`], and the
//! [`ExportGuard`] that stops a publisher removing what others read. The
//! Lambda binary and the CLI both run these, each with its own adapters; neither the protocol nor AWS
//! lives here.

mod audit;
mod change_check;
mod guard;
mod listing;
mod policy_cache;
mod preview;
mod readers;
mod refresher;
mod resource;
mod settings;

pub use audit::{Audit, AuditError, AuditOutcome};
pub use change_check::{ChangeCheck, ChangeOutcome, ChangeReport, DEFAULT_CHECK_WINDOW};
pub use guard::{ExportGuard, GuardError, GuardScope, PreviousTemplate, Proposed};
pub use listing::{ListError, ListRequest, Listed, Listing, SECURE_STRING_SHOWN};
pub use policy_cache::PolicyCache;
pub use preview::{Preview, PreviewError, PreviewProperties, PreviewStack, PreviewWarning, TemplateError, preview};
pub use readers::{Pruned, ReaderFilter, forget_shown, readers, readers_of_stack};
pub use refresher::{RefreshError, RefreshOutcome, Refresher};
pub use resource::{NoRegistry, REGISTRY_FOLLOW_UP, RemoteExports};
pub use settings::{Governed, PolicySetting, Settings, SnapshotSettings};
