//! The export-lookup domain: from a resource's properties to the Data map, with governance applied.
//!
//! `ResourceProperties::parse` → `LookupPlan::new` (defaults and allow-lists, before any call) →
//! `lookup` over an [`ExportSource`] (the only port; AWS lives in an adapter crate) → `Selected`.
//! Every failure is a [`LookupError`] whose text is the Reason a stack author reads.

mod config;
mod error;
mod lookup;
mod pattern;
mod plan;
mod policy;
mod properties;
mod role_arn;
mod suggest;

pub use config::{ConfigError, Governance};
pub use error::{FailureKind, LookupError, MissingExport, SourceError, SourceStep};
pub use lookup::{Export, ExportSource, ParameterStore, Selected, lookup};
pub use pattern::{Pattern, PatternList};
pub use plan::{ExportFilter, LookupPlan, Origin, Source};
pub use policy::{ConsumerPolicy, ConsumerRules, PolicyError, PolicyOrigin};
pub use properties::{PropertyError, ResourceProperties, Selection};
pub use role_arn::{InvalidRoleArn, RoleArn};
pub use suggest::closest;
