//! The shared export snapshot in DynamoDB: a header item, the parts it points at, and a lease item,
//! all in one table keyed by `Key` alone, with `ExpiresAt` for DynamoDB's TTL clean-up.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use remote_exports_core::{SnapshotError, SnapshotMeta, SnapshotStore};

use crate::aws_error::call_error;
use crate::aws_error::is_condition_failure;

/// The table's only key: a string partition key.
pub const SNAPSHOT_KEY: &str = "Key";

/// A part stays well under DynamoDB's 400 KB item limit, key and attribute names included.
const PART_BYTES: usize = 350_000;

/// Items are useless long before this; DynamoDB's TTL removes them eventually.
const KEEP_SECONDS: u64 = 3600;

type Item = HashMap<String, AttributeValue>;

/// GetItem, PutItem and DeleteItem on one table. The client is built on first use.
pub struct DynamoDbSnapshots {
    config: SdkConfig,
    client: OnceLock<Client>,
    table: String,
}

fn expires_at() -> AttributeValue {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    AttributeValue::N((now + KEEP_SECONDS).to_string())
}

fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoDbSnapshots {
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        DynamoDbSnapshots { config: config.clone(), client: OnceLock::new(), table: table.into() }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::new(&self.config))
    }

    async fn get(&self, key: String) -> Result<Option<Item>, SnapshotError> {
        let get = self.client().get_item().table_name(&self.table).key(SNAPSHOT_KEY, string(key)).consistent_read(true);
        let answer = get.send().await.map_err(|e| call_error("GetItem", &e))?;
        Ok(answer.item)
    }

    async fn put(&self, item: Item) -> Result<(), SnapshotError> {
        let put = self.client().put_item().table_name(&self.table).set_item(Some(item));
        Ok(put.send().await.map(drop).map_err(|e| call_error("PutItem", &e))?)
    }
}

fn header_key(key: &str) -> String {
    format!("snapshot|{key}")
}

fn part_key(key: &str, generation: &str, part: u32) -> String {
    format!("part|{key}|{generation}|{part}")
}

fn lease_key(key: &str) -> String {
    format!("lease|{key}")
}

/// `text` in pieces of at most `max` bytes, cut on character boundaries.
fn split(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts.push(rest);
    parts
}

fn text_in<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str)
}

impl SnapshotStore for DynamoDbSnapshots {
    async fn meta(&self, key: &str) -> Result<Option<SnapshotMeta>, SnapshotError> {
        let Some(item) = self.get(header_key(key)).await? else { return Ok(None) };
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok());
        match (text_in(&item, "Generation"), number("Parts"), number("ReadAt")) {
            (Some(generation), Some(parts), Some(read_at_ms)) => {
                Ok(Some(SnapshotMeta { generation: generation.to_owned(), parts: parts as u32, read_at_ms }))
            }
            _ => Err(SnapshotError::Unreadable("its header lacks Generation, Parts or ReadAt".into())),
        }
    }

    async fn body(&self, key: &str, meta: &SnapshotMeta) -> Result<String, SnapshotError> {
        let mut body = String::new();
        for part in 0..meta.parts {
            let unreadable = |what: &str| SnapshotError::Unreadable(format!("part {part} of {} {what}", meta.parts));
            let item =
                self.get(part_key(key, &meta.generation, part)).await?.ok_or_else(|| unreadable("is missing"))?;
            body.push_str(text_in(&item, "Body").ok_or_else(|| unreadable("has no body"))?);
        }
        Ok(body)
    }

    async fn store(&self, key: &str, read_at_ms: u64, body: &str) -> Result<(), SnapshotError> {
        let generation = format!("{read_at_ms}-{:08x}", fastrand::u32(..));
        let parts = split(body, PART_BYTES);
        for (index, part) in parts.iter().enumerate() {
            self.put(Item::from([
                (SNAPSHOT_KEY.to_owned(), string(part_key(key, &generation, index as u32))),
                ("Body".to_owned(), string(*part)),
                ("ExpiresAt".to_owned(), expires_at()),
            ]))
            .await?;
        }
        // The header last: readers only ever see complete generations.
        self.put(Item::from([
            (SNAPSHOT_KEY.to_owned(), string(header_key(key))),
            ("Generation".to_owned(), string(generation)),
            ("Parts".to_owned(), number(parts.len() as u64)),
            ("ReadAt".to_owned(), number(read_at_ms)),
            ("ExpiresAt".to_owned(), expires_at()),
        ]))
        .await
    }

    /// Safe to retry: when a PutItem went through but its reply was lost, the SDK's retry finds the
    /// condition failed on this holder's own lease, which DynamoDB returns (ALL_OLD), so it counts
    /// as taken instead of making this container wait out its own lease.
    async fn try_lease(&self, key: &str, holder: &str, now_ms: u64, until_ms: u64) -> Result<bool, SnapshotError> {
        let put = self
            .client()
            .put_item()
            .table_name(&self.table)
            .item(SNAPSHOT_KEY, string(lease_key(key)))
            .item("Holder", string(holder))
            .item("Until", number(until_ms))
            .item("ExpiresAt", expires_at())
            .condition_expression("attribute_not_exists(#key) OR #until < :now")
            .expression_attribute_names("#key", SNAPSHOT_KEY)
            .expression_attribute_names("#until", "Until")
            .expression_attribute_values(":now", number(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match put.send().await {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let held_by = failed.item.as_ref().and_then(|item| text_in(item, "Holder"));
                    Ok(held_by == Some(holder))
                }
                _ => Err(call_error("PutItem", &error).into()),
            },
        }
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), SnapshotError> {
        let delete = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .key(SNAPSHOT_KEY, string(lease_key(key)))
            .condition_expression("Holder = :holder")
            .expression_attribute_values(":holder", string(holder));
        match delete.send().await {
            Ok(_) => Ok(()),
            // Expired and taken over: the lease is someone else's now.
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(call_error("DeleteItem", &error).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    fn snapshots(client: Client) -> DynamoDbSnapshots {
        DynamoDbSnapshots { config: SdkConfig::builder().build(), client: OnceLock::from(client), table: "t".into() }
    }

    fn lease_held_by(holder: &'static str) -> PutItemError {
        let old = Item::from([("Holder".to_owned(), string(holder)), ("Until".to_owned(), number(u64::MAX))]);
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .set_item(Some(old))
                .build(),
        )
    }

    #[test]
    fn parts_are_cut_on_character_boundaries_and_rejoin_exactly() {
        let text = "ab€cd€".repeat(1000);
        let parts = split(&text, 7);
        assert!(parts.iter().all(|p| p.len() <= 7));
        assert_eq!(parts.concat(), text);
        assert_eq!(split("", 7), vec![""]);
    }

    /// The first PutItem is applied, but its reply is lost (a 500 stands in for the dropped
    /// connection); the SDK retries, and the retry meets the lease this holder just took.
    #[tokio::test]
    async fn a_lease_whose_reply_was_lost_is_taken_on_the_retry() {
        let rule = mock!(Client::put_item)
            .match_requests(|input| {
                input.return_values_on_condition_check_failure == Some(ReturnValuesOnConditionCheckFailure::AllOld)
            })
            .sequence()
            .http_response(|| Response::new(StatusCode::try_from(500).unwrap(), SdkBody::from("{}")))
            .error(|| lease_held_by("me"))
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule], |builder| {
            let quick = aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1));
            let sleep = aws_smithy_async::rt::sleep::default_async_sleep().expect("a Tokio sleep");
            builder.retry_config(quick).sleep_impl(sleep)
        });
        assert_eq!(snapshots(client).try_lease("k", "me", 1, 2).await, Ok(true));
        assert_eq!(rule.num_calls(), 2, "the lost reply was not retried");
    }

    #[tokio::test]
    async fn a_lease_held_by_someone_else_is_not_taken() {
        let rule = mock!(Client::put_item).then_error(|| lease_held_by("other"));
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        assert_eq!(snapshots(client).try_lease("k", "me", 1, 2).await, Ok(false));
        let free = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&free]);
        assert_eq!(snapshots(client).try_lease("k", "me", 1, 2).await, Ok(true));
    }
}
