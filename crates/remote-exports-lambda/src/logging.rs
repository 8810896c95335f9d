//! The Lambda runtime's log format and level settings, with a floor under the verbosity of the crates
//! whose debug and trace output carries secrets.

use std::str::FromStr;

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};

/// At trace level `lambda_runtime` logs every raw event, presigned ResponseURL included; `aws_config`
/// logs access key IDs at debug, and so does the SDK's orchestrator when it logs endpoint parameters;
/// the signer and the HTTP stacks dump requests at trace. However verbose the function is asked to be, these stay at the level given here.
const QUIETER: &[(&str, LevelFilter)] = &[
    ("lambda_runtime", LevelFilter::INFO),
    ("lambda_runtime_api_client", LevelFilter::INFO),
    ("aws_config", LevelFilter::INFO),
    ("aws_smithy_runtime", LevelFilter::INFO),
    ("aws_smithy_runtime_api", LevelFilter::INFO),
    ("aws_sigv4", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::INFO),
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    ("reqwest", LevelFilter::INFO),
];

/// The filter for `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO: the runtime's own precedence.
fn log_filter(spec: Option<&str>) -> EnvFilter {
    let spec = spec.unwrap_or("INFO");
    let default = LevelFilter::from_str(spec).unwrap_or(LevelFilter::INFO);
    let mut filter = EnvFilter::builder().with_default_directive(default.into()).parse_lossy(spec);
    for (target, ceiling) in QUIETER {
        if filter.max_level_hint().is_none_or(|most| most > *ceiling) {
            filter = filter.add_directive(format!("{target}={ceiling}").parse().expect("a valid directive"));
        }
    }
    filter
}

/// Logs to stdout as the runtime's default subscriber does: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`.
pub fn init_logging() {
    let spec = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(log_filter(spec.as_deref()));
    if json { builder.json().init() } else { builder.init() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(spec: Option<&str>) -> String {
        log_filter(spec).to_string()
    }

    #[test]
    fn trace_is_capped_for_the_crates_that_log_secrets() {
        let filter = directives(Some("trace"));
        assert!(filter.contains("lambda_runtime=info"), "{filter}");
        assert!(filter.contains("aws_config=info"), "{filter}");
        assert!(filter.contains("aws_smithy_runtime=info"), "{filter}");
    }

    #[test]
    fn quieter_settings_are_left_alone() {
        let filter = directives(Some("WARN"));
        assert!(!filter.contains("lambda_runtime"), "{filter}");
        assert_eq!(directives(None), "info");
    }

    #[test]
    fn per_crate_directives_are_kept() {
        let filter = directives(Some("info,remote_exports_lambda=debug"));
        assert!(filter.contains("remote_exports_lambda=debug"), "{filter}");
        assert!(filter.contains("aws_config=info"), "{filter}");
    }
}
