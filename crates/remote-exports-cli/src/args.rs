//! The command line: every command, its options and their help texts.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// See what a Custom::RemoteExports resource would read, before you deploy it.
///
/// Credentials and region come from the usual AWS environment variables and profiles (AWS_PROFILE,
/// AWS_REGION, SSO, credential_process). Set DEFAULT_ROLE_ARN, ALLOWED_ROLE_ARNS, ALLOWED_EXPORTS and
/// CONSUMER_POLICY (or CONSUMER_POLICY_PARAMETER) as the deployed function has them, and pass
/// --consumer-account, to see exactly what it would answer your stack.
#[derive(Parser)]
#[command(name = "remote-exports", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// How to print results.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
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
pub(crate) enum Command {
    /// List the exports the function could see (or one stack's outputs, or the SSM parameters under a path), with the bytes each takes in a response.
    #[command(
        after_help = "Examples:\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --prefix booking-\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --stack booking-lambda\n  remote-exports list --role-arn arn:aws:iam::222222222222:role/remote-exports-reader --parameters /booking/prod\n  remote-exports list --region us-east-1 --output json"
    )]
    List(ListArgs),
    /// Show the exact Data a resource with these properties would get, or the FAILED reason.
    #[command(
        after_help = "Examples:\n  remote-exports preview --properties '{\"RoleArn\": \"arn:aws:iam::222222222222:role/remote-exports-reader\", \"ExportPrefix\": \"booking-\"}'\n  remote-exports preview --template examples/airmiles-consumer.yaml --resource Lookup --parameter BookingAccountId=222222222222"
    )]
    Preview(PreviewArgs),
    /// Run the full handler on a custom-resource event and print the response.
    #[command(
        after_help = "Examples:\n  remote-exports invoke events/create.json\n  remote-exports invoke my-event.json --send   # PUT the answer to its ResponseURL"
    )]
    Invoke(InvokeArgs),
    /// Who reads what, from the read registry: "can I change or remove this export?".
    #[command(
        after_help = "Examples:\n  remote-exports readers --export booking-lambda-BookingTopicArn\n  remote-exports readers --parameter /booking/prod/topic-arn\n  remote-exports readers --prefix booking- --source-account 222222222222 --output json"
    )]
    Readers(ReadersArgs),
    /// Before a deploy, in the publisher account: what the new template (or a change set) would
    /// remove from the stack, and who in other accounts still reads it. The export guard's check,
    /// for pipelines. Exit 1 when a live reader would be broken.
    #[command(
        after_help = "Examples:\n  remote-exports check --stack booking-lambda --template-file template.yaml\n  remote-exports check --stack booking-lambda --change-set remove-topic --output json\n\nThe registry is read as the export guard reads it: --table (or READS_TABLE) names the central table's\nARN, and --registry-role-arn (or GUARD_REGISTRY_ROLE_ARN) the central role, assumed as your account."
    )]
    Check(CheckArgs),
    /// Forget the readers of a consumer stack that no longer exists (a closed account, a stack
    /// deleted while the function was not deployed), so that they stop pinning exports under the
    /// export guard. Shows each reader and when it last read, asks for the stack's name to confirm,
    /// and writes one line per reader forgotten to stderr. A live reader is recorded again by its
    /// next Update; nothing ever expires on its own.
    #[command(after_help = "Examples:
  remote-exports readers --output json   # find the stack_id
  remote-exports prune --stack-id arn:aws:cloudformation:eu-west-1:333333333333:stack/hotels/0f1e2d3c
  remote-exports prune --stack-id <StackId> --logical-id Lookup --yes   # in a script")]
    Prune(PruneArgs),
    /// Every recorded read whose export changed or was removed since, and what to do about it.
    /// Each publisher account and region is read once, however many stacks read it. Exit 1 when
    /// anything is stale, so a pipeline can stop on it.
    #[command(
        after_help = "Examples:\n  remote-exports stale\n  remote-exports stale --table remote-exports-reads --output json"
    )]
    Stale(StaleArgs),
}

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    /// Role to assume in the publishing account; without it, your own account is read.
    #[arg(long)]
    pub role_arn: Option<String>,
    #[arg(long)]
    pub external_id: Option<String>,
    /// Region to read; defaults to your profile's region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only exports whose name starts with this.
    #[arg(long, conflicts_with = "stack")]
    pub prefix: Option<String>,
    /// List this stack's outputs (as StackOutputs reads them: <StackName>.<OutputKey>) instead of exports.
    #[arg(long, value_name = "STACK_NAME")]
    pub stack: Option<String>,
    /// List the SSM parameters under this path (at any depth) instead of exports; SecureString
    /// values are not decrypted.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["stack", "prefix"])]
    pub parameters: Option<String>,
    /// Apply the consumer policy as for a stack in this account (12 digits).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub consumer_account: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct PreviewArgs {
    /// The resource's properties as JSON.
    #[arg(long, conflicts_with_all = ["template", "resource"], required_unless_present = "template")]
    pub properties: Option<String>,
    /// A template holding the resource (YAML or JSON).
    #[arg(long, requires = "resource")]
    pub template: Option<PathBuf>,
    /// The resource's logical ID in --template.
    #[arg(long)]
    pub resource: Option<String>,
    /// Template parameter values, for !Ref, !Sub and the template's conditions (repeatable): --parameter Name=Value.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// The consumer stack's region; defaults to your profile's region.
    #[arg(long)]
    pub region: Option<String>,
    /// The consumer stack's account (12 digits), for the consumer policy.
    #[arg(long, value_name = "ACCOUNT_ID", default_value = "000000000000")]
    pub consumer_account: String,
}

#[derive(clap::Args)]
pub(crate) struct InvokeArgs {
    pub event: PathBuf,
    /// Also PUT the answer to the event's ResponseURL.
    #[arg(long)]
    pub send: bool,
    /// Time allowed, as the Lambda timeout would (seconds).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(clap::Args)]
pub(crate) struct ReadersArgs {
    /// The read registry's DynamoDB table (the stack's ReadsTableName output).
    #[arg(long, env = "READS_TABLE")]
    pub table: Option<String>,
    /// Only readers of this export.
    #[arg(long, conflicts_with = "prefix")]
    pub export: Option<String>,
    /// Only readers of this stack output.
    #[arg(long, value_name = "STACK_NAME.OUTPUT_KEY", conflicts_with_all = ["export", "prefix"])]
    pub stack_output: Option<String>,
    /// Only readers of exports (or stack outputs) whose name starts with this.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only readers of this SSM parameter (its name; an ARN or a :version/:label selector as
    /// written matches too).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["export", "stack_output", "prefix"])]
    pub parameter: Option<String>,
    /// Only reads from this publisher account.
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub source_account: Option<String>,
    /// Only reads from this region.
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The stack to check, in your account.
    #[arg(long)]
    pub stack: String,
    /// The template you are about to deploy (YAML or JSON).
    #[arg(long, required_unless_present = "change_set", conflicts_with = "change_set")]
    pub template_file: Option<PathBuf>,
    /// A change set of the stack, checked as created.
    #[arg(long)]
    pub change_set: Option<String>,
    /// The stack's region; defaults to your profile's region.
    #[arg(long)]
    pub region: Option<String>,
    /// The read registry's table (its ARN from another account).
    #[arg(long, env = "READS_TABLE")]
    pub table: Option<String>,
    /// The central role guards read the registry through (template output GuardRegistryRoleArn).
    #[arg(long, env = "GUARD_REGISTRY_ROLE_ARN")]
    pub registry_role_arn: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct PruneArgs {
    /// The read registry's DynamoDB table (the stack's ReadsTableName output).
    #[arg(long, env = "READS_TABLE")]
    pub table: Option<String>,
    /// The consumer stack's ID, as `readers --output json` shows it.
    #[arg(long)]
    pub stack_id: String,
    /// Only this resource of the stack (its LogicalResourceId); default: every reader of the stack.
    #[arg(long)]
    pub logical_id: Option<String>,
    /// Do not ask: for scripts and pipelines. The readers are still shown and logged.
    #[arg(long)]
    pub yes: bool,
}

#[derive(clap::Args)]
pub(crate) struct StaleArgs {
    /// The read registry's DynamoDB table (the stack's ReadsTableName output).
    #[arg(long, env = "READS_TABLE")]
    pub table: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
