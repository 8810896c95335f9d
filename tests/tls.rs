//! TLS as the function really uses it: the SDK's HTTPS client against moto behind a certificate from
//! a test CA. With `TLS_ROOTS=system` and that CA in SSL_CERT_FILE the lookup succeeds; with the default
//! Amazon Trust Services roots the same endpoint is refused, which proves the pinning is in force.

use std::path::{Path, PathBuf};
use std::process::Command;

use remote_exports_e2e::*;
use serde_json::json;

/// A CA and a `localhost` server certificate it signed, made with the openssl command.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=remote-exports test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
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
    let dir = std::env::temp_dir().join(format!("remote-exports-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, certificate, key) = test_pki(&dir);
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
    let _ = std::fs::remove_dir_all(&dir);
}
