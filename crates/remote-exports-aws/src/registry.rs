//! The read registry in DynamoDB: one item per consumer resource, keyed by `Reader` alone.

use aws_config::SdkConfig;
use remote_exports_core::{ReadExport, ReadRecord, ReadRegistry, RegistryError, SourceRef};
use serde_json::{Map, Value, json};

use crate::TrustRoots;
use crate::signed_json::{DYNAMODB, JsonCallError, JsonClient};

/// The table's only key: a string partition key.
pub const READER_KEY: &str = "Reader";

/// PutItem, DeleteItem and a paginated, consistent Scan on one table; nothing else, so the IAM
/// grant can be exactly those three actions on that table.
pub struct DynamoDbRegistry {
    client: JsonClient,
    table: String,
}

impl DynamoDbRegistry {
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else the configuration's endpoint override, else DynamoDB's regional endpoint.
    pub fn new(config: &SdkConfig, roots: TrustRoots, table: impl Into<String>) -> Self {
        DynamoDbRegistry { client: JsonClient::new(DYNAMODB, config, roots), table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn error(&self, operation: &'static str, error: JsonCallError) -> RegistryError {
        RegistryError { operation, table: self.table.clone(), code: error.code, message: error.message }
    }
}

impl ReadRegistry for DynamoDbRegistry {
    async fn record(&self, record: &ReadRecord) -> Result<(), RegistryError> {
        let input = json!({"TableName": self.table, "Item": to_item(record)});
        self.client.call("PutItem", &input).await.map(drop).map_err(|e| self.error("PutItem", e))
    }

    async fn forget(&self, reader: &str) -> Result<(), RegistryError> {
        let input = json!({"TableName": self.table, "Key": {READER_KEY: {"S": reader}}});
        self.client.call("DeleteItem", &input).await.map(drop).map_err(|e| self.error("DeleteItem", e))
    }

    async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
        let mut records = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut input = json!({"TableName": self.table, "ConsistentRead": true});
            if let Some(key) = start.take() {
                input["ExclusiveStartKey"] = key;
            }
            let page = self.client.call("Scan", &input).await.map_err(|e| self.error("Scan", e))?;
            for item in page["Items"].as_array().into_iter().flatten() {
                match from_item(item) {
                    Some(record) => records.push(record),
                    None => tracing::warn!(
                        reader = item[READER_KEY]["S"].as_str().unwrap_or("?"),
                        table = %self.table,
                        "skipping a reads-table item this version does not understand"
                    ),
                }
            }
            match page.get("LastEvaluatedKey").filter(|key| key.is_object()) {
                Some(key) => start = Some(key.clone()),
                None => return Ok(records),
            }
        }
    }
}

fn string(value: &str) -> Value {
    json!({"S": value})
}

/// The item: flat attributes a person can read in the console, and the exports as a list of maps.
fn to_item(record: &ReadRecord) -> Value {
    let mut item = Map::new();
    let mut put = |name: &str, value: Value| {
        item.insert(name.to_owned(), value);
    };
    put(READER_KEY, string(&record.reader()));
    put("StackId", string(&record.stack_id));
    put("LogicalResourceId", string(&record.logical_resource_id));
    put("ConsumerAccount", string(&record.consumer_account));
    put("StackName", string(&record.stack_name));
    put("SourceAccount", string(&record.source.account));
    put("SourceRegion", string(&record.source.region));
    if let Some(role) = &record.source.role_arn {
        put("SourceRoleArn", string(role));
    }
    if let Some(external_id) = &record.source.external_id {
        put("SourceExternalId", string(external_id));
    }
    let exports: Vec<Value> = record
        .exports
        .iter()
        .map(|read| {
            json!({"M": {"Key": string(&read.key), "Export": string(&read.export), "Fingerprint": string(&read.fingerprint)}})
        })
        .collect();
    put("Exports", json!({"L": exports}));
    put("ReadAt", string(&record.read_at));
    put("RequestType", string(&record.request_type));
    put("NoEcho", json!({"BOOL": record.no_echo}));
    put("FingerprintScheme", string(&record.fingerprint_scheme));
    Value::Object(item)
}

fn from_item(item: &Value) -> Option<ReadRecord> {
    let text = |name: &str| item[name]["S"].as_str().map(str::to_owned);
    let exports = item["Exports"]["L"]
        .as_array()?
        .iter()
        .map(|entry| {
            let field = |name: &str| entry["M"][name]["S"].as_str().map(str::to_owned);
            Some(ReadExport { key: field("Key")?, export: field("Export")?, fingerprint: field("Fingerprint")? })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ReadRecord {
        stack_id: text("StackId")?,
        logical_resource_id: text("LogicalResourceId")?,
        consumer_account: text("ConsumerAccount")?,
        stack_name: text("StackName")?,
        source: SourceRef {
            account: text("SourceAccount")?,
            region: text("SourceRegion")?,
            role_arn: text("SourceRoleArn"),
            external_id: text("SourceExternalId"),
        },
        exports,
        read_at: text("ReadAt")?,
        request_type: text("RequestType")?,
        no_echo: item["NoEcho"]["BOOL"].as_bool().unwrap_or(false),
        fingerprint_scheme: text("FingerprintScheme")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ReadRecord {
        ReadRecord {
            stack_id: "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid".into(),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            source: SourceRef {
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                role_arn: Some("arn:aws:iam::222222222222:role/reader".into()),
                external_id: None,
            },
            exports: vec![ReadExport { key: "Topic".into(), export: "booking-topic".into(), fingerprint: "ab".into() }],
            read_at: "2026-11-23T13:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: true,
            fingerprint_scheme: "hmac-sha256-stack:v1".into(),
        }
    }

    #[test]
    fn items_round_trip_and_are_keyed_by_stack_and_logical_id() {
        let item = to_item(&record());
        assert_eq!(item[READER_KEY]["S"], "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid|Lookup");
        assert!(item.get("SourceExternalId").is_none());
        assert_eq!(from_item(&item), Some(record()));
    }

    #[test]
    fn an_item_missing_a_field_is_not_understood() {
        let mut item = to_item(&record());
        item.as_object_mut().unwrap().remove("Exports");
        assert_eq!(from_item(&item), None);
    }
}
