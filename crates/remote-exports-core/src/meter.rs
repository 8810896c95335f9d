//! The port through which adapters and the resource count what operators alarm on. The Lambda
//! binary turns the counts into CloudWatch metrics; nothing here knows how they are published.

/// What is counted during one request (or one audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A read answered from the shared snapshot.
    SnapshotHit,
    /// A read that went to the publisher although a snapshot table is configured.
    SnapshotMiss,
    /// A CloudFormation attempt refused as throttled (retries included).
    ThrottledAttempt,
}

/// Receives counts. Implementations must be cheap: they are called on the request's path.
pub trait Meter: Send + Sync {
    fn add(&self, count: Count, n: u32);
    /// The kind of the FAILED answer being prepared ([`crate::LookupError::kind`]).
    fn failed(&self, kind: &'static str);
}

/// Counts nothing: for the CLI and for tests that do not look.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMeter;

impl Meter for NoMeter {
    fn add(&self, _: Count, _: u32) {}
    fn failed(&self, _: &'static str) {}
}

/// Now, in ms since the epoch: the clock snapshots, leases and metrics are stamped with.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
