use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::ReplyTarget;

/// CloudFormation rejects a larger body with "Response object is too long" (the limit is inclusive).
pub(crate) const MAX_RESPONSE_BYTES: usize = 4096;
/// CloudFormation's limit on a PhysicalResourceId.
pub(crate) const MAX_PHYSICAL_ID_BYTES: usize = 1024;

const TRUNCATION_MARK: &str = " …[truncated]";

/// Whether the request succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The stack operation goes on.
    Success,
    /// The stack operation fails with the Reason.
    Failed,
}

impl Status {
    /// `SUCCESS` or `FAILED`, as in the body.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        }
    }
}

/// The values `!GetAtt Resource.Key` reads. `Debug` shows the keys only: values may be secrets.
#[derive(Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Data(BTreeMap<String, Value>);

impl Data {
    /// No keys.
    pub fn new() -> Data {
        Data::default()
    }

    /// Sets `key`; a string for most attributes, a list of strings where `Fn::Select` will read it.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Data {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Data {
        Data(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, "<redacted>"))).finish()
    }
}

/// The body PUT to the ResponseURL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Response {
    /// SUCCESS or FAILED.
    pub status: Status,
    /// Why it failed: shown in the stack's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The resource's ID; a different ID on Update means replacement.
    pub physical_resource_id: String,
    /// Echoed from the request.
    pub stack_id: String,
    /// Echoed from the request.
    pub request_id: String,
    /// Echoed from the request.
    pub logical_resource_id: String,
    /// Whether CloudFormation should mask `Data` in its console and API output.
    pub no_echo: bool,
    /// What `!GetAtt` reads.
    #[serde(skip_serializing_if = "Data::is_empty")]
    pub data: Data,
}

/// Why a response cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Over CloudFormation's 4096 bytes, and not a FAILED answer whose Reason could be shortened.
    #[error("the response is {bytes} bytes, over CloudFormation's limit of {MAX_RESPONSE_BYTES} bytes")]
    TooLarge {
        /// The encoded size.
        bytes: usize,
    },
    /// Empty, or longer than CloudFormation accepts.
    #[error("the PhysicalResourceId must be 1 to {MAX_PHYSICAL_ID_BYTES} bytes, not {bytes}")]
    InvalidPhysicalResourceId {
        /// Its length.
        bytes: usize,
    },
}

impl Response {
    /// CloudFormation's limit on the body, in bytes.
    pub const MAX_BYTES: usize = MAX_RESPONSE_BYTES;

    /// A SUCCESS answer to the request `reply` addresses.
    pub(crate) fn success(reply: &ReplyTarget, physical_resource_id: String, data: Data, no_echo: bool) -> Self {
        Self::new(reply, Status::Success, None, physical_resource_id, data, no_echo)
    }

    /// A FAILED answer to the request `reply` addresses.
    pub(crate) fn failed(reply: &ReplyTarget, physical_resource_id: String, reason: impl Into<String>) -> Self {
        Self::new(reply, Status::Failed, Some(reason.into()), physical_resource_id, Data::new(), false)
    }

    fn new(
        reply: &ReplyTarget,
        status: Status,
        reason: Option<String>,
        physical_resource_id: String,
        data: Data,
        no_echo: bool,
    ) -> Self {
        Response {
            status,
            reason,
            physical_resource_id,
            stack_id: reply.stack_id.clone(),
            request_id: reply.request_id.clone(),
            logical_resource_id: reply.logical_resource_id.clone(),
            no_echo,
            data,
        }
    }

    /// Serializes the body, measured in bytes. A FAILED answer's Reason is shortened to fit, keeping
    /// its beginning (where the cause is); a SUCCESS answer that does not fit is an error, because
    /// dropping Data would break `!GetAtt` far from the cause.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let id_bytes = self.physical_resource_id.len();
        if id_bytes == 0 || id_bytes > MAX_PHYSICAL_ID_BYTES {
            return Err(EncodeError::InvalidPhysicalResourceId { bytes: id_bytes });
        }
        let body = self.to_json();
        if body.len() <= MAX_RESPONSE_BYTES {
            return Ok(body);
        }
        let (Status::Failed, Some(reason)) = (self.status, &self.reason) else {
            return Err(EncodeError::TooLarge { bytes: body.len() });
        };
        // Escaping makes a JSON byte worth less than a source byte, so search for the longest prefix that fits.
        let mut shortened = self.clone();
        let with_prefix = |shortened: &mut Response, keep: usize| {
            shortened.reason = Some(format!("{}{TRUNCATION_MARK}", truncate_utf8(reason, keep)));
            shortened.to_json()
        };
        let (mut fits, mut too_long) = (0, reason.len());
        while fits + 1 < too_long {
            let middle = (fits + too_long) / 2;
            if with_prefix(&mut shortened, middle).len() <= MAX_RESPONSE_BYTES {
                fits = middle;
            } else {
                too_long = middle;
            }
        }
        let body = with_prefix(&mut shortened, fits);
        if body.len() <= MAX_RESPONSE_BYTES { Ok(body) } else { Err(EncodeError::TooLarge { bytes: body.len() }) }
    }

    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response of strings always serializes")
    }
}

/// The longest prefix of `text` that is at most `max_bytes` long and ends on a character boundary.
pub(crate) fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reply() -> ReplyTarget {
        ReplyTarget {
            response_url: crate::request::RawResponseUrl::new("https://example.s3.amazonaws.com/x"),
            stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g".into(),
            request_id: "req".into(),
            logical_resource_id: "Lookup".into(),
            physical_resource_id: None,
        }
    }

    #[test]
    fn a_success_body_has_the_fields_cloudformation_reads() {
        let data = Data::from_iter([("k", "v")]);
        let body = Response::success(&reply(), "pid".into(), data, true).encode().unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["Status"], "SUCCESS");
        assert_eq!(json["PhysicalResourceId"], "pid");
        assert_eq!(json["StackId"], reply().stack_id);
        assert_eq!(json["RequestId"], "req");
        assert_eq!(json["LogicalResourceId"], "Lookup");
        assert_eq!(json["NoEcho"], true);
        assert_eq!(json["Data"]["k"], "v");
        assert!(json.get("Reason").is_none());
    }

    #[test]
    fn a_failed_body_carries_its_reason() {
        let body = Response::failed(&reply(), "pid".into(), "because").encode().unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["Status"], "FAILED");
        assert_eq!(json["Reason"], "because");
    }

    fn success_with_value_of(len: usize) -> Response {
        let data = Data::from_iter([("k", "v".repeat(len))]);
        Response::success(&reply(), "pid".into(), data, false)
    }

    #[test]
    fn the_limit_is_exact_and_inclusive() {
        let base = success_with_value_of(0).encode().unwrap().len();
        let fits = success_with_value_of(MAX_RESPONSE_BYTES - base);
        assert_eq!(fits.encode().unwrap().len(), MAX_RESPONSE_BYTES);
        let over = success_with_value_of(MAX_RESPONSE_BYTES - base + 1);
        assert_eq!(over.encode(), Err(EncodeError::TooLarge { bytes: MAX_RESPONSE_BYTES + 1 }));
    }

    #[test]
    fn the_size_counts_bytes_not_characters() {
        let data = Data::from_iter([("k", "é".repeat(2100))]);
        let response = Response::success(&reply(), "pid".into(), data, false);
        assert!(matches!(response.encode(), Err(EncodeError::TooLarge { .. })));
    }

    #[test]
    fn a_long_reason_is_cut_on_a_char_boundary_keeping_its_beginning() {
        let reason = format!("CAUSE: {}", "ü\"".repeat(3000));
        let body = Response::failed(&reply(), "pid".into(), reason).encode().unwrap();
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let json: Value = serde_json::from_slice(&body).unwrap();
        let kept = json["Reason"].as_str().unwrap();
        assert!(kept.starts_with("CAUSE: ü\"ü\""), "{kept}");
        assert!(kept.ends_with(TRUNCATION_MARK));
        assert!(body.len() > MAX_RESPONSE_BYTES - 16, "cut too much: {}", body.len());
    }

    #[test]
    fn the_physical_id_must_be_usable() {
        let empty = Response::failed(&reply(), String::new(), "x");
        assert_eq!(empty.encode(), Err(EncodeError::InvalidPhysicalResourceId { bytes: 0 }));
        let long = Response::failed(&reply(), "x".repeat(1025), "x");
        assert_eq!(long.encode(), Err(EncodeError::InvalidPhysicalResourceId { bytes: 1025 }));
        assert!(Response::failed(&reply(), "x".repeat(1024), "x").encode().is_ok());
    }

    #[test]
    fn data_may_hold_lists_and_debug_hides_every_value() {
        let mut data = Data::new();
        data.insert("Subnets", vec!["subnet-1", "subnet-2"]);
        data.insert("Password", "hunter2");
        let response = Response::success(&reply(), "pid".into(), data, true);
        let json: Value = serde_json::from_slice(&response.encode().unwrap()).unwrap();
        assert_eq!(json["Data"]["Subnets"][1], "subnet-2");
        let shown = format!("{response:?}");
        assert!(shown.contains("Password") && !shown.contains("hunter2") && !shown.contains("subnet-1"), "{shown}");
    }

    #[test]
    fn truncate_utf8_never_splits_a_character() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("abc", 10), "abc");
        assert_eq!(truncate_utf8("€", 2), "");
    }
}
