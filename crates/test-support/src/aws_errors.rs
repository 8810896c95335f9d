//! AWS error responses as the services send them, for the proxy to answer instead of moto. Each
//! shape is copied from AWS's documentation or AWS's own test data (sources beside each); only the
//! code and message a test needs are put in, so that the SDK's parsers meet the real envelope, not
//! one written to suit them.

/// One error response: status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// A request ID in the documented format (the DynamoDB developer guide's example).
const JSON_REQUEST_ID: &str = "LDM6CJP8RMQ1FHKSC1RBVJFPNVV4KQNSO5AEMF66Q9ASUAAJG";

impl AwsError {
    /// STS, AWS Query: the envelope of botocore's captured STS error
    /// (`tests/unit/response_parsing/xml/errors/sts-get-session-token.xml`, boto/botocore
    /// 0e6e2404), with its namespace, `Type` and `RequestId`, as an AssumeRole denial reads
    /// (Netflix/security_monkey#77: `403 Forbidden`, "User: … is not authorized to perform: sts:AssumeRole on resource: …").
    pub fn sts(status: u16, code: &str, message: &str) -> AwsError {
        AwsError::query(
            "https://sts.amazonaws.com/doc/2011-06-15/",
            "8088f6eb-b7fb-11e2-8d25-4b9f3b52b80f",
            status,
            code,
            message,
        )
    }

    /// CloudFormation, AWS Query: the envelope of botocore's captured CloudFormation error
    /// (`tests/unit/response_parsing/xml/errors/cloudformation-cancel-update-stack.xml`: `ValidationError`,
    /// "Stack: foobar does not exist"), namespace `http://cloudformation.amazonaws.com/doc/2010-05-15/`.
    pub fn cloudformation(status: u16, code: &str, message: &str) -> AwsError {
        AwsError::query(
            "http://cloudformation.amazonaws.com/doc/2010-05-15/",
            "21113b58-b7e4-11e2-91fa-05ec834fa451",
            status,
            code,
            message,
        )
    }

    /// CloudFormation throttling, as captured in public test data (HTTP 400, `Throttling`, "Rate
    /// exceeded", RequestId `d0c477ac-f267-11e8-9d2b-93e3aa6368c5`). No AWS-owned copy was found;
    /// the envelope is the one above.
    pub fn cloudformation_throttling() -> AwsError {
        let mut error = AwsError::cloudformation(400, "Throttling", "Rate exceeded");
        error.body = error.body.replace("21113b58-b7e4-11e2-91fa-05ec834fa451", "d0c477ac-f267-11e8-9d2b-93e3aa6368c5");
        error
    }

    /// DynamoDB, AWS JSON 1.0: the DynamoDB developer guide's error ("Error handling with DynamoDB":
    /// `HTTP/1.1 400 Bad Request`, `x-amzn-RequestId`, `Content-Type: application/x-amz-json-1.0`,
    /// `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message":…}`).
    /// Access errors come from the Coral service namespace with a capital `Message`
    /// (`com.amazon.coral.service#AccessDeniedException`, baopham/laravel-dynamodb#32).
    pub fn dynamodb(code: &str, message: &str) -> AwsError {
        let namespace = match code {
            "AccessDeniedException" | "UnrecognizedClientException" => "com.amazon.coral.service",
            _ => "com.amazonaws.dynamodb.v20120810",
        };
        let key = if namespace == "com.amazon.coral.service" { "Message" } else { "message" };
        AwsError::json(
            "application/x-amz-json-1.0",
            format!("{{\"__type\":\"{namespace}#{code}\", \"{key}\":{}}}", quoted(message)),
        )
    }

    /// SSM or EventBridge, AWS JSON 1.1: an unqualified `__type` with `Message`, as in botocore's
    /// captured JSON 1.1 error (`tests/unit/response_parsing/json/errors/datapipeline-create-pipeline.json`:
    /// `{"__type":"AccessDeniedException","Message":"Operation createPipeline is not allowed …"}`).
    pub fn json_1_1(code: &str, message: &str) -> AwsError {
        AwsError::json(
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"Message\":{}}}", quoted(message)),
        )
    }

    /// The error type in the `X-Amzn-Errortype` header, with the Coral URI suffix a client must cut
    /// at the first `:` (Smithy's AWS JSON protocols, "Operation error serialization", and their
    /// protocol test `AwsJson10FooErrorUsingXAmznErrorTypeWithUri`:
    /// `X-Amzn-Errortype: FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/`).
    /// The body carries only the message.
    pub fn error_type_header(content_type: &'static str, code: &str, message: &str) -> AwsError {
        let mut error = AwsError::json(content_type, format!("{{\"message\":{}}}", quoted(message)));
        error
            .headers
            .push(("x-amzn-errortype", format!("{code}:http://internal.amazon.com/coral/com.amazon.coral.service/")));
        error
    }

    fn query(namespace: &str, request_id: &str, status: u16, code: &str, message: &str) -> AwsError {
        let body = format!(
            "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    \
             <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            xml_escaped(message)
        );
        AwsError {
            status,
            headers: vec![("content-type", "text/xml".to_owned()), ("x-amzn-requestid", request_id.to_owned())],
            body,
        }
    }

    fn json(content_type: &'static str, body: String) -> AwsError {
        let headers = vec![("content-type", content_type.to_owned()), ("x-amzn-requestid", JSON_REQUEST_ID.to_owned())];
        AwsError { status: 400, headers, body }
    }
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_envelope_is_the_captured_one() {
        let error = AwsError::cloudformation(400, "ValidationError", "Stack: foobar does not exist");
        // botocore's cloudformation-cancel-update-stack.xml, byte for byte.
        assert_eq!(
            error.body,
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n  <Error>\n    \
             <Type>Sender</Type>\n    <Code>ValidationError</Code>\n    <Message>Stack: foobar does not exist</Message>\n  \
             </Error>\n  <RequestId>21113b58-b7e4-11e2-91fa-05ec834fa451</RequestId>\n</ErrorResponse>\n"
        );
    }

    #[test]
    fn the_json_bodies_are_the_documented_ones() {
        let error =
            AwsError::dynamodb("ResourceNotFoundException", "Requested resource not found: Table: tablename not found");
        assert_eq!(
            error.body,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message":"Requested resource not found: Table: tablename not found"}"#
        );
        assert!(error.headers.contains(&("content-type", "application/x-amz-json-1.0".to_owned())));
        let error = AwsError::json_1_1(
            "AccessDeniedException",
            "Operation createPipeline is not allowed to be performed with role identity",
        );
        assert_eq!(
            error.body,
            r#"{"__type":"AccessDeniedException","Message":"Operation createPipeline is not allowed to be performed with role identity"}"#
        );
    }
}
