//! The read registry's surroundings in moto: a reads table, and an EventBridge rule that sends the
//! audit's events to an SQS queue so that a test can read them back. Every call through the SDK.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType,
};
use serde_json::{Map, Value, json};

// The tables' keys and index as template.yaml declares them (ReadsTable, SnapshotTable), written
// here apart from the adapters that use them: a renamed key in one place only fails the tests.
const READER_KEY: &str = "Reader";
const SOURCE_INDEX: &str = "BySource";
const SNAPSHOT_KEY: &str = "Key";

use crate::BoxError;
use crate::moto::sdk_config;

/// A table keyed by one string partition key `key` and nothing else: no sort key, no index.
async fn create_table(moto: &str, region: &str, name: &str, key: &str) -> Result<aws_sdk_dynamodb::Client, BoxError> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(moto, region).await);
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(AttributeDefinition::builder().attribute_name(key).attribute_type("S".into()).build()?)
        .key_schema(KeySchemaElement::builder().attribute_name(key).key_type(KeyType::Hash).build()?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await?;
    Ok(client)
}

/// An item in DynamoDB's JSON form (`{"S": …}`, `{"N": …}`, …), as the console and the CLI show it.
pub fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(item.iter().map(|(name, value)| (name.clone(), attribute_json(value))).collect())
}

fn attribute_json(value: &AttributeValue) -> Value {
    let tagged = |tag: &str, inner: Value| Value::Object(Map::from_iter([(tag.to_owned(), inner)]));
    match value {
        AttributeValue::S(text) => tagged("S", text.clone().into()),
        AttributeValue::N(number) => tagged("N", number.clone().into()),
        AttributeValue::Bool(flag) => tagged("BOOL", (*flag).into()),
        AttributeValue::L(list) => tagged("L", list.iter().map(attribute_json).collect()),
        AttributeValue::M(map) => tagged("M", item_json(map)),
        AttributeValue::Null(_) => tagged("NULL", true.into()),
        other => tagged("?", format!("{other:?}").into()),
    }
}

/// The reverse of [`item_json`] for the types the tests write.
fn item_from_json(item: &Value) -> Result<HashMap<String, AttributeValue>, BoxError> {
    let fields = item.as_object().ok_or("an item must be a JSON object")?;
    fields.iter().map(|(name, value)| Ok((name.clone(), attribute_from_json(value)?))).collect()
}

fn attribute_from_json(value: &Value) -> Result<AttributeValue, BoxError> {
    let (tag, inner) = value.as_object().and_then(|o| o.iter().next()).ok_or("an attribute must be {\"T\": …}")?;
    Ok(match (tag.as_str(), inner) {
        ("S", Value::String(text)) => AttributeValue::S(text.clone()),
        ("N", Value::String(number)) => AttributeValue::N(number.clone()),
        ("BOOL", Value::Bool(flag)) => AttributeValue::Bool(*flag),
        ("L", Value::Array(list)) => AttributeValue::L(list.iter().map(attribute_from_json).collect::<Result<_, _>>()?),
        ("M", map) => AttributeValue::M(item_from_json(map)?),
        _ => return Err(format!("unsupported attribute {value}").into()),
    })
}

/// Every item as DynamoDB returns it, all pages: what anyone with read access to the table sees.
async fn scan_all(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<Vec<Value>, BoxError> {
    let mut items = Vec::new();
    let mut pages = client.scan().table_name(name).consistent_read(true).into_paginator().send();
    while let Some(page) = pages.next().await {
        items.extend(page?.items.unwrap_or_default().iter().map(item_json));
    }
    Ok(items)
}

/// One registry item as the function writes it (DynamoDB JSON, written here by hand as a fixture): the
/// resource `Lookup` of the consumer stack `stack_id`, named `stack_name`, reading `reads` (Data key,
/// export or `<StackName>.<OutputKey>`) from `publisher` in `region` through its reader role.
pub fn reader_item(publisher: &str, region: &str, stack_id: &str, stack_name: &str, reads: &[(&str, &str)]) -> Value {
    let consumer = stack_id.split(':').nth(4).unwrap_or_default();
    let exports: Vec<Value> = reads
        .iter()
        .map(|(key, export)| json!({"M": {"Key": {"S": key}, "Export": {"S": export}, "Fingerprint": {"S": "hmac-sha256:0"}}}))
        .collect();
    json!({
        "Reader": {"S": format!("{stack_id}|Lookup")},
        "StackId": {"S": stack_id},
        "LogicalResourceId": {"S": "Lookup"},
        "ConsumerAccount": {"S": consumer},
        "StackName": {"S": stack_name},
        "SourceAccount": {"S": publisher},
        "SourceRegion": {"S": region},
        "SourceRoleArn": {"S": format!("arn:aws:iam::{publisher}:role/remote-exports-reader")},
        "Exports": {"L": exports},
        "ReadAt": {"S": "2026-12-01T09:30:00Z"},
        "RequestType": {"S": "Create"},
        "NoEcho": {"BOOL": false},
        "FingerprintScheme": {"S": "hmac-sha256-v1"},
        "PhysicalResourceId": {"S": format!("remote-exports:{stack_name}")},
    })
}

/// A DynamoDB table in moto with the registry's schema, as template.yaml declares it: the `Reader`
/// key and the `BySource` index (`SourceAccount`, `SourceRegion`, every attribute).
pub struct ReadsTable {
    client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl ReadsTable {
    pub async fn create(moto: &str, region: &str, name: &str) -> Result<ReadsTable, BoxError> {
        let client = aws_sdk_dynamodb::Client::new(&sdk_config(moto, region).await);
        let attribute =
            |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type("S".into()).build();
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let index = GlobalSecondaryIndex::builder()
            .index_name(SOURCE_INDEX)
            .key_schema(key("SourceAccount", KeyType::Hash)?)
            .key_schema(key("SourceRegion", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()?;
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(attribute(READER_KEY)?)
            .attribute_definitions(attribute("SourceAccount")?)
            .attribute_definitions(attribute("SourceRegion")?)
            .key_schema(key(READER_KEY, KeyType::Hash)?)
            .global_secondary_indexes(index)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await?;
        Ok(ReadsTable { client, name: name.to_owned() })
    }

    /// The table's ARN, as a guard in another account names it.
    pub async fn arn(&self) -> Result<String, BoxError> {
        let described = self.client.describe_table().table_name(&self.name).send().await?;
        Ok(described.table.and_then(|t| t.table_arn).ok_or("DescribeTable returned no ARN")?)
    }

    /// Writes items as they are (DynamoDB JSON), 25 to a BatchWriteItem, for large fixtures.
    pub async fn put_many(&self, items: &[Value]) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in items.chunks(25) {
            let writes = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item_from_json(item)?)).build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, BoxError>>()?;
            let written = self.client.batch_write_item().request_items(&self.name, writes).send().await?;
            if written.unprocessed_items.is_some_and(|left| left.values().any(|w| !w.is_empty())) {
                return Err("BatchWriteItem left items unprocessed".into());
            }
        }
        Ok(())
    }

    /// Writes an item as it is (DynamoDB JSON): a reader recorded by hand, as a fixture.
    pub async fn put(&self, item: Value) -> Result<(), BoxError> {
        self.client.put_item().table_name(&self.name).set_item(Some(item_from_json(&item)?)).send().await?;
        Ok(())
    }

    /// Every item as DynamoDB returns it: what anyone with read access to the table sees.
    pub async fn items(&self) -> Result<Vec<Value>, BoxError> {
        scan_all(&self.client, &self.name).await
    }
}

/// A DynamoDB table in moto with the shared export snapshot's key schema: `Key` alone.
pub struct SnapshotTable {
    client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl SnapshotTable {
    pub async fn create(moto: &str, region: &str, name: &str) -> Result<SnapshotTable, BoxError> {
        Ok(SnapshotTable { client: create_table(moto, region, name, SNAPSHOT_KEY).await?, name: name.to_owned() })
    }

    pub async fn items(&self) -> Result<Vec<Value>, BoxError> {
        scan_all(&self.client, &self.name).await
    }

    /// Writes an item as it is (DynamoDB JSON), such as the lease of a holder that died.
    pub async fn put(&self, item: Value) -> Result<(), BoxError> {
        self.client.put_item().table_name(&self.name).set_item(Some(item_from_json(&item)?)).send().await?;
        Ok(())
    }
}

/// An SQS queue that receives the events with `source` `remote-exports` about one publisher account
/// from one bus: tests that share one moto share its buses, so each listens to its own source.
pub struct AuditInbox {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl AuditInbox {
    /// Listens on the default bus.
    pub async fn create(moto: &str, region: &str, name: &str, source_account: &str) -> Result<AuditInbox, BoxError> {
        AuditInbox::create_on(moto, region, name, source_account, "default").await
    }

    /// Listens on `bus`, created first unless it is `default`: the audit's bus of its own.
    pub async fn create_on(
        moto: &str,
        region: &str,
        name: &str,
        source_account: &str,
        bus: &str,
    ) -> Result<AuditInbox, BoxError> {
        let config = sdk_config(moto, region).await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let events = aws_sdk_eventbridge::Client::new(&config);
        let queue_url = sqs.create_queue().queue_name(name).send().await?.queue_url.ok_or("no QueueUrl")?;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await?;
        let queue_arn = attributes
            .attributes
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .ok_or("no QueueArn")?;
        let pattern = serde_json::json!({"source": ["remote-exports"], "detail": {"source_account": [source_account]}})
            .to_string();
        if bus != "default" {
            events.create_event_bus().name(bus).send().await?;
        }
        events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .event_pattern(pattern)
            .state(aws_sdk_eventbridge::types::RuleState::Enabled)
            .send()
            .await?;
        let target = aws_sdk_eventbridge::types::Target::builder().id("inbox").arn(queue_arn).build()?;
        events.put_targets().rule(name).event_bus_name(bus).targets(target).send().await?;
        Ok(AuditInbox { sqs, queue_url })
    }

    /// The events received so far (each an EventBridge envelope), waiting up to `wait` for `at_least`.
    pub async fn events(&self, at_least: usize, wait: Duration) -> Result<Vec<Value>, BoxError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut events = Vec::new();
        loop {
            let received =
                self.sqs.receive_message().queue_url(&self.queue_url).max_number_of_messages(10).wait_time_seconds(0);
            for message in received.send().await?.messages.unwrap_or_default() {
                events.push(serde_json::from_str(message.body.as_deref().unwrap_or("null"))?);
                if let Some(handle) = message.receipt_handle {
                    self.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(handle).send().await?;
                }
            }
            if events.len() >= at_least || tokio::time::Instant::now() >= deadline {
                return Ok(events);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
