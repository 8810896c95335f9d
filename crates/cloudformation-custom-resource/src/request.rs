use std::fmt;

use aws_lambda_events::cloudformation::CloudFormationCustomResourceRequest as RawRequest;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

/// The ResponseURL exactly as the event carried it, unchecked. `Debug` shows scheme, host and path
/// only: the query string is a bearer token.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct RawResponseUrl(String);

impl RawResponseUrl {
    /// Wraps the text of an event's `ResponseURL`.
    pub fn new(text: impl Into<String>) -> Self {
        RawResponseUrl(text.into())
    }

    /// The text as the event carried it, query string included: only for binding it.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Scheme, host and path, without the query string; `<not a URL>` when it does not parse.
    pub fn redacted(&self) -> String {
        Url::parse(&self.0).map_or_else(|_| "<not a URL>".to_owned(), |url| redact(&url))
    }
}

impl fmt::Debug for RawResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawResponseUrl({})", self.redacted())
    }
}

/// Scheme, host, port and path of `url`: what may be logged of a ResponseURL, whose query string
/// is a bearer token.
pub(crate) fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// Which lifecycle operation CloudFormation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// The resource is being created.
    Create,
    /// Its properties changed.
    Update,
    /// It is being deleted, or rolled back after a failed Create.
    Delete,
}

impl RequestKind {
    /// `Create`, `Update` or `Delete`, as CloudFormation spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Create => "Create",
            RequestKind::Update => "Update",
            RequestKind::Delete => "Delete",
        }
    }
}

/// The fields every answer must echo, and where to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyTarget {
    /// The presigned URL, unchecked. Its `Debug` hides the query string, which is a bearer token.
    pub(crate) response_url: RawResponseUrl,
    /// The stack's ARN.
    pub stack_id: String,
    /// Unique per request; with the StackId it names the request.
    pub request_id: String,
    /// The resource's name in the template.
    pub logical_resource_id: String,
    /// Present on Update and Delete.
    pub physical_resource_id: Option<String>,
}

impl ReplyTarget {
    fn new(
        response_url: String,
        stack_id: String,
        request_id: String,
        logical_resource_id: String,
        physical_resource_id: Option<String>,
    ) -> Self {
        let response_url = RawResponseUrl::new(response_url);
        ReplyTarget { response_url, stack_id, request_id, logical_resource_id, physical_resource_id }
    }
}

/// A custom-resource request, its properties read as `P`: the resource's
/// [`crate::CustomResource::Properties`], or JSON as CloudFormation sent it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Request<P = Value> {
    /// Create, Update or Delete.
    pub kind: RequestKind,
    /// Where and how to answer.
    pub reply: ReplyTarget,
    /// The template's resource type, such as `Custom::RemoteExports`.
    pub resource_type: String,
    /// `ResourceProperties` without `ServiceToken` and `ServiceTimeout`, which are CloudFormation's.
    /// Every scalar arrives as a string, numbers and booleans included.
    pub properties: P,
    /// `OldResourceProperties` on Update. `None` on Create and Delete, and on an Update whose old
    /// properties no longer read as `P` (say, the rollback of an Update that failed on them): failing
    /// that Update would leave the stack in UPDATE_ROLLBACK_FAILED.
    pub old_properties: Option<P>,
}

/// Keys CloudFormation adds to `ResourceProperties` itself.
const RESERVED_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// Properties that do not read as the resource's type; the text is the FAILED Reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid properties: {}{problem}.{}", at(path), hint(problem))]
pub(crate) struct InvalidProperties {
    /// Where, as `serde_path_to_error` writes it (`.` for the whole object).
    path: String,
    problem: String,
}

fn at(path: &str) -> String {
    if path == "." { String::new() } else { format!("{path}: ") }
}

/// The pitfall everyone meets once: `Count: 3` in a template arrives as "3".
fn hint(problem: &str) -> &'static str {
    if problem.starts_with("invalid type: string") {
        " CloudFormation passes every number and boolean property as a string: declare the field as a \
         string, or parse it from one."
    } else {
        ""
    }
}

/// Reads properties as `P`. The error names the property path and the problem, as a Reason.
pub(crate) fn read_properties<P: DeserializeOwned>(mut properties: Value) -> Result<P, InvalidProperties> {
    if let Value::Object(map) = &mut properties {
        for key in RESERVED_PROPERTIES {
            map.remove(key);
        }
    }
    serde_path_to_error::deserialize(properties)
        .map_err(|error| InvalidProperties { path: error.path().to_string(), problem: error.inner().to_string() })
}

/// An event that is not a valid custom-resource request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the event is not a valid CloudFormation custom-resource request: {reason}")]
#[non_exhaustive]
pub struct MalformedRequest {
    /// What is wrong with it.
    pub reason: String,
    /// Where a FAILED answer can still be sent, when the event carries enough to address one.
    pub reply: Option<Box<ReplyTarget>>,
    /// The `RequestType` it claims, when it has one: a Delete is answered SUCCESS even so.
    pub claimed_kind: Option<RequestKind>,
}

impl Request {
    /// Reads a raw event. A malformed event keeps what is needed to answer it when it can be answered.
    pub fn parse(event: Value) -> Result<Request, MalformedRequest> {
        let malformed = |reason: String, event: &Value| MalformedRequest {
            reason,
            reply: salvage_reply_target(event),
            claimed_kind: match event.get("RequestType").and_then(Value::as_str) {
                Some("Create") => Some(RequestKind::Create),
                Some("Update") => Some(RequestKind::Update),
                Some("Delete") => Some(RequestKind::Delete),
                _ => None,
            },
        };
        match serde_json::from_value::<RawRequest>(event.clone()) {
            Ok(raw) => Self::from_raw(raw).ok_or_else(|| malformed("unsupported RequestType".to_owned(), &event)),
            Err(error) => Err(malformed(error.to_string(), &event)),
        }
    }

    /// The same request with its properties read as `P`. `Err` carries the Reason when the new
    /// properties do not read; old properties that do not read become `None`, with a WARN.
    pub(crate) fn typed<P: DeserializeOwned>(self) -> Result<Request<P>, InvalidProperties> {
        let properties = read_properties(self.properties)?;
        let old_properties = self.old_properties.and_then(|old| {
            read_properties(old)
                .map_err(|problem| {
                    tracing::warn!(
                        logical_resource_id = %self.reply.logical_resource_id,
                        %problem,
                        "OldResourceProperties do not read as the resource's properties; the Update goes on without them"
                    );
                })
                .ok()
        });
        Ok(Request {
            kind: self.kind,
            reply: self.reply,
            resource_type: self.resource_type,
            properties,
            old_properties,
        })
    }

    fn from_raw(raw: RawRequest) -> Option<Request> {
        let request = match raw {
            RawRequest::Create(r) => Request {
                kind: RequestKind::Create,
                reply: ReplyTarget::new(r.response_url, r.stack_id, r.request_id, r.logical_resource_id, None),
                resource_type: r.resource_type,
                properties: r.resource_properties,
                old_properties: None,
            },
            RawRequest::Update(r) => Request {
                kind: RequestKind::Update,
                reply: ReplyTarget::new(
                    r.response_url,
                    r.stack_id,
                    r.request_id,
                    r.logical_resource_id,
                    Some(r.physical_resource_id),
                ),
                resource_type: r.resource_type,
                properties: r.resource_properties,
                old_properties: Some(r.old_resource_properties),
            },
            RawRequest::Delete(r) => Request {
                kind: RequestKind::Delete,
                reply: ReplyTarget::new(
                    r.response_url,
                    r.stack_id,
                    r.request_id,
                    r.logical_resource_id,
                    Some(r.physical_resource_id),
                ),
                resource_type: r.resource_type,
                properties: r.resource_properties,
                old_properties: None,
            },
            // The upstream enum is non-exhaustive; a future request type is answered as malformed.
            _ => return None,
        };
        Some(request)
    }
}

/// Reads the addressing fields from an event that failed to parse, so that it can still be answered.
fn salvage_reply_target(event: &Value) -> Option<Box<ReplyTarget>> {
    let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Box::new(ReplyTarget {
        response_url: RawResponseUrl::new(text("ResponseURL")?),
        stack_id: text("StackId").unwrap_or_default(),
        request_id: text("RequestId").unwrap_or_default(),
        logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
        physical_resource_id: text("PhysicalResourceId"),
    }))
}

/// The parts of a stack ARN (`arn:aws:cloudformation:eu-west-1:123456789012:stack/name/guid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackArn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// The stack's region.
    pub region: &'a str,
    /// The stack's account: once the ResponseURL is bound to the request, CloudFormation vouches for it.
    pub account: &'a str,
    /// The stack's name.
    pub stack_name: &'a str,
}

impl<'a> StackArn<'a> {
    /// `None` unless `stack_id` is a CloudFormation stack ARN with a region and a 12-digit account.
    pub fn parse(stack_id: &'a str) -> Option<StackArn<'a>> {
        let mut parts = stack_id.splitn(6, ':');
        let (arn, partition, service, region, account, resource) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if arn != "arn" || service != "cloudformation" || region.is_empty() || !account_ok {
            return None;
        }
        let stack_name = resource.strip_prefix("stack/")?.split('/').next()?;
        Some(StackArn { partition, region, account, stack_name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create_event() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:remote-exports",
            "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x?X-Amz-Signature=secret",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/airmiles/0f1e2d3c",
            "RequestId": "5d8a7c2b",
            "LogicalResourceId": "Lookup",
            "ResourceType": "Custom::RemoteExports",
            "ResourceProperties": {"ServiceToken": "arn", "ExportNames": ["a"]}
        })
    }

    #[test]
    fn parses_a_create_request() {
        let request = Request::parse(create_event()).unwrap();
        assert_eq!(request.kind, RequestKind::Create);
        assert_eq!(request.reply.logical_resource_id, "Lookup");
        assert_eq!(request.reply.physical_resource_id, None);
        assert_eq!(request.properties["ExportNames"][0], "a");
    }

    #[test]
    fn parses_update_and_delete_with_their_physical_id() {
        let mut event = create_event();
        event["RequestType"] = json!("Update");
        event["PhysicalResourceId"] = json!("id-1");
        event["OldResourceProperties"] = json!({"ExportNames": ["b"]});
        let update = Request::parse(event.clone()).unwrap();
        assert_eq!(update.kind, RequestKind::Update);
        assert_eq!(update.reply.physical_resource_id.as_deref(), Some("id-1"));
        assert_eq!(update.old_properties.unwrap()["ExportNames"][0], "b");

        event["RequestType"] = json!("Delete");
        let delete = Request::parse(event).unwrap();
        assert_eq!(delete.kind, RequestKind::Delete);
        assert_eq!(delete.reply.physical_resource_id.as_deref(), Some("id-1"));
    }

    #[test]
    fn accepts_a_top_level_service_timeout() {
        let mut event = create_event();
        event["ServiceTimeout"] = json!("300");
        assert!(Request::parse(event).is_ok());
    }

    #[test]
    fn a_malformed_event_with_a_response_url_can_still_be_answered() {
        let mut event = create_event();
        event["RequestType"] = json!("Upsert");
        let error = Request::parse(event).unwrap_err();
        assert!(error.reason.contains("Upsert"), "{}", error.reason);
        assert_eq!(error.claimed_kind, None);
        let reply = error.reply.expect("reply target");
        assert_eq!(reply.request_id, "5d8a7c2b");
        assert_eq!(reply.logical_resource_id, "Lookup");
    }

    #[test]
    fn a_malformed_event_without_a_response_url_cannot_be_answered() {
        let error = Request::parse(json!({"hello": "world"})).unwrap_err();
        assert!(error.reply.is_none());
        let error = Request::parse(json!([1, 2, 3])).unwrap_err();
        assert!(error.reply.is_none());
    }

    #[test]
    fn a_missing_field_is_named() {
        let mut event = create_event();
        event.as_object_mut().unwrap().remove("StackId");
        let error = Request::parse(event).unwrap_err();
        assert!(error.reason.contains("StackId"), "{}", error.reason);
    }

    #[test]
    fn a_malformed_delete_is_known_as_one() {
        let mut event = create_event();
        event["RequestType"] = json!("Delete");
        let error = Request::parse(event).unwrap_err();
        assert!(error.reason.contains("PhysicalResourceId"), "{}", error.reason);
        assert_eq!(error.claimed_kind, Some(RequestKind::Delete));
    }

    #[test]
    fn parses_stack_arns() {
        let arn = StackArn::parse("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/my-stack/guid").unwrap();
        assert!(StackArn::parse("arn:aws:cloudformation:eu-west-1:123:stack/s/g").is_none());
        assert_eq!(arn.partition, "aws-cn");
        assert_eq!(arn.region, "cn-north-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.stack_name, "my-stack");
        assert!(StackArn::parse("not-an-arn").is_none());
        assert!(StackArn::parse("arn:aws:s3:::bucket").is_none());
        assert!(StackArn::parse("arn:aws:cloudformation::123:stack/x/y").is_none());
    }
}
