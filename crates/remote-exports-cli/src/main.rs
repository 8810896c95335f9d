//! `remote-exports`: the stack author's and the publisher's view of what the function sees and
//! would answer. Each command parses its arguments, calls one use case of `remote-exports-app` and
//! prints what it returns (`args` holds the commands, `print` the output).

mod args;
mod check;
mod print;
mod readers;

use std::process::ExitCode;
use std::time::Duration;

use aws_config::SdkConfig;
use clap::Parser;
use cloudformation_custom_resource::{Deadline, Driver, Request, Response, ResponseUrl, Status};
use remote_exports_app::{
    Audit, ListError, ListRequest, Listing, PreviewProperties, PreviewStack, PreviousTemplate, Proposed, RemoteExports,
    Settings, preview,
};
use remote_exports_aws::{HttpResponseTransport, PublisherAccounts, SsmConsumerPolicy, TrustRoots, load_sdk_config};
use remote_exports_core::RoleArn;
use serde_json::{Value, json};

use args::{
    CheckArgs, Cli, Command, InvokeArgs, ListArgs, OutputFormat, PreviewArgs, PruneArgs, ReadersArgs, StaleArgs,
};

/// Why the CLI could not give an answer, as opposed to a resource that would get FAILED.
pub(crate) enum RunError {
    /// The command line or its inputs are wrong: exit 2.
    Usage(String),
    /// AWS, files or the network: exit 3.
    Run(String),
}

impl<E: std::fmt::Display> From<E> for RunError {
    fn from(error: E) -> Self {
        RunError::Run(error.to_string())
    }
}

fn usage(message: impl Into<String>) -> RunError {
    RunError::Usage(message.into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::from(1),
        Err(RunError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(RunError::Run(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(3)
        }
    }
}

async fn run(cli: Cli) -> Result<Status, RunError> {
    let roots = trust_roots()?;
    let sdk = load_sdk_config(roots).await?;
    let output = cli.output;
    match cli.command {
        Command::List(args) => list(&sdk, output, args).await,
        Command::Preview(args) => preview_resource(&sdk, roots, output, args).await,
        Command::Invoke(args) => invoke(&sdk, roots, args).await,
        Command::Readers(args) => readers(&sdk, output, args).await,
        Command::Check(args) => check(&sdk, output, args).await,
        Command::Prune(args) => prune(&sdk, args).await,
        Command::Stale(args) => stale(&sdk, output, args).await,
    }
}

async fn list(sdk: &SdkConfig, output: OutputFormat, args: ListArgs) -> Result<Status, RunError> {
    let ListArgs { role_arn, external_id, region, prefix, stack, parameters, consumer_account } = args;
    let listing = match (stack, parameters) {
        (Some(stack), _) => Listing::StackOutputs(stack),
        (None, Some(path)) if path.starts_with('/') => Listing::Parameters(path),
        (None, Some(path)) => {
            return Err(usage(format!("--parameters {path} is not a path (it starts with /)")));
        }
        (None, None) => Listing::Exports { prefix },
    };
    let request = ListRequest {
        role: role_arn.as_deref().map(RoleArn::parse).transpose().map_err(|e| usage(e.to_string()))?,
        external_id,
        region: region_or_profiles(region, sdk)?,
        listing,
        consumer_account: consumer_account.map(|a| checked_account(&a)).transpose()?,
    };
    match resource(sdk).list(request).await {
        Ok(listed) => print::listing(&listed, output).map(|()| Status::Success).map_err(RunError::from),
        // What the function would answer FAILED: exit 1, as `preview` does.
        Err(refused @ (ListError::Refused(_) | ListError::NoSuchStack { .. })) => {
            println!("FAILED: {refused}");
            Ok(Status::Failed)
        }
        Err(unreadable) => Err(unreadable.into()),
    }
}

async fn preview_resource(
    sdk: &SdkConfig,
    roots: TrustRoots,
    output: OutputFormat,
    args: PreviewArgs,
) -> Result<Status, RunError> {
    let PreviewArgs { properties, template, resource: logical_id, parameters, region, consumer_account } = args;
    let stack = PreviewStack { region: region_or_profiles(region, sdk)?, account: checked_account(&consumer_account)? };
    let properties = match (properties, template, logical_id) {
        (Some(json), _, _) => PreviewProperties::Json(
            serde_json::from_str(&json).map_err(|e| usage(format!("--properties is not JSON: {e}")))?,
        ),
        (None, Some(path), Some(logical_id)) => PreviewProperties::Template {
            text: std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            logical_id,
            parameters: parameters
                .iter()
                .map(|pair| match pair.split_once('=') {
                    Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
                    None => Err(usage(format!("--parameter {pair} is not NAME=VALUE"))),
                })
                .collect::<Result<_, _>>()?,
        },
        _ => return Err(usage("give --properties, or --template with --resource")),
    };
    let preview = preview(properties, &stack).map_err(|e| usage(e.to_string()))?;
    preview.warnings.iter().for_each(|warning| eprintln!("warning: {warning}"));
    let answer = driver(sdk, roots)?.decide(preview.request, Deadline::after(Duration::from_secs(60))).await?;
    print::answer(&answer.response, output);
    Ok(answer.response.status)
}

async fn invoke(sdk: &SdkConfig, roots: TrustRoots, args: InvokeArgs) -> Result<Status, RunError> {
    let InvokeArgs { event, send, timeout } = args;
    let text = std::fs::read_to_string(&event).map_err(|e| format!("{}: {e}", event.display()))?;
    let event: Value = serde_json::from_str(&text).map_err(|e| usage(format!("the event is not JSON: {e}")))?;
    let deadline = Deadline::after(Duration::from_secs(timeout));
    let driver = driver(sdk, roots)?;
    if send {
        let handled = driver.handle(event, deadline).await?;
        println!(
            "{}",
            json!({"Status": handled.status, "PhysicalResourceId": handled.physical_resource_id, "DataKeys": handled.data_keys, "DeliveryAttempts": handled.delivery_attempts})
        );
        return Ok(handled.status);
    }
    let request = match Request::parse(event) {
        Ok(request) => request,
        Err(malformed) => {
            eprintln!("error: {malformed}");
            return Ok(Status::Failed);
        }
    };
    if let Err(refused) = ResponseUrl::bind(&request.reply, driver.url_policy()) {
        eprintln!("warning: the deployed function would refuse this event and do nothing: {refused}");
    }
    let answer = driver.decide(request, deadline).await?;
    println!("{}", serde_json::to_string_pretty(&answer.response)?);
    eprintln!(
        "{} bytes of {}; not sent (add --send to PUT it to the ResponseURL)",
        answer.body.len(),
        Response::MAX_BYTES
    );
    Ok(answer.response.status)
}

async fn readers(sdk: &SdkConfig, output: OutputFormat, args: ReadersArgs) -> Result<Status, RunError> {
    let ReadersArgs { table, export, stack_output, prefix, parameter, source_account, region } = args;
    let source_account = source_account.map(|a| checked_account(&a)).transpose()?;
    let registry = readers::registry(sdk, table)?;
    if let Some(output) = &stack_output
        && remote_exports_core::output_ref(output).is_none()
    {
        return Err(usage(format!("--stack-output '{output}' is not <StackName>.<OutputKey>")));
    }
    let export = export.or(stack_output);
    let filter = remote_exports_app::ReaderFilter { export, prefix, parameter, source_account, region };
    readers::readers(&registry, &filter, output).await?;
    Ok(Status::Success)
}

async fn check(sdk: &SdkConfig, output: OutputFormat, args: CheckArgs) -> Result<Status, RunError> {
    let CheckArgs { stack, template_file, change_set, region, table, registry_role_arn } = args;
    let table = table.ok_or_else(|| usage("no registry: pass --table or set READS_TABLE"))?;
    let region = region_or_profiles(region, sdk)?;
    let sdk = sdk.to_builder().region(aws_config::Region::new(region.clone())).build();
    let proposed = match (template_file, change_set) {
        (Some(path), _) => Proposed::Template {
            template: std::fs::read_to_string(&path)
                .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?,
            previous: PreviousTemplate::Deployed,
        },
        (None, Some(name)) => Proposed::ChangeSet { name, template: None },
        (None, None) => return Err(usage("pass --template-file or --change-set")),
    };
    let check = check::Check { stack, region, proposed, table, registry_role: registry_role_arn };
    check::run(&sdk, check, output).await
}

async fn prune(sdk: &SdkConfig, args: PruneArgs) -> Result<Status, RunError> {
    let PruneArgs { table, stack_id, logical_id, yes } = args;
    let registry = readers::registry(sdk, table)?;
    readers::prune(&registry, &stack_id, logical_id.as_deref(), yes).await?;
    Ok(Status::Success)
}

async fn stale(sdk: &SdkConfig, output: OutputFormat, args: StaleArgs) -> Result<Status, RunError> {
    let StaleArgs { table } = args;
    let registry = readers::registry(sdk, table)?;
    let governance = Settings::from_env().governed.map(|governed| governed.governance);
    let report = Audit::new(exports(sdk), Some(registry), governance).report().await?;
    let stale = readers::print_stale(&report, output)?;
    match report.unchecked().count() {
        _ if stale => Ok(Status::Failed),
        0 => Ok(Status::Success),
        sources => {
            Err(RunError::Run(format!("{sources} source(s) could not be read, so their readers were not checked")))
        }
    }
}

fn checked_account(account: &str) -> Result<String, RunError> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account.to_owned())
    } else {
        Err(usage(format!("{account} is not a 12-digit account ID")))
    }
}

fn region_or_profiles(region: Option<String>, sdk: &SdkConfig) -> Result<String, RunError> {
    region
        .or_else(|| sdk.region().map(ToString::to_string))
        .ok_or_else(|| usage("no region: pass --region or set AWS_REGION"))
}

/// People run the CLI behind proxies that inspect TLS, so it trusts the system store unless told otherwise.
fn trust_roots() -> Result<TrustRoots, RunError> {
    match std::env::var("TLS_ROOTS") {
        Ok(setting) => Ok(TrustRoots::choose(Some(&setting), None)?),
        Err(_) => Ok(TrustRoots::System),
    }
}

type Resource = RemoteExports<PublisherAccounts, SsmConsumerPolicy>;

/// The function retries throttling until its deadline; a person at a terminal would rather hear
/// about it after a few seconds.
const CLI_ATTEMPTS: u32 = 8;

fn exports(sdk: &SdkConfig) -> PublisherAccounts {
    PublisherAccounts::with_max_attempts(sdk.clone(), CLI_ATTEMPTS)
}

/// The function's resource, with the function's settings from this environment.
fn resource(sdk: &SdkConfig) -> Resource {
    RemoteExports::new(Settings::from_env(), exports(sdk), SsmConsumerPolicy::new(sdk))
}

fn driver(sdk: &SdkConfig, roots: TrustRoots) -> Result<Driver<Resource, HttpResponseTransport>, RunError> {
    let resource = resource(sdk);
    let url_policy = resource.settings().url_policy.clone();
    Ok(Driver::new(resource, HttpResponseTransport::new(roots)?).with_url_policy(url_policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_accounts_must_be_twelve_digits() {
        assert!(checked_account("111111111111").is_ok());
        for bad in ["1111", "11111111111a", ""] {
            assert!(matches!(checked_account(bad), Err(RunError::Usage(_))), "{bad}");
        }
    }
}
