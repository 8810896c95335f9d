//! The read registry in DynamoDB: one item per consumer resource, keyed by `Reader` alone.

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use remote_exports_core::{
    AlertUpdate, CallError, ParameterVersion, PublisherRef, ReadExport, ReadRecord, ReadRegistry, ReadersBySource,
    RegistryError,
};

use crate::aws_error::call_error;
use crate::aws_error::is_condition_failure;

/// The table's only key: a string partition key.
pub const READER_KEY: &str = "Reader";

/// The global secondary index the export guard queries: partition key `SourceAccount`, sort key
/// `SourceRegion`, every attribute projected. A publisher's readers without a scan, and the key
/// that `dynamodb:LeadingKeys` pins to the caller's own account.
pub const SOURCE_INDEX: &str = "BySource";

type Item = HashMap<String, AttributeValue>;

/// PutItem and a conditional DeleteItem (the custom resource), a paginated, consistent Scan and a
/// conditional UpdateItem (the audit); nothing else, so each function's IAM grant can be exactly its
/// actions on that table. The client is built on first use.
pub struct DynamoDbRegistry {
    config: SdkConfig,
    client: OnceLock<Client>,
    table: String,
}

impl DynamoDbRegistry {
    /// `table` is a table name in the configuration's region, or a table ARN
    /// (`arn:<partition>:dynamodb:<region>:<account>:table/<name>`): then the table is used in its
    /// own region, so that the deployments of every region can share one registry.
    pub fn new(config: &SdkConfig, table: &str) -> Self {
        let (config, table) = match table_arn(table) {
            Some((region, name)) => (config.to_builder().region(Region::new(region.to_owned())).build(), name),
            None => (config.clone(), table),
        };
        DynamoDbRegistry { config, client: OnceLock::new(), table: table.to_owned() }
    }

    /// The region the table is used in.
    pub fn region(&self) -> Option<&str> {
        self.config.region().map(Region::as_ref)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| Client::new(&self.config))
    }

    fn error(&self, error: CallError) -> RegistryError {
        RegistryError {
            operation: error.operation,
            table: self.table.clone(),
            code: error.code,
            status: error.status,
            message: error.message,
        }
    }
}

impl ReadRegistry for DynamoDbRegistry {
    async fn record(&self, record: &ReadRecord) -> Result<(), RegistryError> {
        let put = self.client().put_item().table_name(&self.table).set_item(Some(to_item(record)));
        put.send().await.map(drop).map_err(|e| self.error(call_error("PutItem", &e)))
    }

    async fn forget(&self, reader: &str, physical_resource_id: Option<&str>) -> Result<bool, RegistryError> {
        let delete = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .key(READER_KEY, string(reader))
            .condition_expression(written_by(physical_resource_id))
            .expression_attribute_names("#writer", PHYSICAL_ID);
        let delete = match physical_resource_id {
            Some(id) => delete.expression_attribute_values(":writer", string(id)),
            None => delete,
        };
        match delete.send().await {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(self.error(call_error("DeleteItem", &error))),
        }
    }

    async fn mark_alerted(&self, update: &AlertUpdate) -> Result<bool, RegistryError> {
        let map = |alerts: &std::collections::BTreeMap<String, String>| {
            AttributeValue::M(alerts.iter().map(|(key, alert)| (key.clone(), string(alert))).collect())
        };
        // Only over the alerted state the check read: another check's alerts written since are not lost.
        let unchanged = if update.previous.is_empty() {
            "(attribute_not_exists(#alerted) OR #alerted = :previous)"
        } else {
            "#alerted = :previous"
        };
        let condition =
            format!("#read_at = :read_at AND ({}) AND {unchanged}", written_by(update.physical_resource_id.as_deref()));
        let write = self
            .client()
            .update_item()
            .table_name(&self.table)
            .key(READER_KEY, string(&update.reader))
            .update_expression("SET #alerted = :alerted")
            .condition_expression(condition)
            .expression_attribute_names("#alerted", ALERTED)
            .expression_attribute_names("#read_at", "ReadAt")
            .expression_attribute_names("#writer", PHYSICAL_ID)
            .expression_attribute_values(":alerted", map(&update.alerted))
            .expression_attribute_values(":previous", map(&update.previous))
            .expression_attribute_values(":read_at", string(&update.read_at));
        let write = match &update.physical_resource_id {
            Some(id) => write.expression_attribute_values(":writer", string(id)),
            None => write,
        };
        match write.send().await {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(self.error(call_error("UpdateItem", &error))),
        }
    }

    async fn scan(&self) -> Result<Vec<ReadRecord>, RegistryError> {
        let mut records = Vec::new();
        let mut pages = self.client().scan().table_name(&self.table).consistent_read(true).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error(call_error("Scan", &e)))?;
            for item in page.items.unwrap_or_default() {
                match from_item(&item) {
                    Some(record) => records.push(record),
                    None => tracing::warn!(
                        reader = item.get(READER_KEY).and_then(|v| v.as_s().ok()).map_or("?", String::as_str),
                        table = %self.table,
                        "skipping a reads-table item this version does not understand"
                    ),
                }
            }
        }
        Ok(records)
    }
}

impl ReadersBySource for DynamoDbRegistry {
    /// Query on [`SOURCE_INDEX`], every page. An index is eventually consistent: a read recorded a
    /// second ago may be missing, which the guard's docs say.
    async fn readers_of(&self, account: &str, region: &str) -> Result<Vec<ReadRecord>, RegistryError> {
        let mut records = Vec::new();
        let mut pages = self
            .client()
            .query()
            .table_name(&self.table)
            .index_name(SOURCE_INDEX)
            .key_condition_expression("#account = :account AND #region = :region")
            .expression_attribute_names("#account", "SourceAccount")
            .expression_attribute_names("#region", "SourceRegion")
            .expression_attribute_values(":account", string(account))
            .expression_attribute_values(":region", string(region))
            .into_paginator()
            .send();
        let mut unreadable = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error(call_error("Query", &e)))?;
            for item in page.items.unwrap_or_default() {
                match from_item(&item) {
                    Some(record) => records.push(record),
                    None => unreadable += 1,
                }
            }
        }
        // A reader the guard cannot read must not let a removal through unseen.
        if unreadable > 0 {
            return Err(RegistryError {
                operation: "Query",
                table: self.table.clone(),
                code: None,
                status: None,
                message: format!(
                    "{unreadable} reader item(s) of {account} in {region} are in a format this version cannot read; upgrade the guard"
                ),
            });
        }
        // The index is the only filter IAM sees; this one keeps the guard honest if it is wrong.
        records.retain(|record| record.source.account == account && record.source.region == region);
        Ok(records)
    }
}

/// The region and name of a DynamoDB table ARN.
fn table_arn(text: &str) -> Option<(&str, &str)> {
    let fields: Vec<&str> = text.splitn(6, ':').collect();
    match fields[..] {
        ["arn", _, "dynamodb", region, _, resource] if !region.is_empty() => resource
            .strip_prefix("table/")
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .map(|name| (region, name)),
        _ => None,
    }
}

/// Who wrote a record: the PhysicalResourceId of the answer that carried the read.
const PHYSICAL_ID: &str = "PhysicalResourceId";
/// What an audit last alerted about, per Data key.
const ALERTED: &str = "Alerted";

/// The condition that the record was written by `physical_resource_id` (`:writer`); a record from
/// before IDs were kept belongs to anyone, and a request without an ID matches only such records.
fn written_by(physical_resource_id: Option<&str>) -> &'static str {
    match physical_resource_id {
        Some(_) => "attribute_not_exists(#writer) OR #writer = :writer",
        None => "attribute_not_exists(#writer)",
    }
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The item: flat attributes a person can read in the console, and the exports as a list of maps.
fn to_item(record: &ReadRecord) -> Item {
    let mut item = Item::new();
    let mut put = |name: &str, value: AttributeValue| {
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
    // No ExternalId, in clear or hashed: it is the consumer's secret with the publisher, and the
    // audit reads on nobody's behalf without it.
    let exports = record
        .exports
        .iter()
        .map(|read| {
            let mut entry = HashMap::from([
                ("Key".to_owned(), string(&read.key)),
                ("Export".to_owned(), string(&read.export)),
                ("Fingerprint".to_owned(), string(&read.fingerprint)),
            ]);
            if read.defaulted {
                entry.insert("Defaulted".to_owned(), AttributeValue::Bool(true));
            }
            // A parameter: its version and when it was written, never its value.
            if let Some(parameter) = &read.parameter {
                let mut version =
                    HashMap::from([("Modified".to_owned(), AttributeValue::N(parameter.modified_ms.to_string()))]);
                if let Some(number) = parameter.version {
                    version.insert("Version".to_owned(), AttributeValue::N(number.to_string()));
                }
                entry.insert("Parameter".to_owned(), AttributeValue::M(version));
            }
            AttributeValue::M(entry)
        })
        .collect();
    put("Exports", AttributeValue::L(exports));
    put("ReadAt", string(&record.read_at));
    put("RequestType", string(&record.request_type));
    put("NoEcho", AttributeValue::Bool(record.no_echo));
    put("FingerprintScheme", string(&record.fingerprint_scheme));
    if let Some(id) = &record.physical_resource_id {
        put(PHYSICAL_ID, string(id));
    }
    if !record.alerted.is_empty() {
        let alerted = record.alerted.iter().map(|(key, alert)| (key.clone(), string(alert))).collect();
        put(ALERTED, AttributeValue::M(alerted));
    }
    item
}

fn text_in(map: &Item, name: &str) -> Option<String> {
    map.get(name).and_then(|value| value.as_s().ok()).cloned()
}

fn from_item(item: &Item) -> Option<ReadRecord> {
    let text = |name: &str| text_in(item, name);
    let exports = item
        .get("Exports")?
        .as_l()
        .ok()?
        .iter()
        .map(|entry| {
            let entry = entry.as_m().ok()?;
            Some(ReadExport {
                key: text_in(entry, "Key")?,
                export: text_in(entry, "Export")?,
                fingerprint: text_in(entry, "Fingerprint")?,
                defaulted: entry.get("Defaulted").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                parameter: entry.get("Parameter").and_then(|v| v.as_m().ok()).map(|p| ParameterVersion {
                    version: p.get("Version").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()),
                    modified_ms: p
                        .get("Modified")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                }),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ReadRecord {
        stack_id: text("StackId")?,
        logical_resource_id: text("LogicalResourceId")?,
        consumer_account: text("ConsumerAccount")?,
        stack_name: text("StackName")?,
        source: PublisherRef {
            account: text("SourceAccount")?,
            region: text("SourceRegion")?,
            role_arn: text("SourceRoleArn"),
        },
        exports,
        read_at: text("ReadAt")?,
        request_type: text("RequestType")?,
        no_echo: item.get("NoEcho").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        fingerprint_scheme: text("FingerprintScheme")?,
        physical_resource_id: text(PHYSICAL_ID),
        alerted: match item.get(ALERTED) {
            None => Default::default(),
            Some(alerted) => alerted
                .as_m()
                .ok()?
                .iter()
                .map(|(key, alert)| Some((key.clone(), alert.as_s().ok()?.clone())))
                .collect::<Option<_>>()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::scan::ScanOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn record() -> ReadRecord {
        ReadRecord {
            stack_id: "arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid".into(),
            logical_resource_id: "Lookup".into(),
            consumer_account: "111111111111".into(),
            stack_name: "airmiles".into(),
            source: PublisherRef {
                account: "222222222222".into(),
                region: "eu-west-1".into(),
                role_arn: Some("arn:aws:iam::222222222222:role/reader".into()),
            },
            exports: vec![
                ReadExport {
                    key: "Topic".into(),
                    export: "booking-topic".into(),
                    fingerprint: "ab".into(),
                    defaulted: false,
                    parameter: None,
                },
                ReadExport {
                    key: "Vpc".into(),
                    export: "vpc.VpcId".into(),
                    fingerprint: String::new(),
                    defaulted: true,
                    parameter: None,
                },
                ReadExport {
                    key: "/booking/flag".into(),
                    export: "/booking/flag".into(),
                    fingerprint: "cd".into(),
                    defaulted: false,
                    parameter: Some(ParameterVersion { version: Some(4), modified_ms: 1_795_438_442_000 }),
                },
            ],
            read_at: "2026-11-23T13:00:00Z".into(),
            request_type: "Create".into(),
            no_echo: true,
            fingerprint_scheme: "hmac-sha256-stack:v1".into(),
            physical_resource_id: Some("remote-exports:222222222222:eu-west-1".into()),
            alerted: [("Topic".to_owned(), "removed".to_owned())].into(),
        }
    }

    fn registry(client: Client) -> DynamoDbRegistry {
        DynamoDbRegistry { config: SdkConfig::builder().build(), client: OnceLock::from(client), table: "reads".into() }
    }

    #[test]
    fn a_table_arn_is_used_in_its_own_region() {
        let home = SdkConfig::builder().region(Region::new("us-east-1")).build();
        let shared = DynamoDbRegistry::new(&home, "arn:aws:dynamodb:eu-west-1:123456789012:table/remote-exports-reads");
        assert_eq!((shared.table(), shared.region()), ("remote-exports-reads", Some("eu-west-1")));
        let local = DynamoDbRegistry::new(&home, "remote-exports-reads");
        assert_eq!((local.table(), local.region()), ("remote-exports-reads", Some("us-east-1")));
        for odd in
            ["arn:aws:dynamodb:eu-west-1:123456789012:table/", "arn:aws:s3:::bucket", "arn:aws:dynamodb::1:table/t"]
        {
            assert_eq!(DynamoDbRegistry::new(&home, odd).table(), odd, "{odd}");
        }
    }

    #[test]
    fn items_round_trip_and_are_keyed_by_stack_and_logical_id() {
        let item = to_item(&record());
        assert_eq!(
            item[READER_KEY],
            string("arn:aws:cloudformation:eu-west-1:111111111111:stack/airmiles/guid|Lookup")
        );
        assert!(!item.contains_key("SourceExternalId"));
        assert_eq!(from_item(&item), Some(record()));
    }

    #[test]
    fn an_item_missing_a_field_is_not_understood() {
        let mut item = to_item(&record());
        item.remove("Exports");
        assert_eq!(from_item(&item), None);
    }

    #[tokio::test]
    async fn every_scan_page_is_read_and_unknown_items_are_skipped() {
        let rule = mock!(Client::scan)
            .match_requests(|input| input.consistent_read == Some(true))
            .sequence()
            .output(|| {
                ScanOutput::builder()
                    .items(to_item(&record()))
                    .items(HashMap::from([(READER_KEY.to_owned(), string("odd"))]))
                    .last_evaluated_key(READER_KEY, string("odd"))
                    .build()
            })
            .output(|| ScanOutput::builder().items(to_item(&record())).build())
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let records = registry(client).scan().await.unwrap();
        assert_eq!((records.len(), rule.num_calls()), (2, 2));
    }

    #[tokio::test]
    async fn a_failed_write_names_the_table_the_operation_and_the_code() {
        let rule = mock!(Client::put_item).then_error(|| {
            PutItemError::generic(
                aws_sdk_dynamodb::error::ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("Requested resource not found")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, [&rule]);
        let error = registry(client).record(&record()).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "PutItem on the reads table reads failed (ResourceNotFoundException: Requested resource not found)"
        );
    }
}
