//! What a Lambda Hook answers.

use serde::Serialize;

/// CloudFormation truncates a hook's message to this many characters; the response cuts it first,
/// on a character boundary, so the cut is visible.
pub const MESSAGE_LIMIT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Success,
    Failed,
    InProgress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// The operation breaks the hook's rule: with `FailureMode: FAIL` it stops.
    NonCompliant,
    /// The hook could not decide; `FailureMode` decides.
    InternalFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AnnotationStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

/// One check's result, shown beside the hook's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub annotation_name: String,
    pub status: AnnotationStatus,
    pub status_message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_level: Option<Severity>,
}

/// The answer: the request's token echoed, a status, and a message within [`MESSAGE_LIMIT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    pub message: String,
    pub client_request_token: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

impl HookResponse {
    pub fn success(client_request_token: &str, message: impl Into<String>) -> HookResponse {
        HookResponse::new(HookStatus::Success, None, client_request_token, message.into())
    }

    /// `FAILED` with `NonCompliant`: the operation breaks the rule.
    pub fn non_compliant(client_request_token: &str, message: impl Into<String>) -> HookResponse {
        HookResponse::new(HookStatus::Failed, Some(ErrorCode::NonCompliant), client_request_token, message.into())
    }

    /// `FAILED` with `InternalFailure`: the hook could not decide, and says what failed.
    pub fn internal_failure(client_request_token: &str, message: impl Into<String>) -> HookResponse {
        HookResponse::new(HookStatus::Failed, Some(ErrorCode::InternalFailure), client_request_token, message.into())
    }

    pub fn with_annotations(mut self, annotations: Vec<Annotation>) -> HookResponse {
        self.annotations = annotations;
        self
    }

    fn new(status: HookStatus, code: Option<ErrorCode>, token: &str, message: String) -> HookResponse {
        HookResponse {
            hook_status: status,
            error_code: code,
            message: truncate(message),
            client_request_token: token.to_owned(),
            annotations: Vec::new(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a hook response is plain data")
    }
}

fn truncate(message: String) -> String {
    cut(message, MESSAGE_LIMIT, " …(cut at the 4096 characters CloudFormation shows)")
}

/// `text` within `limit` characters: as it is when it fits, else cut on a character boundary and
/// ended with `marker`, which counts towards the limit.
pub fn cut(text: String, limit: usize, marker: &str) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    let keep = limit.saturating_sub(marker.chars().count());
    let end = text.char_indices().nth(keep).map_or(text.len(), |(at, _)| at);
    format!("{}{marker}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_have_the_guides_shape() {
        // The guide's examples.
        assert_eq!(
            HookResponse::success("123avjdjk31", "compliant").to_json(),
            json!({"hookStatus": "SUCCESS", "message": "compliant", "clientRequestToken": "123avjdjk31"})
        );
        let failed = HookResponse::non_compliant("123avjdjk31", "S3 Bucket Versioning must be enabled.");
        assert_eq!(
            failed.to_json(),
            json!({"hookStatus": "FAILED", "errorCode": "NonCompliant", "message": "S3 Bucket Versioning must be enabled.", "clientRequestToken": "123avjdjk31"})
        );
        let annotated = HookResponse::internal_failure("t", "m").with_annotations(vec![Annotation {
            annotation_name: "Check".into(),
            status: AnnotationStatus::Failed,
            status_message: "why".into(),
            remediation_message: Some("fix".into()),
            remediation_link: None,
            severity_level: Some(Severity::High),
        }]);
        assert_eq!(
            annotated.to_json()["annotations"],
            json!([{"annotationName": "Check", "status": "FAILED", "statusMessage": "why", "remediationMessage": "fix", "severityLevel": "HIGH"}])
        );
        assert_eq!(annotated.to_json()["errorCode"], "InternalFailure");
    }

    #[test]
    fn long_messages_are_cut_at_4096_characters() {
        let response = HookResponse::non_compliant("t", "ä".repeat(5000));
        assert_eq!(response.message.chars().count(), MESSAGE_LIMIT);
        assert!(response.message.ends_with("(cut at the 4096 characters CloudFormation shows)"));
    }
}
