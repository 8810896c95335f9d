//! Audit findings as events on an EventBridge bus of the account: the audit's own (the template
//! creates it, and only the audit role may put on it), or the default bus.

use std::sync::OnceLock;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};
use remote_exports_core::{AuditEvents, EventFailure, PublishError, StaleRead};

use crate::aws_error::call_error;

/// The `source` of every event the audit puts: rules match on it.
pub const EVENT_SOURCE: &str = "remote-exports";

/// PutEvents allows at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;

/// PutEvents on one bus, ten entries per call. The client is built on first use.
pub struct EventBridgeEvents {
    config: SdkConfig,
    client: OnceLock<Client>,
    bus: String,
}

impl EventBridgeEvents {
    /// Puts on `bus` (a name or ARN; `default` for the account's default bus).
    pub fn new(config: &SdkConfig, bus: &str) -> Self {
        EventBridgeEvents { config: config.clone(), client: OnceLock::new(), bus: bus.to_owned() }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::new(&self.config))
    }
}

/// One entry per stale read; `Resources` names the consumer stack so rules can match on it too. Every
/// entry of one check carries the same `time`, which a refresher makes its refresh value of.
fn entry(stale: &StaleRead, bus: &str, time: aws_sdk_eventbridge::primitives::DateTime) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .time(time)
        .event_bus_name(bus)
        .source(EVENT_SOURCE)
        .detail_type(stale.state.detail_type())
        .resources(&stale.stack_id)
        .detail(stale.event_detail().to_string())
        .build()
}

/// Why an entry was not accepted, or `None` when it was.
fn refusal(stale: &StaleRead, result: Option<&PutEventsResultEntry>) -> Option<EventFailure> {
    let (code, message) = match result {
        Some(result) if result.error_code.is_none() => return None,
        Some(result) => (result.error_code.as_deref(), result.error_message.as_deref()),
        None => (None, None),
    };
    Some(EventFailure::NotAccepted {
        stack_name: stale.stack_name.clone(),
        export: stale.export.clone(),
        code: code.unwrap_or("no entry in the answer").to_owned(),
        message: message.unwrap_or("no message").to_owned(),
    })
}

impl AuditEvents for EventBridgeEvents {
    async fn publish(&self, stale: &[StaleRead]) -> Result<usize, PublishError> {
        let mut accepted = 0;
        let mut failures = Vec::new();
        let time = aws_sdk_eventbridge::primitives::DateTime::from(std::time::SystemTime::now());
        for batch in stale.chunks(ENTRIES_PER_CALL) {
            let put = self
                .client()
                .put_events()
                .set_entries(Some(batch.iter().map(|stale| entry(stale, &self.bus, time)).collect()));
            let results = match put.send().await {
                Ok(answer) => answer.entries.unwrap_or_default(),
                Err(error) => {
                    failures.push(EventFailure::Call(call_error("PutEvents", &error)));
                    continue;
                }
            };
            for (index, stale) in batch.iter().enumerate() {
                match refusal(stale, results.get(index)) {
                    None => accepted += 1,
                    Some(failure) => failures.push(failure),
                }
            }
        }
        if failures.is_empty() { Ok(accepted) } else { Err(PublishError { accepted, failures }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use remote_exports_core::{PublisherRef, Staleness};
    use serde_json::Value;

    fn stale(export: &str) -> StaleRead {
        StaleRead {
            stack_id: "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid".into(),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            key: "Topic".into(),
            export: export.into(),
            source: PublisherRef { account: "2".into(), region: "eu-west-1".into(), role_arn: None },
            read_at: "2026-11-23T13:00:00Z".into(),
            state: Staleness::Removed,
            alert: "removed".into(),
            already_alerted: false,
            parameter: false,
        }
    }

    #[test]
    fn entries_carry_the_detail_type_and_the_consumer_stack() {
        let stale = stale("booking-topic");
        let time = aws_sdk_eventbridge::primitives::DateTime::from_secs(1_796_000_000);
        let entry = entry(&stale, "default", time);
        assert_eq!(entry.time, Some(time), "every entry of one check carries the check's time");
        assert_eq!(
            (entry.source.as_deref(), entry.detail_type.as_deref()),
            (Some("remote-exports"), Some("Remote export removed"))
        );
        assert_eq!(entry.resources.as_deref(), Some(&[stale.stack_id.clone()][..]));
        let detail: Value = serde_json::from_str(entry.detail.as_deref().unwrap()).unwrap();
        assert_eq!((detail["export"].as_str(), detail["state"].as_str()), (Some("booking-topic"), Some("removed")));
    }

    #[tokio::test]
    async fn batches_of_ten_and_refused_entries_are_named() {
        let rule = mock!(Client::put_events)
            .match_requests(|r| {
                let times: Vec<_> = r.entries().iter().map(|e| e.time).collect();
                times.iter().all(|t| t.is_some() && *t == times[0])
            })
            .sequence()
            .output(|| {
                let ok = PutEventsResultEntry::builder().event_id("e").build();
                let refused =
                    PutEventsResultEntry::builder().error_code("InternalFailure").error_message("try again").build();
                let mut entries = vec![ok; 9];
                entries.push(refused);
                PutEventsOutput::builder().set_entries(Some(entries)).failed_entry_count(1).build()
            });
        let rule = rule.times(2).build();
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&rule]);
        let events = EventBridgeEvents {
            config: SdkConfig::builder().build(),
            client: OnceLock::from(client),
            bus: "default".into(),
        };
        let reads: Vec<_> = (0..12).map(|i| stale(&format!("e{i}"))).collect();
        let error = events.publish(&reads).await.unwrap_err();
        assert_eq!(rule.num_calls(), 2);
        // The second call's answer also has ten entries, so its two reads take the first two.
        assert_eq!((error.accepted, error.failures.len()), (11, 1));
        let text = error.to_string();
        assert!(text.starts_with("11 event(s) put; event for airmiles e9 not accepted (InternalFailure"), "{text}");
    }
}
