//! The read registry's surroundings in moto: a reads table, and an EventBridge rule that sends the
//! audit's events to an SQS queue so that a test can read them back.

use std::time::Duration;

use remote_exports_aws::signed_json::{DYNAMODB, EVENTBRIDGE, SQS};
use remote_exports_aws::{JsonClient, READER_KEY, SNAPSHOT_KEY, TrustRoots};
use serde_json::{Value, json};

use crate::BoxError;
use crate::moto::sdk_config;

/// A table keyed by one string partition key `key` and nothing else: no sort key, no index.
async fn create_table(moto: &str, region: &str, name: &str, key: &str) -> Result<JsonClient, BoxError> {
    let client = JsonClient::new(DYNAMODB, &sdk_config(moto, region).await, TrustRoots::System);
    client
        .call(
            "CreateTable",
            &json!({
                "TableName": name,
                "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .await?;
    Ok(client)
}

/// Every item as DynamoDB returns it, all pages: what anyone with read access to the table sees.
async fn scan_all(client: &JsonClient, name: &str) -> Result<Vec<Value>, BoxError> {
    let mut items = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut input = json!({"TableName": name, "ConsistentRead": true});
        if let Some(key) = start.take() {
            input["ExclusiveStartKey"] = key;
        }
        let page = client.call("Scan", &input).await?;
        items.extend(page["Items"].as_array().cloned().unwrap_or_default());
        match page.get("LastEvaluatedKey").filter(|k| k.is_object()) {
            Some(key) => start = Some(key.clone()),
            None => return Ok(items),
        }
    }
}

/// A DynamoDB table in moto with the registry's key schema and nothing else: no index, no sort key.
pub struct ReadsTable {
    client: JsonClient,
    pub name: String,
}

impl ReadsTable {
    pub async fn create(moto: &str, region: &str, name: &str) -> Result<ReadsTable, BoxError> {
        Ok(ReadsTable { client: create_table(moto, region, name, READER_KEY).await?, name: name.to_owned() })
    }

    /// Every item as DynamoDB returns it: what anyone with read access to the table sees.
    pub async fn items(&self) -> Result<Vec<Value>, BoxError> {
        scan_all(&self.client, &self.name).await
    }
}

/// A DynamoDB table in moto with the shared export snapshot's key schema: `Key` alone.
pub struct ExportsCacheTable {
    client: JsonClient,
    pub name: String,
}

impl ExportsCacheTable {
    pub async fn create(moto: &str, region: &str, name: &str) -> Result<ExportsCacheTable, BoxError> {
        Ok(ExportsCacheTable { client: create_table(moto, region, name, SNAPSHOT_KEY).await?, name: name.to_owned() })
    }

    pub async fn items(&self) -> Result<Vec<Value>, BoxError> {
        scan_all(&self.client, &self.name).await
    }

    /// Writes an item as it is, such as the lease of a holder that died.
    pub async fn put(&self, item: Value) -> Result<(), BoxError> {
        self.client.call("PutItem", &json!({"TableName": self.name, "Item": item})).await?;
        Ok(())
    }
}

/// An SQS queue that receives every event with `source` `remote-exports` from the default bus.
pub struct AuditInbox {
    sqs: JsonClient,
    queue_url: String,
}

impl AuditInbox {
    pub async fn create(moto: &str, region: &str, name: &str) -> Result<AuditInbox, BoxError> {
        let config = sdk_config(moto, region).await;
        let sqs = JsonClient::new(SQS, &config, TrustRoots::System);
        let events = JsonClient::new(EVENTBRIDGE, &config, TrustRoots::System);
        let queue_url = sqs.call("CreateQueue", &json!({"QueueName": name})).await?["QueueUrl"]
            .as_str()
            .ok_or("CreateQueue returned no QueueUrl")?
            .to_owned();
        let attributes =
            sqs.call("GetQueueAttributes", &json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]})).await?;
        let queue_arn = attributes["Attributes"]["QueueArn"].as_str().ok_or("no QueueArn")?.to_owned();
        let pattern = json!({"source": ["remote-exports"]}).to_string();
        events.call("PutRule", &json!({"Name": name, "EventPattern": pattern, "State": "ENABLED"})).await?;
        events.call("PutTargets", &json!({"Rule": name, "Targets": [{"Id": "inbox", "Arn": queue_arn}]})).await?;
        Ok(AuditInbox { sqs, queue_url })
    }

    /// The events received so far (each an EventBridge envelope), waiting up to `wait` for `at_least`.
    pub async fn events(&self, at_least: usize, wait: Duration) -> Result<Vec<Value>, BoxError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        loop {
            let received = self
                .sqs
                .call(
                    "ReceiveMessage",
                    &json!({"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
                )
                .await?;
            for message in received["Messages"].as_array().into_iter().flatten() {
                events.push(serde_json::from_str(message["Body"].as_str().unwrap_or("null"))?);
                let handle = message["ReceiptHandle"].clone();
                self.sqs.call("DeleteMessage", &json!({"QueueUrl": self.queue_url, "ReceiptHandle": handle})).await?;
            }
            if events.len() >= at_least || tokio::time::Instant::now() >= deadline {
                return Ok(events);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
