//! The shared export snapshot in DynamoDB: a header item, the parts it points at, and a lease item,
//! all in one table keyed by `Key` alone, with `ExpiresAt` for DynamoDB's TTL clean-up.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use remote_exports_core::{SnapshotMeta, SnapshotStore};
use serde_json::{Value, json};

use crate::TrustRoots;
use crate::signed_json::{DYNAMODB, JsonCallError, JsonClient};

/// The table's only key: a string partition key.
pub const SNAPSHOT_KEY: &str = "Key";

/// A part stays well under DynamoDB's 400 KB item limit, key and attribute names included.
const PART_BYTES: usize = 350_000;

/// Items are useless long before this; DynamoDB's TTL removes them eventually.
const KEEP_SECONDS: u64 = 3600;

/// GetItem, PutItem and DeleteItem on one table.
pub struct DynamoDbSnapshots {
    client: JsonClient,
    table: String,
}

fn expires_at() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (now + KEEP_SECONDS).to_string()
}

fn described(error: JsonCallError) -> String {
    error.to_string()
}

impl DynamoDbSnapshots {
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else the configuration's endpoint override, else DynamoDB's regional endpoint.
    pub fn new(config: &SdkConfig, roots: TrustRoots, table: impl Into<String>) -> Self {
        DynamoDbSnapshots { client: JsonClient::new(DYNAMODB, config, roots), table: table.into() }
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, String> {
        let input = json!({"TableName": self.table, "Key": {SNAPSHOT_KEY: {"S": key}}, "ConsistentRead": true});
        let answer = self.client.call("GetItem", &input).await.map_err(described)?;
        Ok(answer.get("Item").filter(|item| item.is_object()).cloned())
    }

    async fn put(&self, item: Value) -> Result<(), String> {
        self.client.call("PutItem", &json!({"TableName": self.table, "Item": item})).await.map(drop).map_err(described)
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

impl SnapshotStore for DynamoDbSnapshots {
    async fn meta(&self, key: &str) -> Result<Option<SnapshotMeta>, String> {
        let Some(item) = self.get(&header_key(key)).await? else { return Ok(None) };
        let number = |name: &str| item[name]["N"].as_str().and_then(|n| n.parse::<u64>().ok());
        match (item["Generation"]["S"].as_str(), number("Parts"), number("ReadAt")) {
            (Some(generation), Some(parts), Some(read_at_ms)) => {
                Ok(Some(SnapshotMeta { generation: generation.to_owned(), parts: parts as u32, read_at_ms }))
            }
            _ => Err("the snapshot header is not understood".into()),
        }
    }

    async fn body(&self, key: &str, meta: &SnapshotMeta) -> Result<String, String> {
        let mut body = String::new();
        for part in 0..meta.parts {
            let item = self.get(&part_key(key, &meta.generation, part)).await?.ok_or("a snapshot part is missing")?;
            body.push_str(item["Body"]["S"].as_str().ok_or("a snapshot part has no body")?);
        }
        Ok(body)
    }

    async fn store(&self, key: &str, read_at_ms: u64, body: &str) -> Result<(), String> {
        let generation = format!("{read_at_ms}-{:08x}", fastrand::u32(..));
        let parts = split(body, PART_BYTES);
        let expires = expires_at();
        for (index, part) in parts.iter().enumerate() {
            self.put(json!({
                SNAPSHOT_KEY: {"S": part_key(key, &generation, index as u32)},
                "Body": {"S": part},
                "ExpiresAt": {"N": expires},
            }))
            .await?;
        }
        // The header last: readers only ever see complete generations.
        self.put(json!({
            SNAPSHOT_KEY: {"S": header_key(key)},
            "Generation": {"S": generation},
            "Parts": {"N": parts.len().to_string()},
            "ReadAt": {"N": read_at_ms.to_string()},
            "ExpiresAt": {"N": expires},
        }))
        .await
    }

    async fn try_lease(&self, key: &str, holder: &str, now_ms: u64, until_ms: u64) -> Result<bool, String> {
        let input = json!({
            "TableName": self.table,
            "Item": {
                SNAPSHOT_KEY: {"S": lease_key(key)},
                "Holder": {"S": holder},
                "Until": {"N": until_ms.to_string()},
                "ExpiresAt": {"N": expires_at()},
            },
            "ConditionExpression": "attribute_not_exists(#key) OR #until < :now",
            "ExpressionAttributeNames": {"#key": SNAPSHOT_KEY, "#until": "Until"},
            "ExpressionAttributeValues": {":now": {"N": now_ms.to_string()}},
        });
        match self.client.call("PutItem", &input).await {
            Ok(_) => Ok(true),
            Err(error) if error.code.as_deref() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(error) => Err(described(error)),
        }
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), String> {
        let input = json!({
            "TableName": self.table,
            "Key": {SNAPSHOT_KEY: {"S": lease_key(key)}},
            "ConditionExpression": "Holder = :holder",
            "ExpressionAttributeValues": {":holder": {"S": holder}},
        });
        match self.client.call("DeleteItem", &input).await {
            Ok(_) => Ok(()),
            // Expired and taken over: the lease is someone else's now.
            Err(error) if error.code.as_deref() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(error) => Err(described(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_cut_on_character_boundaries_and_rejoin_exactly() {
        let text = "ab€cd€".repeat(1000);
        let parts = split(&text, 7);
        assert!(parts.iter().all(|p| p.len() <= 7));
        assert_eq!(parts.concat(), text);
        assert_eq!(split("", 7), vec![""]);
    }
}
