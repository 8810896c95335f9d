//! The scheduled audit as a use case of its own: every recorded read compared with what its
//! publisher exports now, and one event per stale read that no earlier audit alerted about. It is
//! built from what it uses (the publishers, the registry, the allow-lists) and nothing else.

use remote_exports_core::{
    AuditEvents, AuditReport, ConfigError, Governance, PublishError, PublisherReads, ReadRegistry, RegistryError,
    Staleness, audit,
};

/// Why an audit could not run at all (a source that cannot be read is in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit needs the read registry: set READS_TABLE (template parameter ReadsRegistry=true)")]
    NoRegistry,
    #[error("the function is misconfigured: {0}")]
    Config(ConfigError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("could not put the audit's events: {0}")]
    Publish(PublishError),
}

/// What a scheduled audit found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOutcome {
    pub report: AuditReport,
    pub events_put: usize,
}

/// Reads every publisher directly through `exports` (never through the shared snapshot, so a change
/// made just after a read that filled the snapshot is still found).
pub struct Audit<S, R> {
    exports: S,
    /// `None` when `READS_TABLE` is unset: every run then fails, naming the setting.
    registry: Option<R>,
    governance: Result<Governance, ConfigError>,
}

impl<S: PublisherReads, R: ReadRegistry> Audit<S, R> {
    /// `governance` is the function's allow-lists: a role no longer allowed is not assumed.
    pub fn new(exports: S, registry: Option<R>, governance: Result<Governance, ConfigError>) -> Self {
        Audit { exports, registry, governance }
    }

    /// Every recorded read compared with what its publisher exports now, one read per source.
    pub async fn report(&self) -> Result<AuditReport, AuditError> {
        let registry = self.registry.as_ref().ok_or(AuditError::NoRegistry)?;
        let governance = self.governance.as_ref().map_err(|error| AuditError::Config(error.clone()))?;
        let records = registry.scan().await?;
        Ok(audit(&records, &self.exports, governance).await)
    }

    /// [`Self::report`], then one event per stale read that no earlier audit alerted about in the
    /// same state, then the new alerted state in the registry; one log line for the run and a WARN
    /// per source that could not be read.
    pub async fn run<E: AuditEvents>(&self, events: &E) -> Result<AuditOutcome, AuditError> {
        let report = self.report().await?;
        let registry = self.registry.as_ref().ok_or(AuditError::NoRegistry)?;
        let Alerted { events_put, replaced, .. } = alert(&report, events, registry).await?;
        let to_alert = report.to_alert().count();
        let count = |state: Staleness| report.stale.iter().filter(|s| s.state == state).count();
        tracing::info!(
            readers = report.readers,
            sources = report.sources.len(),
            unchecked_sources = report.unchecked().count(),
            changed = count(Staleness::Changed),
            removed = count(Staleness::Removed),
            alerted_before = report.stale.len() - to_alert,
            events_put,
            records_replaced_since_read = replaced,
            "audited"
        );
        Ok(AuditOutcome { report, events_put })
    }
}

/// What [`alert`] did.
pub(crate) struct Alerted {
    pub events_put: usize,
    /// When the last event was out (ms since the epoch), before the alerted state was written.
    pub put_at_ms: Option<u64>,
    /// Records replaced by a newer read since the report read them: their alerts were not recorded.
    pub replaced: usize,
}

/// A WARN per source `report` could not read, one event per stale read no earlier check alerted
/// about, then the new alerted state in the registry: what the audit and a change event's check
/// both do with what they found.
pub(crate) async fn alert<E: AuditEvents, R: ReadRegistry>(
    report: &AuditReport,
    events: &E,
    registry: &R,
) -> Result<Alerted, AuditError> {
    for check in report.unchecked() {
        tracing::warn!(
            source = %check.source.describe(),
            readers = check.readers,
            error = check.error.as_ref().map(ToString::to_string).unwrap_or_default(),
            "could not read a source; its readers were not checked"
        );
    }
    let to_alert: Vec<_> = report.to_alert().cloned().collect();
    // Nothing is marked alerted unless every event is out: a failed run alerts again next time.
    let events_put =
        if to_alert.is_empty() { 0 } else { events.publish(&to_alert).await.map_err(AuditError::Publish)? };
    let put_at_ms = (events_put > 0).then(remote_exports_core::now_ms);
    let mut replaced = 0;
    for update in &report.alert_updates {
        match registry.mark_alerted(update).await {
            Ok(true) => {}
            Ok(false) => replaced += 1,
            // The events are out; the worst outcome is that the next check sends them again.
            Err(error) => tracing::warn!(reader = %update.reader, %error, "could not record what was alerted"),
        }
    }
    Ok(Alerted { events_put, put_at_ms, replaced })
}
