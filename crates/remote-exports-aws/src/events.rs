//! Audit findings as events on the account's default EventBridge bus.

use aws_config::SdkConfig;
use remote_exports_core::{AuditEvents, StaleRead};
use serde_json::{Value, json};

use crate::TrustRoots;
use crate::signed_json::{EVENTBRIDGE, JsonClient};

/// The `source` of every event the audit puts: rules match on it.
pub const EVENT_SOURCE: &str = "remote-exports";

/// PutEvents allows at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;

/// PutEvents on the default bus, ten entries per call.
pub struct EventBridgeEvents {
    client: JsonClient,
}

impl EventBridgeEvents {
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE`, else the configuration's endpoint override, else the regional endpoint.
    pub fn new(config: &SdkConfig, roots: TrustRoots) -> Self {
        EventBridgeEvents { client: JsonClient::new(EVENTBRIDGE, config, roots) }
    }
}

/// One entry per stale read; `Resources` names the consumer stack so rules can match on it too.
fn entry(stale: &StaleRead) -> Value {
    json!({
        "EventBusName": "default",
        "Source": EVENT_SOURCE,
        "DetailType": stale.state.detail_type(),
        "Resources": [stale.stack_id],
        "Detail": stale.event_detail().to_string(),
    })
}

impl AuditEvents for EventBridgeEvents {
    async fn publish(&self, stale: &[StaleRead]) -> Result<usize, String> {
        let mut accepted = 0;
        let mut failures = Vec::new();
        for batch in stale.chunks(ENTRIES_PER_CALL) {
            let input = json!({"Entries": batch.iter().map(entry).collect::<Vec<_>>()});
            let answer = match self.client.call("PutEvents", &input).await {
                Ok(answer) => answer,
                Err(error) => {
                    failures.push(error.to_string());
                    continue;
                }
            };
            let results = answer["Entries"].as_array().cloned().unwrap_or_default();
            for (stale, result) in batch.iter().zip(results.iter().chain(std::iter::repeat(&Value::Null))) {
                match result["ErrorCode"].as_str() {
                    None if result.is_object() => accepted += 1,
                    code => failures.push(format!(
                        "event for {} {} not accepted ({}: {})",
                        stale.stack_name,
                        stale.export,
                        code.unwrap_or("no entry in the answer"),
                        result["ErrorMessage"].as_str().unwrap_or("no message")
                    )),
                }
            }
        }
        if failures.is_empty() {
            Ok(accepted)
        } else {
            Err(format!("{accepted} event(s) put; {}", failures.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remote_exports_core::{SourceRef, Staleness};

    #[test]
    fn entries_carry_the_detail_type_and_the_consumer_stack() {
        let stale = StaleRead {
            stack_id: "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid".into(),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            key: "Topic".into(),
            export: "booking-topic".into(),
            source: SourceRef { account: "2".into(), region: "eu-west-1".into(), role_arn: None, external_id: None },
            read_at: "2026-11-23T13:00:00Z".into(),
            state: Staleness::Removed,
        };
        let entry = entry(&stale);
        assert_eq!(
            (entry["Source"].as_str(), entry["DetailType"].as_str()),
            (Some("remote-exports"), Some("Remote export removed"))
        );
        assert_eq!(entry["Resources"][0], stale.stack_id);
        let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!((detail["export"].as_str(), detail["state"].as_str()), (Some("booking-topic"), Some("removed")));
    }
}
