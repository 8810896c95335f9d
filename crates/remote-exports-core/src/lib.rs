//! The export-lookup domain: from a resource's properties to the Data map, with governance applied.
//!
//! `ResourceProperties::parse` → `LookupPlan::new` (defaults and allow-lists, before any call) →
//! `lookup` over an [`ExportSource`] (exports and stack outputs; AWS lives in adapter crates) → `Selected`.
//! Every failure is a [`LookupError`] whose text is the Reason a stack author reads.
//!
//! The read registry ([`ReadRegistry`], [`ReadRecord`], [`audit`]) records who read what, with
//! keyed fingerprints instead of values, and finds reads whose export changed or disappeared.

mod config;
mod error;
mod lookup;
mod meter;
mod pattern;
mod plan;
mod policy;
mod properties;
mod registry;
mod role_arn;
mod snapshot;
mod suggest;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use config::{ConfigError, Governance};
pub use error::{FailureKind, LookupError, MissingExport, MissingKind, SourceError, SourceStep, call_cause};
pub use lookup::{
    Attempts, Export, ExportOrigin, ExportSource, ParameterError, ParameterStore, Selected, StackOutputs, lookup,
};
pub use meter::{Count, Meter, NoMeter};
pub use pattern::{Pattern, PatternList};
pub use plan::{Consumer, ExportFilter, LookupPlan, Origin, Source};
pub use policy::{ConsumerPolicy, ConsumerRules, PolicyError, PolicyOrigin};
pub use properties::{OutputRequest, PropertyError, ResourceProperties, Selection, output_ref};
pub use registry::{
    AUDIT_SESSION_NAME, AlertUpdate, AuditEvents, AuditReport, FINGERPRINT_SCHEME, REMOVED, ReadExport, ReadRecord,
    ReadRegistry, RegistryError, SourceCheck, SourceRef, StaleRead, Staleness, audit, fingerprint, opaque_id,
    reader_key, rfc3339,
};
pub use role_arn::{InvalidRoleArn, RoleArn};
pub use snapshot::{SnapshotMeta, SnapshotStore};
pub use suggest::closest;
