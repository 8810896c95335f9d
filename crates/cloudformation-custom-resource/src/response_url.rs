//! Which ResponseURLs may receive an answer. (Half of this file is its tests: the real URL shapes of
//! every partition, and each refusal.)
//!
//! A real ResponseURL is a presigned PUT into CloudFormation's own response bucket for the stack's
//! region, and its object key names the request: `<StackId>|<LogicalResourceId>|<RequestId>`,
//! percent-encoded (`:` as `%3A`, `|` as `%7C`, slashes kept). Only CloudFormation can sign such a
//! URL, so binding the URL to the event's own identifiers means a hand-made event cannot send the
//! answer anywhere its sender can read. Shapes seen in public material:
//!
//! - `https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A…%7C<LogicalId>%7C<RequestId>?…`
//!   (global endpoint; aws-cloudformation/aws-cloudformation-templates issues #54 and #100, 2018)
//! - `https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/…`
//!   (legacy `s3-<region>` endpoint; sonyxperiadev/amazon-custom-resources `echo-dependency/event.json.sh`, 2015,
//!   and a 2017 eu-west-1 event quoted in public test fixtures)
//! - `https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/arn%3Aaws%3A…`
//!   (regional `s3.<region>` endpoint; AWS Knowledge Center example for stuck custom resources, account 111122223333)
//! - `https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/arn%3Aaws-cn%3Acloudformation%3Acn-north-1%3A…`
//!   (China partition; a 2016 cn-north-1 event quoted in a public Java sample)
//! - The bucket name `cloudformation-custom-resource-response-<RegionWithoutDashes>` is documented by AWS for VPC
//!   endpoint policies (CloudFormation user guide, "cfn-vpce-bucketnames"). Path-style and dualstack hosts are
//!   S3's documented alternatives for any bucket, so they are accepted too.

use std::fmt;

use percent_encoding::percent_decode_str;
use url::{Host, Url};

use crate::request::{ReplyTarget, StackArn, redact};
use remote_exports_shared::Partition;

/// How strictly a ResponseURL is checked before anything is done for its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum UrlBinding {
    /// The URL must be CloudFormation's response bucket for the stack's region, and its key must be
    /// exactly `<StackId>|<LogicalResourceId>|<RequestId>` of the event.
    #[default]
    Request,
    /// Any https S3 host of the stack's partition, any bucket and key. An escape hatch for the day AWS
    /// changes the URL format; it lets any invoker choose the bucket.
    HostOnly,
}

/// Which ResponseURLs may receive an answer.
///
/// Every policy also binds the request to the function's own region: CloudFormation invokes a
/// ServiceToken only in the stack's own region, so a StackId in another region or partition (or a
/// made-up region whose response bucket anyone could create) is a forged request. The region is
/// the one AWS gives the function (`AWS_REGION` in Lambda), never one the event names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    binding: UrlBinding,
    allow_loopback: bool,
    /// The function's own region; `None` refuses every request, since nothing can be bound.
    home_region: Option<String>,
}

impl UrlPolicy {
    /// The production policy: CloudFormation's response bucket for the stack's region, on an
    /// S3 endpoint of the stack's partition, with the key `<StackId>|<LogicalResourceId>|<RequestId>`
    /// of the event. A hand-made event cannot send an answer anywhere its sender can read.
    /// Name the function's region with [`UrlPolicy::in_region`]: until then every request is refused.
    pub fn strict() -> Self {
        UrlPolicy::default()
    }

    /// Any https S3 host of the stack's partition, any bucket and key. An escape hatch for the day
    /// AWS changes the URL format; it lets any invoker choose the bucket. The stack must still be in
    /// the function's own region of a partition this version knows.
    pub fn host_only() -> Self {
        UrlPolicy { binding: UrlBinding::HostOnly, ..UrlPolicy::default() }
    }

    /// The function's own region (in Lambda, `AWS_REGION`): a request for a stack in any other
    /// region or partition is refused.
    pub fn in_region(self, region: impl Into<String>) -> Self {
        UrlPolicy { home_region: Some(region.into()), ..self }
    }

    /// [`UrlPolicy::in_region`] with `AWS_REGION`, which Lambda sets to the function's region; left
    /// unset when the variable is (then every request is refused, and says why).
    pub fn in_lambda_region(self) -> Self {
        self.with_lambda_vars(|name| if name == "AWS_REGION" { std::env::var(name).ok() } else { None }).0
    }

    /// The policy as a Lambda function's environment configures it, read through `var`:
    /// `AWS_REGION` (set by Lambda: the function's own region) and `ALLOW_LOOPBACK_RESPONSE_URL=true`
    /// (local emulators only). Returns the warnings to log at start: a missing region, loopback on.
    pub fn with_lambda_vars(self, var: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();
        let home_region = set("AWS_REGION");
        if home_region.is_none() {
            warnings.push("AWS_REGION is not set: every request is refused, since none can be bound to it".to_owned());
        }
        let allow_loopback = set("ALLOW_LOOPBACK_RESPONSE_URL").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if allow_loopback {
            warnings
                .push("ALLOW_LOOPBACK_RESPONSE_URL=true: answers may go to loopback hosts (local testing only)".into());
        }
        (UrlPolicy { home_region, allow_loopback, ..self }, warnings)
    }

    /// Also accept `http` on 127.0.0.1, `::1` or `localhost`, path-style, for local emulators and
    /// tests. This relaxes the scheme and the host only: the region, bucket and key rules still hold.
    pub fn with_loopback(self, allow_loopback: bool) -> Self {
        UrlPolicy { allow_loopback, ..self }
    }

    /// Whether URLs must name their request (false only for [`UrlPolicy::host_only`]).
    pub fn binds_request(&self) -> bool {
        self.binding == UrlBinding::Request
    }

    /// Whether loopback hosts are accepted ([`UrlPolicy::with_loopback`]).
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// The function's own region, when named.
    pub fn home_region(&self) -> Option<&str> {
        self.home_region.as_deref()
    }
}

/// A ResponseURL that passed the [`UrlPolicy`] for its request. `Display` and `Debug` hide the query
/// string; only a transport reads the full URL, through [`ResponseUrl::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(Url);

/// Why a ResponseURL was refused. The texts never contain the query string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseUrlError {
    /// The text is not a URL at all.
    #[error("the ResponseURL is not a valid URL ({0})")]
    Invalid(String),
    /// The scheme or host is not an Amazon S3 endpoint (or an allowed loopback host).
    #[error("the ResponseURL {url} is not an https URL on an Amazon S3 endpoint of the stack's partition and region")]
    NotS3 {
        /// The URL without its query string.
        url: String,
    },
    /// The StackId is not a stack ARN, so the URL cannot be checked against it.
    #[error("the StackId is not a CloudFormation stack ARN, so the ResponseURL cannot be bound to the request")]
    UnboundStack,
    /// The StackId names a partition (or a region outside its partition) that this version does not
    /// know, so there is no DNS suffix to check the host against.
    #[error(
        "the stack's partition '{partition}' (region {region}) is not one this version knows ({known}), so its \
         ResponseURL cannot be checked; upgrade the function",
        known = Partition::known_ids()
    )]
    UnknownPartition {
        /// The partition as the StackId names it.
        partition: String,
        /// The region as the StackId names it.
        region: String,
    },
    /// No function region was named, so no request can be bound to it.
    #[error(
        "the function's own region is not known (AWS_REGION is not set), so no request can be bound to it; \
         name it with UrlPolicy::in_region"
    )]
    NoHomeRegion,
    /// The StackId names another region or partition than the function's own. CloudFormation
    /// invokes only a ServiceToken in the stack's own region, so such a request is forged.
    #[error(
        "the StackId names region '{stack_region}' of partition '{stack_partition}', but this function runs in \
         '{function_region}': CloudFormation invokes only a function in the stack's own region"
    )]
    ForeignRegion {
        /// The region as the StackId names it.
        stack_region: String,
        /// The partition as the StackId names it.
        stack_partition: String,
        /// The function's own region.
        function_region: String,
    },
    /// The bucket is not CloudFormation's response bucket for the stack's region.
    #[error("the ResponseURL {url} is not CloudFormation's response bucket for this stack's region ({expected})")]
    WrongBucket {
        /// The URL without its query string.
        url: String,
        /// The bucket a real ResponseURL for this stack uses.
        expected: String,
    },
    /// The object key does not name this request.
    #[error(
        "the ResponseURL {url} does not name this request (its key must be <StackId>|<LogicalResourceId>|<RequestId>)"
    )]
    WrongKey {
        /// The URL without its query string.
        url: String,
    },
}

/// The bucket CloudFormation answers custom resources through in `region`.
pub(crate) fn response_bucket(region: &str) -> String {
    format!("cloudformation-custom-resource-response-{}", region.replace('-', ""))
}

/// The object key a real ResponseURL carries for this request, before percent-encoding.
pub(crate) fn response_key(stack_id: &str, logical_resource_id: &str, request_id: &str) -> String {
    format!("{stack_id}|{logical_resource_id}|{request_id}")
}

#[cfg(any(test, feature = "testing"))]
/// The key as a real ResponseURL's path carries it: `:` as `%3A`, `|` as `%7C`, slashes kept.
pub(crate) fn encoded_response_key(stack_id: &str, logical_resource_id: &str, request_id: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');
    utf8_percent_encode(&response_key(stack_id, logical_resource_id, request_id), KEY).to_string()
}

impl ResponseUrl {
    /// Checks `reply`'s URL against `policy`. Nothing about the request should be acted on when this fails.
    pub fn bind(reply: &ReplyTarget, policy: &UrlPolicy) -> Result<ResponseUrl, ResponseUrlError> {
        let url = Url::parse(reply.response_url.as_str()).map_err(|e| ResponseUrlError::Invalid(e.to_string()))?;
        let not_s3 = || ResponseUrlError::NotS3 { url: redact(&url) };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(not_s3());
        }
        let loopback = is_loopback(&url);
        if loopback {
            if !policy.allow_loopback || !matches!(url.scheme(), "http" | "https") {
                return Err(not_s3());
            }
        } else if url.scheme() != "https" {
            return Err(not_s3());
        }
        let stack = StackArn::parse(&reply.stack_id).ok_or(ResponseUrlError::UnboundStack)?;
        let partition = home_partition(&stack, policy)?;
        if policy.binding == UrlBinding::HostOnly {
            return if loopback || is_s3_host_of(&url, partition) { Ok(ResponseUrl(url)) } else { Err(not_s3()) };
        }
        let expected_bucket = response_bucket(stack.region);
        if loopback {
            // Loopback stands in for an S3 endpoint, so only the path-style form makes sense there.
            let (bucket, key) = split_path_style(url.path());
            return check_bucket_and_key(&url, bucket, key, &expected_bucket, reply);
        }
        let Some(Host::Domain(host)) = url.host() else {
            return Err(not_s3());
        };
        let host = host.to_ascii_lowercase();
        let (bucket, key) = match host.strip_prefix(&format!("{expected_bucket}.")) {
            Some(endpoint) if is_s3_endpoint(endpoint, partition, stack.region) => {
                (expected_bucket.as_str(), &url.path()[1..])
            }
            Some(_) => return Err(not_s3()),
            None if is_s3_endpoint(&host, partition, stack.region) => split_path_style(url.path()),
            // Another bucket, virtual-hosted.
            None if is_s3_host_of(&url, partition) => ("", ""),
            None => return Err(not_s3()),
        };
        check_bucket_and_key(&url, bucket, key, &expected_bucket, reply)
    }

    /// The full URL, signature included: only for the request that delivers the answer.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// Scheme, host and path: safe to log.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

fn check_bucket_and_key(
    url: &Url,
    bucket: &str,
    encoded_key: &str,
    expected_bucket: &str,
    reply: &ReplyTarget,
) -> Result<ResponseUrl, ResponseUrlError> {
    if bucket != expected_bucket {
        return Err(ResponseUrlError::WrongBucket { url: redact(url), expected: expected_bucket.to_owned() });
    }
    let expected_key = response_key(&reply.stack_id, &reply.logical_resource_id, &reply.request_id);
    let key = percent_decode_str(encoded_key).decode_utf8();
    if key.as_deref().ok() != Some(expected_key.as_str()) {
        return Err(ResponseUrlError::WrongKey { url: redact(url) });
    }
    Ok(ResponseUrl(url.clone()))
}

/// `/bucket/key…` → (`bucket`, `key…`), the key still percent-encoded.
fn split_path_style(path: &str) -> (&str, &str) {
    path.strip_prefix('/').unwrap_or(path).split_once('/').unwrap_or((path.trim_start_matches('/'), ""))
}

/// Whether `host` is an S3 endpoint that can serve a bucket of this partition and region: `s3`,
/// `s3-external-1` (aws, us-east-1), `s3-<region>`, `s3.<region>`, `s3.dualstack.<region>`,
/// `s3-fips.<region>` and `s3-fips.dualstack.<region>`, under the partition's DNS suffix.
fn is_s3_endpoint(host: &str, partition: &Partition, region: &str) -> bool {
    let Some(endpoint) = host.strip_suffix(partition.dns_suffix).and_then(|rest| rest.strip_suffix('.')) else {
        return false;
    };
    let regional = |prefix: &str| endpoint.strip_prefix(prefix).is_some_and(|rest| rest == region);
    match endpoint {
        "s3" => partition.id == "aws",
        "s3-external-1" => partition.id == "aws" && region == "us-east-1",
        _ => {
            regional("s3-")
                || regional("s3.")
                || regional("s3.dualstack.")
                || regional("s3-fips.")
                || regional("s3-fips.dualstack.")
        }
    }
}

/// The stack's partition, when the stack is in the function's own region of a partition this
/// version knows, and that region is a real stack region (no `*-global` pseudo-region).
fn home_partition(stack: &StackArn<'_>, policy: &UrlPolicy) -> Result<&'static Partition, ResponseUrlError> {
    let home = policy.home_region.as_deref().ok_or(ResponseUrlError::NoHomeRegion)?;
    match Partition::of_region(home).filter(|p| p.has_stack_region(home)) {
        Some(partition) if stack.region == home && stack.partition == partition.id => Ok(partition),
        Some(_) if Partition::by_id(stack.partition).is_some() => Err(ResponseUrlError::ForeignRegion {
            stack_region: stack.region.to_owned(),
            stack_partition: stack.partition.to_owned(),
            function_region: home.to_owned(),
        }),
        // A partition this version does not know is said by name, so the operator knows to upgrade.
        _ => Err(ResponseUrlError::UnknownPartition {
            partition: stack.partition.to_owned(),
            region: stack.region.to_owned(),
        }),
    }
}

/// An https host under `partition`'s DNS suffix with a label starting `s3`: any S3 endpoint of
/// the partition, any bucket.
fn is_s3_host_of(url: &Url, partition: &Partition) -> bool {
    let Some(Host::Domain(host)) = url.host() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    let Some(service_part) =
        host.strip_suffix(partition.dns_suffix).and_then(|rest| rest.strip_suffix('.')).filter(|rest| !rest.is_empty())
    else {
        return false;
    };
    url.scheme() == "https" && service_part.split('.').any(|label| label.starts_with("s3"))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::RawResponseUrl;

    const SIGNATURE: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef";

    fn reply(stack_id: &str, logical: &str, request: &str, url: &str) -> ReplyTarget {
        ReplyTarget {
            response_url: RawResponseUrl::new(url),
            stack_id: stack_id.into(),
            request_id: request.into(),
            logical_resource_id: logical.into(),
            physical_resource_id: None,
        }
    }

    /// Binds as a function deployed in the region that the target's StackId names.
    fn bind_at_home(target: &ReplyTarget, policy: &UrlPolicy) -> Result<ResponseUrl, ResponseUrlError> {
        let region = target.stack_id.split(':').nth(3).unwrap_or_default();
        ResponseUrl::bind(target, &policy.clone().in_region(region))
    }

    fn encoded_key(stack_id: &str, logical: &str, request: &str) -> String {
        encoded_response_key(stack_id, logical, request)
    }

    /// `<StackId>|L|r` of the stack most tests use, as a ResponseURL's path carries it.
    const KEY: &str = "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/s/g%7CL%7Cr";

    /// Real shapes, written out as CloudFormation sends them (sources in the module docs): the
    /// identifiers of each sample, and the key as its path carries it. No URL here is built by this
    /// crate's own functions, so a slip in them cannot hide in these tests.
    const REAL_SHAPES: [(&str, &str, &str, &str); 6] = [
        (
            "arn:aws:cloudformation:us-east-1:111122223333:stack/awsexamplecloudformation/33ad60e0-5f25-11e9-a734-0aa6b80efab2",
            "MyCustomResource",
            "e2fc8f5c-0391-4a65-a645-7c695646739",
            "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/awsexamplecloudformation/33ad60e0-5f25-11e9-a734-0aa6b80efab2%7CMyCustomResource%7Ce2fc8f5c-0391-4a65-a645-7c695646739",
        ),
        (
            "arn:aws:cloudformation:us-east-1:123456789012:stack/my-stack/guid",
            "Lookup",
            "5d8a7c2b",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/my-stack/guid%7CLookup%7C5d8a7c2b",
        ),
        (
            "arn:aws:cloudformation:eu-west-1:352283894008:stack/username-test-removed-creds-4/b8d29ba0-c499-11e7-a296-503abe701cd1",
            "EndpointAPIs",
            "f0e0cab3-b258-4058-8a3c-5d6e7f8a9b0c",
            "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A352283894008%3Astack/username-test-removed-creds-4/b8d29ba0-c499-11e7-a296-503abe701cd1%7CEndpointAPIs%7Cf0e0cab3-b258-4058-8a3c-5d6e7f8a9b0c",
        ),
        (
            "arn:aws-cn:cloudformation:cn-north-1:296259413523:stack/dropme/467c5470-6549-11e6-aed7-50d5cdfd10fa",
            "CIServerTest",
            "91126ada-82e5-42a4-b45a-37f14cdff905",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/arn%3Aaws-cn%3Acloudformation%3Acn-north-1%3A296259413523%3Astack/dropme/467c5470-6549-11e6-aed7-50d5cdfd10fa%7CCIServerTest%7C91126ada-82e5-42a4-b45a-37f14cdff905",
        ),
        (
            "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/gov/guid",
            "Lookup",
            "r-1",
            "https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/arn%3Aaws-us-gov%3Acloudformation%3Aus-gov-west-1%3A123456789012%3Astack/gov/guid%7CLookup%7Cr-1",
        ),
        (
            "arn:aws:cloudformation:eu-central-1:123456789012:stack/dual/guid",
            "Lookup",
            "r-2",
            "https://cloudformation-custom-resource-response-eucentral1.s3.dualstack.eu-central-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-central-1%3A123456789012%3Astack/dual/guid%7CLookup%7Cr-2",
        ),
    ];

    fn real_shapes() -> Vec<(String, ReplyTarget)> {
        REAL_SHAPES
            .into_iter()
            .map(|(stack, logical, request, url)| {
                let url = format!("{url}?{SIGNATURE}");
                (url.clone(), reply(stack, logical, request, &url))
            })
            .collect()
    }

    #[test]
    fn the_key_is_encoded_as_cloudformation_encodes_it() {
        for (stack, logical, request, url) in REAL_SHAPES {
            let (_, path) = url.split_once(".com").expect("an https URL");
            let path = path.strip_prefix(".cn").unwrap_or(path);
            assert_eq!(format!("/{}", encoded_response_key(stack, logical, request)), path);
            assert_eq!(response_bucket(StackArn::parse(stack).unwrap().region), url[8..].split('.').next().unwrap());
        }
    }

    #[test]
    fn accepts_real_shapes_in_every_partition() {
        for (url, reply) in real_shapes() {
            assert!(bind_at_home(&reply, &UrlPolicy::strict()).is_ok(), "{url}");
        }
    }

    /// The response bucket on each partition's regional S3 endpoint (`s3.<region>.<dnsSuffix>`, the
    /// suffixes from the SDK's partition data), virtual-hosted and path-style.
    #[test]
    fn accepts_the_response_bucket_in_every_partition() {
        let hosts = [
            ("aws", "us-west-2", "cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com"),
            (
                "aws-cn",
                "cn-northwest-1",
                "cloudformation-custom-resource-response-cnnorthwest1.s3.cn-northwest-1.amazonaws.com.cn",
            ),
            (
                "aws-us-gov",
                "us-gov-east-1",
                "cloudformation-custom-resource-response-usgoveast1.s3.us-gov-east-1.amazonaws.com",
            ),
            (
                "aws-eusc",
                "eusc-de-east-1",
                "cloudformation-custom-resource-response-euscdeeast1.s3.eusc-de-east-1.amazonaws.eu",
            ),
            (
                "aws-iso",
                "us-iso-east-1",
                "cloudformation-custom-resource-response-usisoeast1.s3.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "aws-iso-b",
                "us-isob-east-1",
                "cloudformation-custom-resource-response-usisobeast1.s3.us-isob-east-1.sc2s.sgov.gov",
            ),
            (
                "aws-iso-e",
                "eu-isoe-west-1",
                "cloudformation-custom-resource-response-euisoewest1.s3.eu-isoe-west-1.cloud.adc-e.uk",
            ),
            (
                "aws-iso-f",
                "us-isof-south-1",
                "cloudformation-custom-resource-response-usisofsouth1.s3.us-isof-south-1.csp.hci.ic.gov",
            ),
        ];
        assert_eq!(hosts.len(), Partition::known_ids().split(", ").count(), "one host per partition");
        for (partition, region, host) in hosts {
            let stack = format!("arn:{partition}:cloudformation:{region}:123456789012:stack/s/g");
            let key = encoded_key(&stack, "L", "r");
            let virtual_hosted = format!("https://{host}/{key}?{SIGNATURE}");
            assert!(
                bind_at_home(&reply(&stack, "L", "r", &virtual_hosted), &UrlPolicy::strict()).is_ok(),
                "{virtual_hosted}"
            );
            let (bucket, endpoint) = host.split_once('.').unwrap();
            let path_style = format!("https://{endpoint}/{bucket}/{key}?{SIGNATURE}");
            assert!(bind_at_home(&reply(&stack, "L", "r", &path_style), &UrlPolicy::strict()).is_ok(), "{path_style}");
            // The same bucket under the commercial suffix is not this partition's endpoint.
            if !host.ends_with(".amazonaws.com") {
                let elsewhere = format!("https://{bucket}.s3.{region}.amazonaws.com/{key}");
                let refused = bind_at_home(&reply(&stack, "L", "r", &elsewhere), &UrlPolicy::strict());
                assert!(matches!(refused, Err(ResponseUrlError::NotS3 { .. })), "{elsewhere}: {refused:?}");
            }
        }
    }

    #[test]
    fn an_unknown_partition_is_refused_by_name_in_every_binding() {
        let stack = "arn:aws-xx:cloudformation:xx-east-1:123456789012:stack/s/g";
        let url = format!(
            "https://cloudformation-custom-resource-response-xxeast1.s3.xx-east-1.amazonaws.xx/{}?{SIGNATURE}",
            encoded_key(stack, "L", "r")
        );
        for policy in [UrlPolicy::strict(), UrlPolicy::host_only()] {
            let error = bind_at_home(&reply(stack, "L", "r", &url), &policy).unwrap_err();
            assert!(matches!(&error, ResponseUrlError::UnknownPartition { partition, .. } if partition == "aws-xx"));
            let text = error.to_string();
            assert!(text.contains("'aws-xx'") && text.contains("aws-eusc") && text.contains("upgrade"), "{text}");
        }
        // host-only no longer guesses at hosts for a partition it does not know.
        let foreign = "https://s3.zz-east-1.attacker.example/bucket/key";
        let zz = "arn:aws-zz:cloudformation:zz-east-1:123456789012:stack/s/g";
        assert!(bind_at_home(&reply(zz, "L", "r", foreign), &UrlPolicy::host_only()).is_err());
        // A known partition with a region outside it is not guessed at either.
        let mixed = "arn:aws:cloudformation:cn-north-1:123456789012:stack/s/g";
        let error = bind_at_home(&reply(mixed, "L", "r", &url), &UrlPolicy::strict()).unwrap_err();
        assert!(matches!(error, ResponseUrlError::ForeignRegion { .. }), "{error:?}");
    }

    /// The response bucket of a region that is not AWS's (or of a pseudo-region) is a bucket anyone
    /// can create: only the function's own region, which AWS sets, is trusted.
    #[test]
    fn only_the_functions_own_region_and_partition_are_bound() {
        let function = UrlPolicy::strict().in_region("us-east-1");
        let host_only = UrlPolicy::host_only().in_region("us-east-1");
        let cases = [
            ("aws", "us-evil-1", "https://cloudformation-custom-resource-response-usevil1.s3.amazonaws.com"),
            ("aws", "aws-global", "https://cloudformation-custom-resource-response-awsglobal.s3.amazonaws.com"),
            ("aws", "eu-west-1", "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com"),
            ("aws-us-gov", "us-east-1", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com"),
            (
                "aws-cn",
                "cn-north-1",
                "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn",
            ),
        ];
        for (partition, region, base) in cases {
            let stack = format!("arn:{partition}:cloudformation:{region}:123456789012:stack/s/g");
            let url = format!("{base}/{}?{SIGNATURE}", encoded_key(&stack, "L", "r"));
            for policy in [&function, &host_only] {
                let error = ResponseUrl::bind(&reply(&stack, "L", "r", &url), policy).unwrap_err();
                let ResponseUrlError::ForeignRegion { stack_region, function_region, .. } = &error else {
                    panic!("{stack}: {error:?}")
                };
                assert_eq!((stack_region.as_str(), function_region.as_str()), (region, "us-east-1"));
                assert!(error.to_string().contains("stack's own region"), "{error}");
            }
        }
        // A function deployed in a pseudo-region (it cannot be) binds nothing either.
        let stack = "arn:aws:cloudformation:aws-global:123456789012:stack/s/g";
        let url = format!("{}/{}", cases[1].2, encoded_key(stack, "L", "r"));
        let error = bind_at_home(&reply(stack, "L", "r", &url), &UrlPolicy::strict()).unwrap_err();
        assert!(matches!(error, ResponseUrlError::UnknownPartition { .. }), "{error:?}");
        // Without a region nothing is bound, and the error says what to set.
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        let url = format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{KEY}");
        let error = ResponseUrl::bind(&reply(stack, "L", "r", &url), &UrlPolicy::strict()).unwrap_err();
        assert_eq!(error, ResponseUrlError::NoHomeRegion);
        assert!(ResponseUrl::bind(&reply(stack, "L", "r", &url), &function).is_ok());
    }

    #[test]
    fn accepts_the_path_style_form() {
        let stack = "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/s/g";
        let url = format!(
            "https://s3.ap-southeast-2.amazonaws.com/cloudformation-custom-resource-response-apsoutheast2/{}?{SIGNATURE}",
            encoded_key(stack, "L", "r")
        );
        assert!(bind_at_home(&reply(stack, "L", "r", &url), &UrlPolicy::strict()).is_ok());
    }

    #[test]
    fn refuses_another_bucket_on_a_real_s3_host() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        for url in [
            format!("https://attacker-bucket.s3.us-east-1.amazonaws.com/{KEY}?{SIGNATURE}"),
            format!("https://s3.us-east-1.amazonaws.com/attacker/{KEY}"),
            // The response bucket of another region.
            format!("https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/{KEY}"),
        ] {
            let error = bind_at_home(&reply(stack, "L", "r", &url), &UrlPolicy::strict()).unwrap_err();
            assert!(matches!(error, ResponseUrlError::WrongBucket { .. }), "{url}: {error:?}");
        }
    }

    #[test]
    fn refuses_a_key_that_names_another_request() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        let base = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com";
        // The right key, and keys that name another request, stack or account.
        let right = format!("{base}/{KEY}?{SIGNATURE}");
        assert!(bind_at_home(&reply(stack, "L", "r", &right), &UrlPolicy::strict()).is_ok());
        for key in [
            "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/s/g%7CL%7Canother-request".to_owned(),
            "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/s/g%7COther%7Cr".to_owned(),
            "arn%3Aaws%3Acloudformation%3Aus-east-1%3A999999999999%3Astack/s/g%7CL%7Cr".to_owned(),
            "garbage".to_owned(),
            String::new(),
            format!("{KEY}%FF"),
        ] {
            let url = format!("{base}/{key}?{SIGNATURE}");
            let error = bind_at_home(&reply(stack, "L", "r", &url), &UrlPolicy::strict()).unwrap_err();
            assert!(matches!(error, ResponseUrlError::WrongKey { .. }), "{url}: {error:?}");
        }
    }

    #[test]
    fn refuses_hosts_that_are_not_s3_endpoints_of_the_stack() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        let key = KEY;
        for url in [
            format!("http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{key}"),
            format!("https://evil.example.com/cloudformation-custom-resource-response-useast1/{key}"),
            format!("https://s3.amazonaws.com.evil.com/cloudformation-custom-resource-response-useast1/{key}"),
            format!("https://sqs.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/{key}"),
            format!("https://user@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{key}"),
            format!("http://127.0.0.1:9000/cloudformation-custom-resource-response-useast1/{key}"),
            format!("https://cloudformation-custom-resource-response-useast1.s3.cn-north-1.amazonaws.com.cn/{key}"),
            "file:///etc/passwd".to_owned(),
        ] {
            let refused = bind_at_home(&reply(stack, "L", "r", &url), &UrlPolicy::strict());
            assert!(matches!(refused, Err(ResponseUrlError::NotS3 { .. })), "{url}: {refused:?}");
        }
        let refused = bind_at_home(&reply(stack, "L", "r", "not a url"), &UrlPolicy::strict());
        assert!(matches!(refused, Err(ResponseUrlError::Invalid(_))), "{refused:?}");
    }

    #[test]
    fn a_stack_id_that_is_not_an_arn_cannot_be_bound() {
        let url = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x%7CL%7Cr";
        let error = bind_at_home(&reply("x", "L", "r", url), &UrlPolicy::strict()).unwrap_err();
        assert_eq!(error, ResponseUrlError::UnboundStack);
    }

    #[test]
    fn loopback_relaxes_scheme_and_host_but_not_bucket_or_key() {
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g";
        let key = encoded_key(stack, "L", "r");
        let policy = UrlPolicy::strict().with_loopback(true);
        for host in ["127.0.0.1:9000", "localhost:1", "[::1]:8080"] {
            let good = format!("http://{host}/cloudformation-custom-resource-response-euwest1/{key}?{SIGNATURE}");
            assert!(bind_at_home(&reply(stack, "L", "r", &good), &policy).is_ok(), "{good}");
            assert!(bind_at_home(&reply(stack, "L", "r", &good), &UrlPolicy::strict()).is_err(), "{good}");
            let foreign = format!("http://{host}/attacker-bucket/{key}");
            let error = bind_at_home(&reply(stack, "L", "r", &foreign), &policy).unwrap_err();
            assert!(matches!(error, ResponseUrlError::WrongBucket { .. }), "{foreign}");
            let other = format!("http://{host}/cloudformation-custom-resource-response-euwest1/x%7CL%7Cr");
            let error = bind_at_home(&reply(stack, "L", "r", &other), &policy).unwrap_err();
            assert!(matches!(error, ResponseUrlError::WrongKey { .. }), "{other}");
        }
        let private = format!("http://10.0.0.1:9000/cloudformation-custom-resource-response-euwest1/{key}");
        assert!(bind_at_home(&reply(stack, "L", "r", &private), &policy).is_err());
    }

    #[test]
    fn host_only_accepts_any_s3_bucket_and_still_refuses_other_hosts() {
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        let policy = UrlPolicy::host_only();
        for url in ["https://any-bucket.s3.us-east-1.amazonaws.com/x", "https://s3-external-1.amazonaws.com/b/x"] {
            assert!(bind_at_home(&reply(stack, "L", "r", url), &policy).is_ok(), "{url}");
        }
        for url in [
            "https://evil.example.com/x",
            "http://bucket.s3.amazonaws.com/x",
            "http://127.0.0.1:1/x",
            // An S3 host of another partition.
            "https://bucket.s3.cn-north-1.amazonaws.com.cn/x",
        ] {
            assert!(bind_at_home(&reply(stack, "L", "r", url), &policy).is_err(), "{url}");
        }
    }

    #[test]
    fn the_lambda_environment_names_the_region_and_opts_into_loopback() {
        fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }
        let (policy, warnings) = UrlPolicy::strict().with_lambda_vars(vars(&[("AWS_REGION", " eu-west-1 ")]));
        assert_eq!((policy, warnings), (UrlPolicy::strict().in_region("eu-west-1"), vec![]));
        let local = [("AWS_REGION", "eu-west-1"), ("ALLOW_LOOPBACK_RESPONSE_URL", "TRUE")];
        let (policy, warnings) = UrlPolicy::host_only().with_lambda_vars(vars(&local));
        assert_eq!(policy, UrlPolicy::host_only().in_region("eu-west-1").with_loopback(true));
        assert!(warnings[0].contains("loopback"), "{warnings:?}");
        let (policy, warnings) = UrlPolicy::strict().with_lambda_vars(vars(&[("ALLOW_LOOPBACK_RESPONSE_URL", "yes")]));
        assert_eq!((policy.home_region(), policy.allow_loopback), (None, false));
        assert!(warnings[0].contains("AWS_REGION is not set"), "{warnings:?}");
    }

    #[test]
    fn display_debug_and_errors_hide_the_signature() {
        let (raw, target) = real_shapes().remove(0);
        let url = bind_at_home(&target, &UrlPolicy::strict()).unwrap();
        for shown in [url.to_string(), format!("{url:?}"), url.redacted(), format!("{:?}", target.response_url)] {
            assert!(!shown.contains("Signature"), "{shown}");
            assert!(shown.contains("s3.us-east-1.amazonaws.com"), "{shown}");
        }
        assert!(raw.contains("deadbeef"));
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g";
        let error = bind_at_home(
            &reply(stack, "L", "r", "https://evil.example.com/x?X-Amz-Signature=abc"),
            &UrlPolicy::strict(),
        )
        .unwrap_err();
        assert!(!error.to_string().contains("abc"));
    }
}
