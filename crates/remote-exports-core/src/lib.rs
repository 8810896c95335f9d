//! The export-lookup domain: from a resource's properties to the Data map, with governance applied.
//!
//! `ResourceProperties::parse` → `LookupPlan::new` (defaults and allow-lists, before any call) →
//! `lookup` over an [`PublisherReads`] (exports, stack outputs and SSM parameters; AWS lives in adapter
//! crates) → `Selected`.
//! Every failure is a [`LookupError`] whose text is the Reason a stack author reads.
//!
//! The read registry ([`ReadRegistry`], [`ReadRecord`], [`audit`]) records who read what, with
//! keyed fingerprints instead of values, and finds reads whose export changed or disappeared.
//!
//! One job per module: `properties` → `plan` → `lookup` (selection) over `published` values;
//! `read_record`, `fingerprint`, `staleness` and `audit` for the registry; every port in `ports`.

mod audit;
mod change;
mod config;
mod error;
mod fingerprint;
mod guard;
mod lookup;
mod meter;
mod parameter;
mod pattern;
mod plan;
mod policy;
mod ports;
mod properties;
mod published;
mod read_record;
mod refresh;
mod role_arn;
mod staleness;
mod suggest;
pub mod template;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use audit::{AUDIT_SESSION_NAME, AuditReport, PublisherCheck, UncheckedSource, audit, audit_scoped};
pub use change::{
    Changed, Ignored, OUTPUT_CHANGING_STATUSES, PARAMETER_OPERATIONS, PARAMETER_STORE_CHANGE, RefusedChange,
    STACK_STATUS_CHANGE, SourceChange,
};
pub use config::{ConfigError, Governance};
pub use error::{
    CallError, FailureKind, LookupError, MissingExport, MissingKind, ReadError, ReadStep, Reads, call_cause,
};
pub use fingerprint::{FINGERPRINT_SCHEME, fingerprint, opaque_id};
pub use guard::{
    Affected, Changes, CurrentOutput, CurrentStack, Operation, Reader, Removal, RemovalKind, TemplateProblem,
    ValueChange, Verdict, changes, subject, verdict,
};
pub use lookup::{Selected, lookup};
pub use meter::{Count, Meter, NoMeter, now_ms};
pub use parameter::{GET_PARAMETERS_BATCH, InvalidParameterRef, Parameter, ParameterRef, batches};
pub use pattern::{Pattern, PatternList};
pub use plan::{Consumer, ExportFilter, LookupPlan, Origin, Source};
pub use policy::{ConsumerPolicy, ConsumerRules, EntryProblem, PolicyError, PolicyOrigin};
pub use ports::{
    Admission, Attempts, AuditEvents, ConsumerPolicyStore, ConsumerStacks, EventFailure, PolicyStoreError,
    PublishError, PublishedExports, PublishedOutputs, PublishedParameters, PublisherReads, PublisherStacks,
    ReadAttempts, ReadRegistry, ReadersBySource, RegistryError, SnapshotError, SnapshotMeta, SnapshotStore,
    StackReadError,
};
pub use properties::{OutputRequest, PropertyError, ResourceProperties, Selection, output_ref};
pub use published::{Export, ExportOrigin, ParameterVersion, StackOutputs, parameter_origin};
pub use read_record::{AlertUpdate, PublisherRef, ReadExport, ReadRecord, parameter_key, reader_key, rfc3339};
pub use refresh::{
    ConsumerStack, DEFAULT_REFRESH_PARAMETER, ParameterValue, REFRESH_PARAMETER_TAG, REFRESH_TAG, RefreshMode,
    RefreshPlan, RefusedStaleEvent, StaleEvent, plan_refresh,
};
pub use role_arn::{InvalidRoleArn, RoleArn};
pub use staleness::{REMOVED, StaleRead, Staleness};
pub use suggest::closest;
