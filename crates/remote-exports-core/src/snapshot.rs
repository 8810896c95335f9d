//! The port of the shared export snapshot (see `remote_exports_app::SnapshotSource` for its use).

use std::future::Future;

/// A snapshot's header: which generation of parts to read, and when its read started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub generation: String,
    pub parts: u32,
    /// When the ListExports read behind it started, in ms since the epoch.
    pub read_at_ms: u64,
}

/// Where snapshots and leases live (a DynamoDB table keyed by `Key` in production). Errors are
/// sentences with the AWS error code.
pub trait SnapshotStore: Send + Sync {
    fn meta(&self, key: &str) -> impl Future<Output = Result<Option<SnapshotMeta>, String>> + Send;
    /// The parts of one generation, concatenated.
    fn body(&self, key: &str, meta: &SnapshotMeta) -> impl Future<Output = Result<String, String>> + Send;
    /// Stores a new generation: its parts first, then the header that points at them.
    fn store(&self, key: &str, read_at_ms: u64, body: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// Takes the lease unless someone else holds one that has not expired.
    fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> impl Future<Output = Result<bool, String>> + Send;
    fn release(&self, key: &str, holder: &str) -> impl Future<Output = Result<(), String>> + Send;
}

impl<T: SnapshotStore> SnapshotStore for std::sync::Arc<T> {
    fn meta(&self, key: &str) -> impl Future<Output = Result<Option<SnapshotMeta>, String>> + Send {
        (**self).meta(key)
    }
    fn body(&self, key: &str, meta: &SnapshotMeta) -> impl Future<Output = Result<String, String>> + Send {
        (**self).body(key, meta)
    }
    fn store(&self, key: &str, read_at_ms: u64, body: &str) -> impl Future<Output = Result<(), String>> + Send {
        (**self).store(key, read_at_ms, body)
    }
    fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> impl Future<Output = Result<bool, String>> + Send {
        (**self).try_lease(key, holder, now_ms, until_ms)
    }
    fn release(&self, key: &str, holder: &str) -> impl Future<Output = Result<(), String>> + Send {
        (**self).release(key, holder)
    }
}
