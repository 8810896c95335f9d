use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudformation::Client;
use serde_json::{Map, Value, json};
use tokio::process::{Child, Command};

use crate::BoxError;

/// The account that moto's default `testing` keys act as: the function's own account.
pub const CONSUMER_ACCOUNT: &str = "123456789012";

/// A moto server process on a free loopback port, stopped on drop.
pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    pub async fn start(moto_server: &Path) -> Result<Moto, BoxError> {
        Moto::launch(moto_server, &[], "127.0.0.1", "http://127.0.0.1").await
    }

    /// moto listening on `ip` (say a bridge address inside a network namespace, for containers).
    pub async fn start_on(moto_server: &Path, ip: std::net::IpAddr) -> Result<Moto, BoxError> {
        Moto::launch(moto_server, &[], &ip.to_string(), &format!("http://{ip}")).await
    }

    /// moto over TLS with this certificate, at `https://localhost:<port>`.
    pub async fn start_tls(moto_server: &Path, certificate: &Path, key: &Path) -> Result<Moto, BoxError> {
        let tls = ["-c".as_ref(), certificate.as_os_str(), "-k".as_ref(), key.as_os_str()];
        Moto::launch(moto_server, &tls, "127.0.0.1", "https://localhost").await
    }

    async fn launch(moto_server: &Path, extra: &[&std::ffi::OsStr], host: &str, base: &str) -> Result<Moto, BoxError> {
        let port = std::net::TcpListener::bind((host, 0))?.local_addr()?.port();
        let child = Command::new(moto_server)
            .args(["-H", host, "-p", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", moto_server.display()))?;
        let endpoint = format!("{base}:{port}");
        let mut moto = Moto { child, endpoint };
        for _ in 0..300 {
            if tokio::net::TcpStream::connect((host, port)).await.is_ok() {
                return Ok(moto);
            }
            if let Some(status) = moto.child.try_wait()? {
                return Err(format!("moto_server exited early with {status}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("moto_server did not listen within 30 s".into())
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// SDK configuration for moto with its default `testing` keys (account 123456789012).
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// Publishes stacks with exports into one account and region of moto, as a publisher team would.
pub struct Publisher {
    cloudformation: Client,
    ssm: aws_sdk_ssm::Client,
    /// What moto treats as this account: `None` for the default account's `testing` keys.
    assumed: Option<Credentials>,
    pub account: String,
    pub region: String,
}

/// CloudFormation allows 200 outputs per stack.
const OUTPUTS_PER_STACK: usize = 200;

impl Publisher {
    /// Acts as `account`: moto treats AssumeRole credentials for a role in account X as account X.
    pub async fn connect(endpoint: &str, account: &str, region: &str) -> Result<Publisher, BoxError> {
        let base = sdk_config(endpoint, region).await;
        let mut kept = None;
        let config = if account == CONSUMER_ACCOUNT {
            base
        } else {
            let assumed = aws_sdk_sts::Client::new(&base)
                .assume_role()
                .role_arn(format!("arn:aws:iam::{account}:role/publisher-admin"))
                .role_session_name("seeder")
                .send()
                .await?;
            let c = assumed.credentials.ok_or("AssumeRole returned no credentials")?;
            let credentials =
                Credentials::new(c.access_key_id, c.secret_access_key, Some(c.session_token), None, "assumed");
            kept = Some(credentials.clone());
            base.into_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
                .build()
        };
        Ok(Publisher {
            cloudformation: Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            assumed: kept,
            account: account.to_owned(),
            region: region.to_owned(),
        })
    }

    /// Creates stacks `<stack>-<n>` exporting `exports` (name, value), 200 to a stack.
    pub async fn publish(&self, stack: &str, exports: &[(String, String)]) -> Result<(), BoxError> {
        for (n, chunk) in exports.chunks(OUTPUTS_PER_STACK).enumerate() {
            let outputs: Map<String, Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, (name, value))| (format!("Output{i}"), json!({"Value": value, "Export": {"Name": name}})))
                .collect();
            let template = json!({
                "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": outputs,
            });
            self.create_stack(&format!("{stack}-{n}"), template).await?;
        }
        Ok(())
    }

    /// Creates the stack `stack` with plain outputs (key, value) and no exports, as many publishers do.
    pub async fn publish_outputs(&self, stack: &str, outputs: &[(String, String)]) -> Result<(), BoxError> {
        let outputs: Map<String, Value> =
            outputs.iter().map(|(key, value)| (key.clone(), json!({"Value": value}))).collect();
        let template = json!({
            "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": outputs,
        });
        self.create_stack(stack, template).await
    }

    /// Creates a stack with an SNS topic and exports its ARN, as the Booking service does.
    pub async fn publish_topic(&self, stack: &str, topic_name: &str, export_name: &str) -> Result<String, BoxError> {
        let template = json!({
            "Resources": {"BookingTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic_name}}},
            "Outputs": {"BookingTopicArn": {"Value": {"Ref": "BookingTopic"}, "Export": {"Name": export_name}}},
        });
        self.create_stack(stack, template).await?;
        Ok(format!("arn:aws:sns:{}:{}:{topic_name}", self.region, self.account))
    }

    /// Creates `stack` from a template (JSON or YAML text, or a JSON value).
    pub async fn create_stack(&self, stack: &str, template: impl std::fmt::Display) -> Result<(), BoxError> {
        self.cloudformation
            .create_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .send()
            .await
            .map_err(|e| format!("CreateStack {stack}: {}", aws_sdk_cloudformation::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Updates the stack `stack` in place to have plain outputs (key, value): it keeps its ID, as a
    /// publisher's update does. (moto's UpdateStack leaves ListExports as it was, so tests change
    /// exports by replacing their stack instead.)
    pub async fn update_outputs(&self, stack: &str, outputs: &[(String, String)]) -> Result<(), BoxError> {
        let outputs: Map<String, Value> =
            outputs.iter().map(|(key, value)| (key.clone(), json!({"Value": value}))).collect();
        let template = json!({
            "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": outputs,
        });
        self.cloudformation
            .update_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .send()
            .await
            .map_err(|e| format!("UpdateStack {stack}: {}", aws_sdk_cloudformation::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Creates `stack` from `template` with these parameter values and tags, and a service role when
    /// `role` is given: a consumer stack as its team deploys it.
    pub async fn create_stack_with(
        &self,
        stack: &str,
        template: impl std::fmt::Display,
        parameters: &[(&str, &str)],
        tags: &[(&str, &str)],
        role: Option<&str>,
    ) -> Result<String, BoxError> {
        use aws_sdk_cloudformation::types::{Parameter, Tag};
        let created = self
            .cloudformation
            .create_stack()
            .stack_name(stack)
            .template_body(template.to_string())
            .set_parameters(Some(
                parameters
                    .iter()
                    .map(|(k, v)| Parameter::builder().parameter_key(*k).parameter_value(*v).build())
                    .collect(),
            ))
            .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect()))
            .set_role_arn(role.map(str::to_owned))
            .send()
            .await
            .map_err(|e| format!("CreateStack {stack}: {}", aws_sdk_cloudformation::error::DisplayErrorContext(e)))?;
        Ok(created.stack_id.ok_or("no StackId")?)
    }

    /// Each parameter's key and value, as the stack `stack` holds them now.
    pub async fn stack_parameters(&self, stack: &str) -> Result<Vec<(String, String)>, BoxError> {
        let described = self.cloudformation.describe_stacks().stack_name(stack).send().await?;
        let stack = described.stacks.unwrap_or_default().into_iter().next().ok_or("no such stack")?;
        Ok(stack
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.parameter_key?, p.parameter_value?)))
            .collect())
    }

    /// The ID (ARN) of the stack named `stack`.
    pub async fn stack_id(&self, stack: &str) -> Result<String, BoxError> {
        let described = self.cloudformation.describe_stacks().stack_name(stack).send().await?;
        let stack = described.stacks.unwrap_or_default().into_iter().next().ok_or("no such stack")?;
        Ok(stack.stack_id.ok_or("no StackId")?)
    }

    /// The environment of a process that must act as this account in moto.
    pub fn credential_env(&self) -> Vec<(String, String)> {
        let Some(c) = &self.assumed else { return Vec::new() };
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), c.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), c.secret_access_key().to_owned()),
        ];
        env.extend(c.session_token().map(|token| ("AWS_SESSION_TOKEN".to_owned(), token.to_owned())));
        env
    }

    /// Deletes a stack and with it its exports; a missing stack is not an error.
    pub async fn delete_stack(&self, stack: &str) -> Result<(), BoxError> {
        self.cloudformation.delete_stack().stack_name(stack).send().await?;
        Ok(())
    }

    /// Writes the SSM parameter `name`'s next version (`kind`: String, StringList, SecureString) and
    /// returns its number.
    pub async fn put_parameter(&self, name: &str, kind: &str, value: &str) -> Result<i64, BoxError> {
        let written = self
            .ssm
            .put_parameter()
            .name(name)
            .r#type(aws_sdk_ssm::types::ParameterType::from(kind))
            .value(value)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| format!("PutParameter {name}: {}", aws_sdk_ssm::error::DisplayErrorContext(e)))?;
        Ok(written.version)
    }

    /// Points `label` at `version` of `name`.
    pub async fn label_parameter(&self, name: &str, version: i64, label: &str) -> Result<(), BoxError> {
        self.ssm.label_parameter_version().name(name).parameter_version(version).labels(label).send().await?;
        Ok(())
    }

    /// Deletes the parameter `name`.
    pub async fn delete_parameter(&self, name: &str) -> Result<(), BoxError> {
        self.ssm.delete_parameter().name(name).send().await?;
        Ok(())
    }

    /// Every export name, in the order ListExports returns them.
    pub async fn export_names(&self) -> Result<Vec<String>, BoxError> {
        let mut names = Vec::new();
        let mut pages = self.cloudformation.list_exports().into_paginator().send();
        while let Some(page) = pages.next().await {
            names.extend(page?.exports.unwrap_or_default().into_iter().filter_map(|e| e.name));
        }
        Ok(names)
    }
}
