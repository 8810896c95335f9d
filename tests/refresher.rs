//! The refresher end to end: the real function in `refresher` mode, in the consumer account, gets the
//! central account's stale-read events and refreshes only the stacks that opted in, through moto's
//! CloudFormation (a change set of the previous template, or an update), counted and read back by
//! the proxy. States moto cannot hold (an update in progress, a failed rollback) are moto's own
//! DescribeStacks answer with the status rewritten.

use remote_exports_e2e::*;
use serde_json::{Value, json};

const CENTRAL_ACCOUNT: &str = "111111111111";

/// A consumer stack with a `Custom::RemoteExports`-like refresh parameter beside another parameter.
const TEMPLATE: &str = r#"{"Parameters": {"Env": {"Type": "String"}, "RemoteExportsRefresh": {"Type": "String", "Default": "0"}},
 "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#;

/// The central account's stale-read event about `stack_id`, as the audit puts it (source
/// `remote-exports`) and EventBridge delivers it to this account's default bus.
fn stale_event(stack_id: &str, stack_name: &str, account: &str, time: &str) -> Value {
    json!({
        "version": "0", "id": format!("stale-{stack_name}-{time}"), "detail-type": "Remote export changed",
        "source": "remote-exports", "account": account, "time": time, "region": REGION, "resources": [stack_id],
        "detail": {"stack_id": stack_id, "stack_name": stack_name, "logical_resource_id": "Lookup",
                   "consumer_account": CONSUMER_ACCOUNT, "export": "booking-TopicArn", "kind": "export",
                   "data_key": "Topic", "state": "changed", "source_account": "222222222222", "region": REGION}
    })
}

async fn refresh(refresher: &World, event: &Value) -> Result<Value, Value> {
    let invocation = refresher.runtime.invoke(event, TIMEOUT).await.unwrap();
    match invocation.outcome {
        Outcome::Response(body) => Ok(body),
        Outcome::Error(error) => Err(error),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs moto; `cargo xtask test` runs it"]
async fn only_opted_in_stacks_are_refreshed_and_only_from_a_stable_state() {
    let test = "only_opted_in_stacks_are_refreshed_and_only_from_a_stable_state";
    let moto = moto_endpoint(test);
    let consumer = Publisher::connect(&moto, CONSUMER_ACCOUNT, REGION).await.unwrap();
    let suffix = publisher_account(test);
    let name = |stack: &str| format!("{stack}-{suffix}");
    let role = Some("arn:aws:iam::123456789012:role/airmiles-deploy");
    let opted = consumer
        .create_stack_with(
            &name("airmiles"),
            TEMPLATE,
            &[("Env", "prod")],
            &[("remote-exports:refresh", "change-set")],
            None,
        )
        .await
        .unwrap();
    let not_opted = consumer.create_stack_with(&name("hotels"), TEMPLATE, &[("Env", "prod")], &[], role).await.unwrap();
    let updating = consumer
        .create_stack_with(&name("cars"), TEMPLATE, &[("Env", "prod")], &[("remote-exports:refresh", "update")], role)
        .await
        .unwrap();
    let env = [
        ("FUNCTION_MODE", "refresher"),
        ("CENTRAL_ACCOUNT_ID", CENTRAL_ACCOUNT),
        ("FUNCTION_ACCOUNT_ID", CONSUMER_ACCOUNT),
    ];
    let refresher = World::start(test, &env).await;

    // An opted-in stack gets a change set: the previous template, only the refresh parameter new.
    let time = "2026-12-07T21:10:00Z";
    let proposed = refresh(&refresher, &stale_event(&opted, &name("airmiles"), CENTRAL_ACCOUNT, time)).await.unwrap();
    assert_eq!(proposed["Proposed"], "remote-exports-refresh-20261207T211000Z", "{proposed}");
    let requests = refresher.proxy.requests("CreateChangeSet");
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    for expected in [
        "UsePreviousTemplate=true",
        "ChangeSetType=UPDATE",
        "ChangeSetName=remote-exports-refresh-20261207T211000Z",
        "ParameterKey=Env",
        "UsePreviousValue=true",
        "ParameterKey=RemoteExportsRefresh",
        "ParameterValue=remote-exports 2026-12-07T21:10:00Z",
    ] {
        assert!(request.contains(expected), "{expected} missing from {request}");
    }
    assert!(!request.contains("TemplateBody") && !request.contains("RoleARN"), "{request}");
    assert_eq!(refresher.proxy.count("UpdateStack"), 0);

    // A stack that did not opt in: described, never changed.
    refresher.proxy.reset();
    let skipped = refresh(&refresher, &stale_event(&not_opted, &name("hotels"), CENTRAL_ACCOUNT, time)).await.unwrap();
    assert!(skipped["Skipped"].as_str().unwrap().contains("did not opt in"), "{skipped}");
    assert_eq!(refresher.proxy.calls().keys().collect::<Vec<_>>(), ["DescribeStacks"]);

    // `update` on a busy stack: nothing now, an error that makes Lambda try again later; once the
    // stack is stable, the update starts.
    refresher.proxy.reset();
    refresher.proxy.rewrite(
        "DescribeStacks",
        "<StackStatus>CREATE_COMPLETE</StackStatus>",
        "<StackStatus>UPDATE_IN_PROGRESS</StackStatus>",
    );
    let busy = refresh(&refresher, &stale_event(&updating, &name("cars"), CENTRAL_ACCOUNT, time)).await.unwrap_err();
    assert_eq!(busy["errorType"], "RemoteExports.StackBusy", "{busy}");
    assert!(busy["errorMessage"].as_str().unwrap().contains("UPDATE_IN_PROGRESS"), "{busy}");
    assert_eq!(refresher.proxy.count("UpdateStack"), 0);
    refresher.proxy.heal();
    let started = refresh(&refresher, &stale_event(&updating, &name("cars"), CENTRAL_ACCOUNT, time)).await.unwrap();
    assert_eq!(started["Started"], name("cars"), "{started}");
    assert_eq!(refresher.proxy.count("UpdateStack"), 1);
    let parameters = consumer.stack_parameters(&name("cars")).await.unwrap();
    assert!(parameters.contains(&("RemoteExportsRefresh".into(), format!("remote-exports {time}"))), "{parameters:?}");
    assert!(parameters.contains(&("Env".into(), "prod".into())), "{parameters:?}");
    // The same event again: already refreshed, nothing changed.
    let again = refresh(&refresher, &stale_event(&updating, &name("cars"), CENTRAL_ACCOUNT, time)).await.unwrap();
    assert!(again["Skipped"].as_str().unwrap().contains("already refreshed"), "{again}");
    assert_eq!(refresher.proxy.count("UpdateStack"), 1);

    // `update` on a stack whose rollback failed: nothing, and the answer says why.
    refresher.proxy.reset();
    refresher.proxy.rewrite(
        "DescribeStacks",
        "<StackStatus>UPDATE_COMPLETE</StackStatus>",
        "<StackStatus>UPDATE_ROLLBACK_FAILED</StackStatus>",
    );
    let later = "2026-12-07T21:20:00Z";
    let failed = refresh(&refresher, &stale_event(&updating, &name("cars"), CENTRAL_ACCOUNT, later)).await.unwrap();
    let why = failed["Skipped"].as_str().unwrap_or_default();
    assert!(why.contains("UPDATE_ROLLBACK_FAILED") && why.contains("continue the rollback"), "{failed}");
    assert_eq!((refresher.proxy.count("UpdateStack"), refresher.proxy.count("CreateChangeSet")), (0, 0));
    refresher.proxy.heal();

    // Forged: an event this account put itself (its account is not the central one), or about another
    // account's stack: refused before any call.
    refresher.proxy.reset();
    // Refusals are results, not errors: Lambda would refuse an asynchronous event twice more.
    let own = refresh(&refresher, &stale_event(&opted, &name("airmiles"), CONSUMER_ACCOUNT, later)).await.unwrap();
    assert_eq!(own["Refused"], "UntrustedStaleEvent");
    let foreign = opted.replace(CONSUMER_ACCOUNT, "999999999999");
    let other = refresh(&refresher, &stale_event(&foreign, &name("airmiles"), CENTRAL_ACCOUNT, later)).await.unwrap();
    assert_eq!(other["Refused"], "UntrustedStaleEvent");
    let scheduled = refresh(&refresher, &scheduled_event()).await.unwrap();
    assert_eq!(scheduled["Refused"], "NotAStaleEvent");
    assert!(refresher.proxy.calls().is_empty(), "{:?}", refresher.proxy.calls());
    let logs = refresher.function.logs();
    assert_eq!(metric(&logs, "RefreshesProposed").iter().sum::<u64>(), 1, "{logs}");
    assert_eq!(metric(&logs, "RefreshesStarted").iter().sum::<u64>(), 1, "{logs}");
    assert_eq!(metric(&logs, "RefreshesDeferred").iter().sum::<u64>(), 1, "{logs}");
    assert_eq!(metric(&logs, "Refused").iter().sum::<u64>(), 3, "each refusal counted: {logs}");
}
