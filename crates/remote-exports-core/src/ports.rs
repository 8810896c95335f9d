//! The domain's ports, in one place: what it needs from the world, each implemented by an adapter
//! (`remote-exports-aws`) and by an in-memory fake (`testing`).
//!
//! - [`PublishedExports`], [`PublishedOutputs`], [`PublishedParameters`]: what a publisher publishes
//!   (CloudFormation exports and stack outputs, SSM parameters, through its role); [`Admission`]:
//!   whether it admits a consumer; [`ReadAttempts`]: how a read went so far. [`PublisherReads`] is
//!   all five, the one bound the use cases take.
//! - [`ConsumerPolicyStore`]: the consumer policy kept as a parameter (SSM).
//! - [`ReadRegistry`]: who read what (DynamoDB).
//! - [`AuditEvents`]: stale reads as events (EventBridge).
//! - [`SnapshotStore`]: the shared export snapshot and its leases (DynamoDB).
//! - [`ReadersBySource`], [`PublisherStacks`]: the export guard's registry query and own stacks.
//! - [`ConsumerStacks`]: the refresher's own stacks (describe, change set, update).

use std::future::Future;
use std::ops::ControlFlow;

use crate::error::{CallError, ReadError};
use crate::guard::CurrentStack;
use crate::parameter::{Parameter, ParameterRef};
use crate::plan::Source;
use crate::published::{Export, StackOutputs};
use crate::read_record::{AlertUpdate, ReadRecord};
use crate::staleness::StaleRead;

/// How a read of a source went so far, counted per attempt (retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attempts {
    pub attempts: u32,
    /// Attempts refused as throttled ("Rate exceeded").
    pub throttled: u32,
}

/// A publisher's exports, one page at a time (ListExports through the publisher's role).
pub trait PublishedExports: Send + Sync {
    /// Hands each page to `on_page` until the pages run out or `on_page` returns `Break`, which
    /// means no further page should be requested. Returns how many pages were read.
    fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> impl Future<Output = Result<u32, ReadError>> + Send;
}

/// A publisher's stacks' outputs (DescribeStacks through the publisher's role).
pub trait PublishedOutputs: Send + Sync {
    /// The outputs of the stack named `stack_name` (one DescribeStacks), or `None` when no such stack
    /// exists: never found, or deleted.
    fn stack_outputs(
        &self,
        source: &Source,
        stack_name: &str,
    ) -> impl Future<Output = Result<Option<StackOutputs>, ReadError>> + Send;
}

/// A publisher's SSM parameters (through the publisher's role).
pub trait PublishedParameters: Send + Sync {
    /// One GetParameters call for `batch` (at most ten references, one per parameter: see
    /// [`crate::batches`]), decrypting SecureStrings only when `decrypt`. Each parameter found comes
    /// with the reference it answers; a reference that names none is left out.
    fn get_parameters(
        &self,
        source: &Source,
        batch: &[ParameterRef],
        decrypt: bool,
    ) -> impl Future<Output = Result<Vec<(ParameterRef, Parameter)>, ReadError>> + Send;

    /// The names of the parameters under `path` (directly, or at any depth when `recursive`) that the
    /// role may see (GetParametersByPath, never decrypted, values dropped): asked to suggest a name
    /// for a missing parameter, and by the CLI's `list --parameters`.
    fn parameter_names_under(
        &self,
        source: &Source,
        path: &str,
        recursive: bool,
    ) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send;
}

/// Whether the publisher admits a consumer.
pub trait Admission: Send + Sync {
    /// Whether the publisher admits `source`'s identity: for a role, STS has accepted AssumeRole
    /// with this consumer's identity (now, or for credentials still valid). Values that did not
    /// come from this source's own read (a shared snapshot) may be served only after this.
    fn admit(&self, _source: &Source) -> impl Future<Output = Result<(), ReadError>> + Send {
        std::future::ready(Ok(()))
    }
}

/// How a request's reads of a source went so far: the one count of attempts that both a timeout's
/// Reason and the function's `ThrottledAttempts` metric come from.
pub trait ReadAttempts: Send + Sync {
    /// Counts `source`'s attempts afresh: a request's reads begin.
    fn restart(&self, _source: &Source) {}

    /// The attempts since the last [`Self::restart`] for `source`, also while a read is still
    /// running or after it was cut off by a deadline; `None` when the reader does not count them.
    fn attempts(&self, _source: &Source) -> Option<Attempts> {
        None
    }
}

/// Everything a read of a publisher uses, as one bound: what `lookup`, the audit and the snapshot
/// decorator take. Anything that implements the five ports is one.
pub trait PublisherReads: PublishedExports + PublishedOutputs + PublishedParameters + Admission + ReadAttempts {}

impl<T: PublishedExports + PublishedOutputs + PublishedParameters + Admission + ReadAttempts> PublisherReads for T {}

/// A shared reader reads as the reader itself.
impl<T: PublishedExports> PublishedExports for std::sync::Arc<T> {
    fn scan_exports(
        &self,
        source: &Source,
        on_page: &mut (dyn FnMut(Vec<Export>) -> ControlFlow<()> + Send),
    ) -> impl Future<Output = Result<u32, ReadError>> + Send {
        (**self).scan_exports(source, on_page)
    }
}

impl<T: PublishedOutputs> PublishedOutputs for std::sync::Arc<T> {
    fn stack_outputs(
        &self,
        source: &Source,
        stack_name: &str,
    ) -> impl Future<Output = Result<Option<StackOutputs>, ReadError>> + Send {
        (**self).stack_outputs(source, stack_name)
    }
}

impl<T: PublishedParameters> PublishedParameters for std::sync::Arc<T> {
    fn get_parameters(
        &self,
        source: &Source,
        batch: &[ParameterRef],
        decrypt: bool,
    ) -> impl Future<Output = Result<Vec<(ParameterRef, Parameter)>, ReadError>> + Send {
        (**self).get_parameters(source, batch, decrypt)
    }

    fn parameter_names_under(
        &self,
        source: &Source,
        path: &str,
        recursive: bool,
    ) -> impl Future<Output = Result<Vec<String>, ReadError>> + Send {
        (**self).parameter_names_under(source, path, recursive)
    }
}

impl<T: Admission> Admission for std::sync::Arc<T> {
    fn admit(&self, source: &Source) -> impl Future<Output = Result<(), ReadError>> + Send {
        (**self).admit(source)
    }
}

impl<T: ReadAttempts> ReadAttempts for std::sync::Arc<T> {
    fn restart(&self, source: &Source) {
        (**self).restart(source)
    }

    fn attempts(&self, source: &Source) -> Option<Attempts> {
        (**self).attempts(source)
    }
}

/// Reads a named text parameter, such as a consumer policy kept in SSM Parameter Store.
pub trait ConsumerPolicyStore: Send + Sync {
    /// The parameter's value (decrypted when it is stored encrypted), or why it cannot be used.
    fn get(&self, name: &str) -> impl Future<Output = Result<String, PolicyStoreError>> + Send;
}

/// A shared store reads as the store itself.
impl<T: ConsumerPolicyStore> ConsumerPolicyStore for std::sync::Arc<T> {
    fn get(&self, name: &str) -> impl Future<Output = Result<String, PolicyStoreError>> + Send {
        (**self).get(name)
    }
}

/// Why a parameter's value cannot be used. Each text completes "the parameter could not be read: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyStoreError {
    /// A type that does not hold one text, such as `StringList`.
    #[error("it is a {found} parameter, which cannot hold a JSON document; store it as a String or SecureString")]
    WrongType { found: String },
    /// A SecureString whose KMS key the reader may not use.
    #[error(
        "it is a SecureString that the function cannot decrypt ({detail}); grant the function kms:Decrypt on its \
         KMS key (template parameter ConsumerPolicyKmsKeyArn), or encrypt it with the AWS-managed aws/ssm key"
    )]
    CannotDecrypt { detail: String },
    /// Missing, denied, throttled or unreachable: the store's own words.
    #[error("{0}")]
    Unreadable(String),
}

/// The registry could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on the reads table {table} failed ({}: {message})", self.cause())]
pub struct RegistryError {
    pub operation: &'static str,
    pub table: String,
    /// The AWS error code, such as `ResourceNotFoundException` or `AccessDeniedException`.
    pub code: Option<String>,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    pub message: String,
}

impl RegistryError {
    /// The error code, else the HTTP status, else that no answer came.
    pub fn cause(&self) -> String {
        crate::error::call_cause(self.code.as_deref(), self.status)
    }
}

/// Where reads are recorded (a DynamoDB table in production).
pub trait ReadRegistry: Send + Sync {
    /// Records what a consumer resource read, replacing what it read before.
    fn record(&self, record: &ReadRecord) -> impl Future<Output = Result<(), RegistryError>> + Send;
    /// Forgets a consumer resource (its Delete), but only the record that `physical_resource_id`
    /// wrote: after a replacement, CloudFormation deletes the old ID once the new one has been
    /// recorded. `Ok(false)` when the record was left because another ID wrote it. Forgetting an
    /// unknown reader is not an error.
    fn forget(
        &self,
        reader: &str,
        physical_resource_id: Option<&str>,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send;
    /// Every record. Items it cannot understand are skipped with a warning, not fatal.
    fn scan(&self) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send;
    /// Records what an audit alerted about, unless the record was replaced since it was read, or its
    /// alerted state changed since (`Ok(false)`): a newer read starts with nothing alerted, and a
    /// concurrent check's alerts are kept.
    fn mark_alerted(&self, update: &AlertUpdate) -> impl Future<Output = Result<bool, RegistryError>> + Send;
}

impl<R: ReadRegistry> ReadRegistry for std::sync::Arc<R> {
    fn record(&self, record: &ReadRecord) -> impl Future<Output = Result<(), RegistryError>> + Send {
        (**self).record(record)
    }
    fn forget(
        &self,
        reader: &str,
        physical_resource_id: Option<&str>,
    ) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).forget(reader, physical_resource_id)
    }
    fn scan(&self) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send {
        (**self).scan()
    }
    fn mark_alerted(&self, update: &AlertUpdate) -> impl Future<Output = Result<bool, RegistryError>> + Send {
        (**self).mark_alerted(update)
    }
}

/// Puts one event per stale read on an event bus.
pub trait AuditEvents: Send + Sync {
    /// Returns how many events were accepted; an error says which were not and why.
    fn publish(&self, stale: &[StaleRead]) -> impl Future<Output = Result<usize, PublishError>> + Send;
}

/// Some stale-read events were not put: how many were, and why each other one was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{accepted} event(s) put; {}", failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PublishError {
    pub accepted: usize,
    pub failures: Vec<EventFailure>,
}

/// Why events were not put.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFailure {
    /// The whole call failed: none of its events was put.
    #[error("{0}")]
    Call(CallError),
    /// The bus refused this one event.
    #[error("event for {stack_name} {export} not accepted ({code}: {message})")]
    NotAccepted { stack_name: String, export: String, code: String, message: String },
}

/// A snapshot's header: which generation of parts to read, and when its read started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub generation: String,
    pub parts: u32,
    /// When the ListExports read behind it started, in ms since the epoch.
    pub read_at_ms: u64,
}

/// Why the snapshot table could not be used (then every read goes to the publisher directly).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Call(#[from] CallError),
    /// An item the table holds is not one this version wrote (or is incomplete).
    #[error("the snapshot is not understood: {0}")]
    Unreadable(String),
}

/// Where snapshots and leases live (a DynamoDB table keyed by `Key` in production).
pub trait SnapshotStore: Send + Sync {
    fn meta(&self, key: &str) -> impl Future<Output = Result<Option<SnapshotMeta>, SnapshotError>> + Send;
    /// The parts of one generation, concatenated.
    fn body(&self, key: &str, meta: &SnapshotMeta) -> impl Future<Output = Result<String, SnapshotError>> + Send;
    /// Stores a new generation: its parts first, then the header that points at them.
    fn store(&self, key: &str, read_at_ms: u64, body: &str) -> impl Future<Output = Result<(), SnapshotError>> + Send;
    /// Takes the lease unless someone else holds one that has not expired.
    fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> impl Future<Output = Result<bool, SnapshotError>> + Send;
    fn release(&self, key: &str, holder: &str) -> impl Future<Output = Result<(), SnapshotError>> + Send;
}

impl<T: SnapshotStore> SnapshotStore for std::sync::Arc<T> {
    fn meta(&self, key: &str) -> impl Future<Output = Result<Option<SnapshotMeta>, SnapshotError>> + Send {
        (**self).meta(key)
    }
    fn body(&self, key: &str, meta: &SnapshotMeta) -> impl Future<Output = Result<String, SnapshotError>> + Send {
        (**self).body(key, meta)
    }
    fn store(&self, key: &str, read_at_ms: u64, body: &str) -> impl Future<Output = Result<(), SnapshotError>> + Send {
        (**self).store(key, read_at_ms, body)
    }
    fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> impl Future<Output = Result<bool, SnapshotError>> + Send {
        (**self).try_lease(key, holder, now_ms, until_ms)
    }
    fn release(&self, key: &str, holder: &str) -> impl Future<Output = Result<(), SnapshotError>> + Send {
        (**self).release(key, holder)
    }
}

/// The registry as the export guard reads it: one publisher's readers, by a query on the source,
/// never a scan of everyone's.
pub trait ReadersBySource: Send + Sync {
    /// Every record of consumers that read from `account` in `region`.
    fn readers_of(
        &self,
        account: &str,
        region: &str,
    ) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send;
}

impl<R: ReadersBySource> ReadersBySource for std::sync::Arc<R> {
    fn readers_of(
        &self,
        account: &str,
        region: &str,
    ) -> impl Future<Output = Result<Vec<ReadRecord>, RegistryError>> + Send {
        (**self).readers_of(account, region)
    }
}

/// The publisher's own stacks, as the guard sees them before an operation.
pub trait PublisherStacks: Send + Sync {
    /// The stack named `stack` as it stands, or `None` when it does not exist (yet).
    fn current(&self, stack: &str) -> impl Future<Output = Result<Option<CurrentStack>, StackReadError>> + Send;
    /// The template as written: the stack's deployed one, or with `change_set` that change set's
    /// (`None`: no such stack).
    fn template(
        &self,
        stack: &str,
        change_set: Option<&str>,
    ) -> impl Future<Output = Result<Option<String>, StackReadError>> + Send;
    /// The parameter values a change set was created with.
    fn change_set_parameters(
        &self,
        change_set: &str,
    ) -> impl Future<Output = Result<crate::template::Parameters, StackReadError>> + Send;
}

/// A publisher's own stack (or change set) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of {subject} failed ({}: {})", call.operation, call.cause(), call.message)]
pub struct StackReadError {
    /// The stack or change set asked about.
    pub subject: String,
    pub call: CallError,
}

/// The consumer account's own stacks, as the refresher sees and changes them.
pub trait ConsumerStacks: Send + Sync {
    /// The stack `stack_id` as it stands, or `None` when it no longer exists.
    fn describe(
        &self,
        stack_id: &str,
    ) -> impl Future<Output = Result<Option<crate::refresh::ConsumerStack>, StackReadError>> + Send;
    /// A change set of the previous template with these parameters; its ID. A change set of that name
    /// that exists already is `Ok(None)`: the refresh was proposed before.
    fn create_change_set(
        &self,
        stack: &crate::refresh::ConsumerStack,
        name: &str,
        parameters: &[(String, crate::refresh::ParameterValue)],
    ) -> impl Future<Output = Result<Option<String>, StackReadError>> + Send;
    /// An update of the previous template with these parameters, under the stack's own role.
    fn update(
        &self,
        stack: &crate::refresh::ConsumerStack,
        parameters: &[(String, crate::refresh::ParameterValue)],
    ) -> impl Future<Output = Result<(), StackReadError>> + Send;
}
