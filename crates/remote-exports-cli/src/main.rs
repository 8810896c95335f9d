//! `remote-exports`: the stack author's view of what the function sees and would answer. (About a
//! third of this file is the commands' clap definitions and their help texts.)

mod check;
mod readers;
mod template;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aws_config::SdkConfig;
use clap::{Parser, Subcommand, ValueEnum};
use cloudformation_custom_resource::{Deadline, Driver, Partition, Request, Response, ResponseUrl, Status};
use remote_exports_app::{Audit, RemoteExports, Settings};
use remote_exports_aws::{CloudFormationExports, HttpResponseTransport, SsmParameters, TrustRoots, load_sdk_config};
use remote_exports_core::{
    ExportReader, LookupPlan, Origin, OutputRequest, ParameterRef, ResourceProperties, RoleArn, Source, batches,
};
use serde_json::{Value, json};

/// See what a Custom::RemoteExports resource would read, before you deploy it.
///
/// Credentials and region come from the usual AWS environment variables and profiles (AWS_PROFILE,
/// AWS_REGION, SSO, credential_process). Set DEFAULT_ROLE_ARN, ALLOWED_ROLE_ARNS, ALLOWED_EXPORTS and
/// CONSUMER_POLICY (or CONSUMER_POLICY_PARAMETER) as the deployed function has them, and pass
/// --consumer-account, to see exactly what it would answer your stack.
#[derive(Parser)]
#[command(name = "remote-exports", version, after_help = EXIT_CODES)]
struct Cli {
    /// How to print results.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    output: OutputFormat,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the resource would get FAILED, `stale` found stale reads, or `check` \
     found a reader the change would break; 2 bad usage; \
     3 could not run (AWS, files, network), or `stale` could not check every source.";

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List the exports the function could see (or one stack's outputs, or the SSM parameters under a path), with the bytes each takes in a response.
    #[command(
        after_help = "Examples:\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --prefix booking-\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --stack booking-lambda\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --parameters /booking/prod\n  remote-exports list --region us-east-1 --output json"
    )]
    List {
        /// Role to assume in the publishing account; without it, your own account is read.
        #[arg(long)]
        role_arn: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        /// Region to read; defaults to your profile's region.
        #[arg(long)]
        region: Option<String>,
        /// Only exports whose name starts with this.
        #[arg(long, conflicts_with = "stack")]
        prefix: Option<String>,
        /// List this stack's outputs (as StackOutputs reads them: <StackName>.<OutputKey>) instead of exports.
        #[arg(long, value_name = "STACK_NAME")]
        stack: Option<String>,
        /// List the SSM parameters under this path (at any depth) instead of exports; SecureString
        /// values are not decrypted.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["stack", "prefix"])]
        parameters: Option<String>,
        /// Apply the consumer policy as for a stack in this account (12 digits).
        #[arg(long, value_name = "ACCOUNT_ID")]
        consumer_account: Option<String>,
    },
    /// Show the exact Data a resource with these properties would get, or the FAILED reason.
    #[command(
        after_help = "Examples:\n  remote-exports preview --properties '{\"RoleArn\": \"arn:aws:iam::222222222222:role/remote-exports-reader\", \"ExportPrefix\": \"booking-\"}'\n  remote-exports preview --template examples/airmiles-consumer.yaml --resource Lookup --parameter BookingAccountId=222222222222"
    )]
    Preview {
        /// The resource's properties as JSON.
        #[arg(long, conflicts_with_all = ["template", "resource"], required_unless_present = "template")]
        properties: Option<String>,
        /// A template holding the resource (YAML or JSON).
        #[arg(long, requires = "resource")]
        template: Option<PathBuf>,
        /// The resource's logical ID in --template.
        #[arg(long)]
        resource: Option<String>,
        /// Template parameter values, for !Ref and !Sub (repeatable): --parameter Name=Value.
        #[arg(long = "parameter", value_name = "NAME=VALUE")]
        parameters: Vec<String>,
        /// The consumer stack's region; defaults to your profile's region.
        #[arg(long)]
        region: Option<String>,
        /// The consumer stack's account (12 digits), for the consumer policy.
        #[arg(long, value_name = "ACCOUNT_ID", default_value = "000000000000")]
        consumer_account: String,
    },
    /// Run the full handler on a custom-resource event and print the response.
    #[command(
        after_help = "Examples:\n  remote-exports invoke events/create.json\n  remote-exports invoke my-event.json --send   # PUT the answer to its ResponseURL"
    )]
    Invoke {
        event: PathBuf,
        /// Also PUT the answer to the event's ResponseURL.
        #[arg(long)]
        send: bool,
        /// Time allowed, as the Lambda timeout would (seconds).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Who reads what, from the read registry: "can I change or remove this export?".
    #[command(
        after_help = "Examples:\n  remote-exports readers --export booking-lambda-BookingTopicArn\n  remote-exports readers --parameter /booking/prod/topic-arn\n  remote-exports readers --prefix booking- --source-account 222222222222 --output json"
    )]
    Readers {
        /// The read registry's DynamoDB table (the stack's ReadsTableName output).
        #[arg(long, env = "READS_TABLE")]
        table: Option<String>,
        /// Only readers of this export.
        #[arg(long, conflicts_with = "prefix")]
        export: Option<String>,
        /// Only readers of this stack output.
        #[arg(long, value_name = "STACK_NAME.OUTPUT_KEY", conflicts_with_all = ["export", "prefix"])]
        stack_output: Option<String>,
        /// Only readers of exports (or stack outputs) whose name starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Only readers of this SSM parameter (its name; an ARN or a :version/:label selector as
        /// written matches too).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["export", "stack_output", "prefix"])]
        parameter: Option<String>,
        /// Only reads from this publisher account.
        #[arg(long, value_name = "ACCOUNT_ID")]
        source_account: Option<String>,
        /// Only reads from this region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Before a deploy, in the publisher account: what the new template (or a change set) would
    /// remove from the stack, and who in other accounts still reads it. The export guard's check,
    /// for pipelines. Exit 1 when a live reader would be broken.
    #[command(
        after_help = "Examples:\n  remote-exports check --stack booking-lambda --template-file template.yaml\n  remote-exports check --stack booking-lambda --change-set remove-topic --output json\n\nThe registry is read as the export guard reads it: --table (or READS_TABLE) names the central table's\nARN, and --registry-role-arn (or GUARD_REGISTRY_ROLE_ARN) the central role, assumed as your account."
    )]
    Check {
        /// The stack to check, in your account.
        #[arg(long)]
        stack: String,
        /// The template you are about to deploy (YAML or JSON).
        #[arg(long, required_unless_present = "change_set", conflicts_with = "change_set")]
        template_file: Option<PathBuf>,
        /// A change set of the stack, checked as created.
        #[arg(long)]
        change_set: Option<String>,
        /// The stack's region; defaults to your profile's region.
        #[arg(long)]
        region: Option<String>,
        /// The read registry's table (its ARN from another account).
        #[arg(long, env = "READS_TABLE")]
        table: Option<String>,
        /// The central role guards read the registry through (template output GuardRegistryRoleArn).
        #[arg(long, env = "GUARD_REGISTRY_ROLE_ARN")]
        registry_role_arn: Option<String>,
    },
    /// Forget the readers of a consumer stack that no longer exists (a closed account, a stack
    /// deleted while the function was not deployed), so that they stop pinning exports under the
    /// export guard. Shows each reader and when it last read, asks for the stack's name to confirm,
    /// and writes one line per reader forgotten to stderr. A live reader is recorded again by its
    /// next Update; nothing ever expires on its own.
    #[command(after_help = "Examples:
  remote-exports readers --output json   # find the stack_id
  remote-exports prune --stack-id arn:aws:cloudformation:eu-west-1:333333333333:stack/hotels/0f1e2d3c
  remote-exports prune --stack-id <StackId> --logical-id Lookup --yes   # in a script")]
    Prune {
        /// The read registry's DynamoDB table (the stack's ReadsTableName output).
        #[arg(long, env = "READS_TABLE")]
        table: Option<String>,
        /// The consumer stack's ID, as `readers --output json` shows it.
        #[arg(long)]
        stack_id: String,
        /// Only this resource of the stack (its LogicalResourceId); default: every reader of the stack.
        #[arg(long)]
        logical_id: Option<String>,
        /// Do not ask: for scripts and pipelines. The readers are still shown and logged.
        #[arg(long)]
        yes: bool,
    },
    /// Every recorded read whose export changed or was removed since, and what to do about it.
    /// Each publisher account and region is read once, however many stacks read it. Exit 1 when
    /// anything is stale, so a pipeline can stop on it.
    #[command(
        after_help = "Examples:\n  remote-exports stale\n  remote-exports stale --table remote-exports-reads --output json"
    )]
    Stale {
        /// The read registry's DynamoDB table (the stack's ReadsTableName output).
        #[arg(long, env = "READS_TABLE")]
        table: Option<String>,
    },
}

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
    match cli.command {
        Command::List { role_arn, external_id, region, prefix, stack, parameters, consumer_account } => {
            let role = role_arn.as_deref().map(RoleArn::parse).transpose().map_err(|e| usage(e.to_string()))?;
            let account = consumer_account.map(|a| checked_account(&a)).transpose()?;
            let what = match (stack, parameters) {
                (Some(stack), _) => Listing::StackOutputs(stack),
                (None, Some(path)) if path.starts_with('/') => Listing::Parameters(path),
                (None, Some(path)) => {
                    return Err(usage(format!("--parameters {path} is not a path (it starts with /)")));
                }
                (None, None) => Listing::Exports { prefix },
            };
            list(&sdk, role, external_id, region, what, account, cli.output).await
        }
        Command::Preview { properties, template, resource, parameters, region, consumer_account } => {
            let account = checked_account(&consumer_account)?;
            let region = region
                .or_else(|| sdk.region().map(ToString::to_string))
                .ok_or_else(|| usage("no region: pass --region or set AWS_REGION"))?;
            let partition = partition_of(&region)?;
            let properties = match (properties, template, resource) {
                (Some(json), _, _) => {
                    serde_json::from_str(&json).map_err(|e| usage(format!("--properties is not JSON: {e}")))?
                }
                (None, Some(path), Some(id)) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    let mut given = template::Parameters::from([
                        ("AWS::Region".to_owned(), region.clone()),
                        ("AWS::Partition".to_owned(), partition.to_owned()),
                        ("AWS::AccountId".to_owned(), account.clone()),
                    ]);
                    for pair in &parameters {
                        let (name, value) = pair
                            .split_once('=')
                            .ok_or_else(|| usage(format!("--parameter {pair} is not NAME=VALUE")))?;
                        given.insert(name.to_owned(), value.to_owned());
                    }
                    if let Some(named) = template::service_token_region(&text, &id, &given)
                        && named != region
                    {
                        eprintln!(
                            "warning: {id}'s ServiceToken names region {named}, but the stack is in {region}. \
                             CloudFormation invokes a ServiceToken only in the stack's own region (\"The service \
                             token must be from the same Region in which you are creating the stack\", \
                             AWS::CloudFormation::CustomResource reference), so the stack would fail before the \
                             function is called. Deploy the function in {region} and name it with \
                             !Sub arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:<account>:function:<name>."
                        );
                    }
                    template::resource_properties(&text, &id, &given).map_err(|e| usage(e.to_string()))?
                }
                _ => return Err(usage("give --properties, or --template with --resource")),
            };
            let event = preview_event(partition, &region, &account, properties);
            let request = Request::parse(event).map_err(|e| usage(e.reason))?;
            let answer = driver(&sdk, roots)?.decide(request, Deadline::after(Duration::from_secs(60))).await?;
            print_answer(&answer.response, cli.output);
            Ok(answer.response.status)
        }
        Command::Invoke { event, send, timeout } => {
            let text = std::fs::read_to_string(&event).map_err(|e| format!("{}: {e}", event.display()))?;
            let event: Value = serde_json::from_str(&text).map_err(|e| usage(format!("the event is not JSON: {e}")))?;
            let deadline = Deadline::after(Duration::from_secs(timeout));
            let driver = driver(&sdk, roots)?;
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
            if let Err(refused) = ResponseUrl::bind(&request.reply, &driver.resource().settings().url_policy) {
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
        Command::Readers { table, export, stack_output, prefix, parameter, source_account, region } => {
            let source_account = source_account.map(|a| checked_account(&a)).transpose()?;
            let registry = readers::registry(&sdk, table)?;
            if let Some(output) = &stack_output
                && remote_exports_core::output_ref(output).is_none()
            {
                return Err(usage(format!("--stack-output '{output}' is not <StackName>.<OutputKey>")));
            }
            let export = export.or(stack_output);
            let filter = readers::ReaderFilter { export, prefix, parameter, source_account, region };
            readers::readers(&registry, &filter, cli.output).await?;
            Ok(Status::Success)
        }
        Command::Check { stack, template_file, change_set, region, table, registry_role_arn } => {
            let sdk = match region {
                Some(region) => sdk.into_builder().region(aws_config::Region::new(region)).build(),
                None => sdk,
            };
            let table = table.ok_or_else(|| usage("no registry: pass --table or set READS_TABLE"))?;
            let source = match (template_file, change_set) {
                (Some(path), _) => check::Proposed::File(path),
                (None, Some(name)) => check::Proposed::ChangeSet(name),
                (None, None) => return Err(usage("pass --template-file or --change-set")),
            };
            let check = check::Check { stack, proposed: source, table, registry_role: registry_role_arn };
            check::run(&sdk, check, cli.output).await
        }
        Command::Prune { table, stack_id, logical_id, yes } => {
            let registry = readers::registry(&sdk, table)?;
            readers::prune(&registry, &stack_id, logical_id.as_deref(), yes).await?;
            Ok(Status::Success)
        }
        Command::Stale { table } => {
            let registry = readers::registry(&sdk, table)?;
            let governance = Settings::from_env().governance;
            let report = Audit::new(exports(&sdk), Some(registry), governance).report().await?;
            let stale = readers::print_stale(&report, cli.output)?;
            match report.unchecked().count() {
                _ if stale => Ok(Status::Failed),
                0 => Ok(Status::Success),
                sources => Err(RunError::Run(format!(
                    "{sources} source(s) could not be read, so their readers were not checked"
                ))),
            }
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

/// People run the CLI behind proxies that inspect TLS, so it trusts the system store unless told otherwise.
fn trust_roots() -> Result<TrustRoots, RunError> {
    match std::env::var("TLS_ROOTS") {
        Ok(setting) => Ok(TrustRoots::choose(Some(&setting), None)?),
        Err(_) => Ok(TrustRoots::System),
    }
}

type Resource = RemoteExports<CloudFormationExports, SsmParameters>;

/// The function retries throttling until its deadline; a person at a terminal would rather hear
/// about it after a few seconds.
const CLI_ATTEMPTS: u32 = 8;

fn exports(sdk: &SdkConfig) -> CloudFormationExports {
    CloudFormationExports::with_max_attempts(sdk.clone(), CLI_ATTEMPTS)
}

fn resource(sdk: &SdkConfig) -> Resource {
    let parameters = SsmParameters::new(sdk);
    RemoteExports::new(Settings::from_env(), exports(sdk), parameters)
}

fn driver(sdk: &SdkConfig, roots: TrustRoots) -> Result<Driver<Resource, HttpResponseTransport>, RunError> {
    let resource = resource(sdk);
    let url_policy = resource.settings().url_policy.clone();
    Ok(Driver::new(resource, HttpResponseTransport::new(roots)?).with_url_policy(url_policy))
}

/// What `list` lists.
enum Listing {
    Exports {
        prefix: Option<String>,
    },
    /// Every output of this stack.
    StackOutputs(String),
    /// Every SSM parameter under this path.
    Parameters(String),
}

#[allow(clippy::too_many_arguments)] // one per command-line option, passed straight through
async fn list(
    sdk: &SdkConfig,
    role: Option<RoleArn>,
    external_id: Option<String>,
    region: Option<String>,
    what: Listing,
    consumer_account: Option<String>,
    output: OutputFormat,
) -> Result<Status, RunError> {
    let region = region
        .or_else(|| sdk.region().map(ToString::to_string))
        .ok_or_else(|| usage("no region: pass --region or set AWS_REGION"))?;
    // Planned as the function plans: DEFAULT_ROLE_ARN, the allow-lists and the consumer policy apply.
    let resource = resource(sdk);
    let planned = async {
        let governance = resource.settings().governance.clone()?;
        let policy = match &consumer_account {
            Some(_) => resource.consumer_policy().await?,
            None => None,
        };
        let mut properties =
            ResourceProperties { role_arn: role, external_id, region: Some(region), ..Default::default() };
        if let Listing::StackOutputs(stack) = &what {
            let every = OutputRequest { every: true, ..OutputRequest::default() };
            properties.selection.outputs.insert(stack.clone(), every);
        }
        let origin =
            Origin { logical_resource_id: "cli", consumer_account: consumer_account.as_deref(), ..Default::default() };
        LookupPlan::new(properties, &governance, policy.as_deref(), origin)
    };
    let plan = match planned.await {
        Ok(plan) => plan,
        Err(refused) => {
            // The function would answer FAILED with this Reason: exit 1, as `preview` does.
            println!("FAILED: {refused}");
            return Ok(Status::Failed);
        }
    };
    let source = &plan.source;
    let exports = exports(sdk);
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut hidden = 0;
    let prefix = match what {
        Listing::Exports { prefix } => prefix,
        Listing::StackOutputs(stack) => {
            let outputs = exports
                .stack_outputs(source, &stack)
                .await
                .map_err(|error| format!("could not read stack {stack} in {}: {error}", source.describe()))?;
            let Some(outputs) = outputs else {
                println!("FAILED: stack {stack} does not exist in {}", source.describe());
                return Ok(Status::Failed);
            };
            for (key, value) in outputs.outputs {
                let name = format!("{stack}.{key}");
                if plan.visible_outputs.allows(&name) {
                    rows.push((name, value));
                } else {
                    hidden += 1;
                }
            }
            return print_listing(rows, hidden, "output", source, output);
        }
        Listing::Parameters(path) => {
            let unreadable =
                |error| format!("could not read the parameters under {path} in {}: {error}", source.describe());
            let names = exports.parameter_names_under(source, &path, true).await.map_err(unreadable)?;
            let (visible, refused): (Vec<String>, Vec<String>) =
                names.into_iter().partition(|name| plan.visible_parameters.allows(name));
            hidden = refused.len();
            let references: Vec<ParameterRef> = visible.iter().filter_map(|n| ParameterRef::parse(n).ok()).collect();
            for batch in batches(&references) {
                for (reference, parameter) in exports.get_parameters(source, &batch, false).await.map_err(unreadable)? {
                    let value = match parameter.is_secure() {
                        true => "(a SecureString: answered only to a resource with NoEcho true)".to_owned(),
                        false => parameter.value,
                    };
                    rows.push((reference.to_string(), value));
                }
            }
            return print_listing(rows, hidden, "parameter", source, output);
        }
    };
    exports
        .scan_exports(source, &mut |page| {
            for export in page {
                if !plan.visible.allows(&export.name) {
                    hidden += 1;
                } else if prefix.as_deref().is_none_or(|p| export.name.starts_with(p)) {
                    rows.push((export.name, export.value));
                }
            }
            ControlFlow::Continue(())
        })
        .await
        .map_err(|error| format!("could not read exports from {}: {error}", source.describe()))?;
    print_listing(rows, hidden, "export", source, output)
}

/// Prints (name, value) rows with the bytes each adds to a response.
fn print_listing(
    mut rows: Vec<(String, String)>,
    hidden: usize,
    noun: &str,
    source: &Source,
    output: OutputFormat,
) -> Result<Status, RunError> {
    if hidden > 0 {
        eprintln!("{hidden} {noun}(s) hidden by the function's allow-lists");
    }
    rows.sort();
    match output {
        OutputFormat::Json => {
            let items: Vec<Value> = rows
                .iter()
                .map(|(n, v)| json!({"Name": n, "Value": v, "ResponseBytes": data_entry_bytes(n, v)}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        OutputFormat::Table => {
            let table: Vec<[String; 3]> =
                rows.iter().map(|(n, v)| [n.clone(), v.clone(), data_entry_bytes(n, v).to_string()]).collect();
            print_table(["NAME", "VALUE", "BYTES"], &table);
            let total: usize = rows.iter().map(|(n, v)| data_entry_bytes(n, v)).sum();
            eprintln!("{} {noun}(s) in {}; {total} bytes of Data if all were selected", rows.len(), source.describe());
        }
    }
    Ok(Status::Success)
}

/// What one export adds to the response body: `"name":"value",` as JSON.
fn data_entry_bytes(name: &str, value: &str) -> usize {
    serde_json::to_string(name).map_or(0, |s| s.len()) + serde_json::to_string(value).map_or(0, |s| s.len()) + 2
}

fn print_answer(response: &Response, output: OutputFormat) {
    let bytes = serde_json::to_vec(response).map_or(0, |b| b.len());
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(response).unwrap_or_default()),
        OutputFormat::Table => match response.status {
            Status::Success => {
                // NoEcho values are masked on a terminal, as CloudFormation masks them; --output json
                // prints the exact answer.
                let shown = |v: &Value| match response.no_echo {
                    true => "****".to_owned(),
                    false => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                };
                let rows: Vec<[String; 2]> =
                    response.data.iter().map(|(k, v)| [format!("!GetAtt Lookup.{k}"), shown(v)]).collect();
                print_table(["ATTRIBUTE", "VALUE"], &rows);
                if response.no_echo {
                    println!("(NoEcho: values masked; --output json prints them)");
                }
                println!(
                    "\nSUCCESS: {} key(s), response {bytes} of {} bytes, PhysicalResourceId {}",
                    response.data.len(),
                    Response::MAX_BYTES,
                    response.physical_resource_id
                );
            }
            Status::Failed => println!("FAILED: {}", response.reason.as_deref().unwrap_or("")),
        },
    }
}

pub(crate) fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}

fn preview_event(partition: &str, region: &str, account: &str, properties: Value) -> Value {
    json!({
        "RequestType": "Create",
        "ResponseURL": "https://preview.invalid/not-sent",
        "StackId": format!("arn:{partition}:cloudformation:{region}:{account}:stack/preview/00000000-0000-0000-0000-000000000000"),
        "RequestId": "preview",
        "LogicalResourceId": "Lookup",
        "ResourceType": "Custom::RemoteExports",
        "ResourceProperties": properties,
    })
}

/// The region's partition, from the protocol crate's one partition table.
fn partition_of(region: &str) -> Result<&'static str, RunError> {
    Partition::of_region(region).map(|partition| partition.id).ok_or_else(|| {
        usage(format!(
            "the region {region} is in none of the partitions this version knows ({})",
            Partition::known_ids()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_entry_bytes_counts_json_escaping() {
        assert_eq!(data_entry_bytes("a", "b"), "\"a\":\"b\",".len());
        assert_eq!(data_entry_bytes("a", "é\""), "\"a\":\"é\\\"\",".len());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn consumer_accounts_must_be_twelve_digits() {
        assert!(checked_account("111111111111").is_ok());
        for bad in ["1111", "11111111111a", ""] {
            assert!(matches!(checked_account(bad), Err(RunError::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn partitions_follow_regions() {
        let id = |region| partition_of(region).ok();
        assert_eq!(id("cn-north-1"), Some("aws-cn"));
        assert_eq!(id("us-gov-west-1"), Some("aws-us-gov"));
        assert_eq!(id("eu-west-1"), Some("aws"));
        assert_eq!(id("eusc-de-east-1"), Some("aws-eusc"));
        assert!(matches!(partition_of("xx-east-1"), Err(RunError::Usage(text)) if text.contains("aws-iso-f")));
    }

    #[test]
    fn a_preview_is_a_create_in_the_chosen_region() {
        let request =
            Request::parse(preview_event("aws-cn", "cn-north-1", "111111111111", json!({"ExportPrefix": "x"})))
                .unwrap();
        assert_eq!(request.kind, cloudformation_custom_resource::RequestKind::Create);
        let stack = cloudformation_custom_resource::StackArn::parse(&request.reply.stack_id).unwrap();
        assert_eq!((stack.region, stack.account), ("cn-north-1", "111111111111"));
        assert_eq!(request.properties["ExportPrefix"], "x");
    }
}
