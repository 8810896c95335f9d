//! TLS as the function really uses it: the SDK's HTTPS client against moto behind a certificate from
//! a test CA. With `TLS_ROOTS=system` and that CA in SSL_CERT_FILE the lookup succeeds; with the default
//! Amazon Trust Services roots the same endpoint is refused, which proves the pinning is in force.

use std::path::{Path, PathBuf};

use remote_exports_e2e::*;
use serde_json::json;

/// A CA and a `localhost` server certificate it signed.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pki = TestPki::make(dir, &["localhost", "127.0.0.1"]).expect("openssl is installed");
    (pki.ca, pki.certificate, pki.key)
}

async fn lookup_over_tls(endpoint: &str, env: &[(&str, &str)], name: &str) -> serde_json::Value {
    let runtime = RuntimeApi::start().await.unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();
    let function = Function::start(&FunctionOptions {
        binary: lambda_binary(),
        runtime_api: runtime.address(),
        aws_endpoint: endpoint.to_owned(),
        region: REGION.to_owned(),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    })
    .unwrap();
    let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/tls/0");
    let mut event = create_event(&stack_id, name, json!({"RoleArn": role_arn("333333333333")}));
    responses.address(&mut event);
    runtime.invoke(&event, TIMEOUT).await.unwrap();
    let put = responses.delivered(name, std::time::Duration::from_secs(5)).await;
    put.unwrap_or_else(|| panic!("no answer; logs:\n{}", function.logs())).json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_sdk_speaks_tls_and_trusts_only_amazon_roots_by_default() {
    let test = "the_sdk_speaks_tls_and_trusts_only_amazon_roots_by_default";
    let moto_server = xtask_var("MOTO_SERVER");
    let _ = test;
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let (ca, certificate, key) = test_pki(dir);
    let moto = Moto::start_tls(Path::new(&moto_server), &certificate, &key).await.unwrap();

    let trusted = lookup_over_tls(
        moto.endpoint(),
        &[("TLS_ROOTS", "system"), ("SSL_CERT_FILE", ca.to_str().unwrap())],
        "trusted",
    )
    .await;
    assert_eq!(trusted["Status"], "SUCCESS", "AssumeRole and ListExports over TLS: {trusted}");

    let pinned = lookup_over_tls(moto.endpoint(), &[("SSL_CERT_FILE", ca.to_str().unwrap())], "pinned").await;
    assert_eq!(pinned["Status"], "FAILED", "a certificate from a non-Amazon CA was accepted: {pinned}");
    let reason = pinned["Reason"].as_str().unwrap();
    assert!(reason.starts_with("Could not read exports from account 333333333333"), "{reason}");
    assert!(reason.contains("UnknownIssuer") || reason.to_lowercase().contains("certificate"), "{reason}");

    moto.stop().await;
}

/// The answer's own path over TLS: a ResponseURL on an HTTPS endpoint whose certificate a test CA
/// signed. Trusted (system roots holding the CA) it is delivered; untrusted (the default Amazon roots)
/// it fails at the first attempt with a Reason that says why, instead of retrying until the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn the_answer_goes_over_tls_and_an_untrusted_certificate_is_not_retried() {
    let moto = Moto::start(Path::new(&xtask_var("MOTO_SERVER"))).await.unwrap();
    let files = tempfile::tempdir().unwrap();
    let pki = TestPki::make(files.path(), &["127.0.0.1"]).unwrap();
    let responses = ResponseEndpoint::start().await.unwrap();
    let front = TlsFront::start(&pki, (std::net::Ipv4Addr::LOCALHOST, 0).into(), responses.local_addr()).await.unwrap();
    let ca = pki.ca.to_str().unwrap();

    for (name, env) in
        [("untrusted", vec![("SSL_CERT_FILE", ca)]), ("trusted", vec![("TLS_ROOTS", "system"), ("SSL_CERT_FILE", ca)])]
    {
        let runtime = RuntimeApi::start().await.unwrap();
        let function = Function::start(&FunctionOptions {
            binary: lambda_binary(),
            runtime_api: runtime.address(),
            aws_endpoint: moto.endpoint().to_owned(),
            region: REGION.to_owned(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
        .unwrap();
        let stack_id = format!("arn:aws:cloudformation:{REGION}:{CONSUMER_ACCOUNT}:stack/tls-answer/0");
        let mut event = create_event(&stack_id, name, json!({"RoleArn": role_arn("333333333333")}));
        responses.address_through(&front, &mut event);
        assert!(event["ResponseURL"].as_str().unwrap().starts_with("https://127.0.0.1:"));
        let started = std::time::Instant::now();
        let invocation = runtime.invoke(&event, TIMEOUT).await.unwrap();
        let logs = function.stop().await;
        if name == "trusted" {
            let put = responses.delivered(name, std::time::Duration::from_secs(5)).await;
            let answer = put.unwrap_or_else(|| panic!("not delivered over TLS; logs:\n{logs}")).json();
            assert_eq!(answer["Status"], "SUCCESS", "{answer}");
        } else {
            let Outcome::Error(error) = &invocation.outcome else {
                panic!("expected an error: {:?}", invocation.outcome)
            };
            let error = error.to_string();
            assert!(error.contains("RemoteExports.Undelivered") && error.contains("not trusted"), "{error}");
            assert!(error.contains("TLS_ROOTS=system"), "the error says what to do: {error}");
            assert!(responses.puts(name).is_empty());
            assert_eq!(logs.matches("retrying").count(), 0, "an untrusted certificate was retried:\n{logs}");
            // Retried, it would go on until the deadline; half of it is far from both, even on a busy machine.
            assert!(started.elapsed() < TIMEOUT / 2, "took {:?}", started.elapsed());
        }
    }
    moto.stop().await;
}
