"""The consumer app of test/constructs.test.js, written in Python against the package jsii-pacmak
built from the same classes; writes its synthesized template beside the TypeScript one, and
tests/cdk.rs compares the two RemoteExports resources."""

import json
import os
import pathlib

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from remote_exports_cdk import RemoteExports

out = pathlib.Path(os.environ["CDK_SYNTH_DIR"])
app = cdk.App()
stack = cdk.Stack(app, "Airmiles", env=cdk.Environment(account="123456789012", region="eu-west-1"))
lookup = RemoteExports(
    stack,
    "Lookup",
    central_account="111111111111",
    role_arn="arn:aws:iam::222222222222:role/remote-exports-reader",
    export_names=["cdk-booking-BookingTopicArn"],
    exports={"Api": "cdk-booking-api.ApiUrl"},
    stack_outputs=["cdk-booking-api.ApiUrl", "cdk-payments-api.ApiUrl"],
    defaults={"cdk-payments-api.ApiUrl": "none"},
    no_echo=False,
    refresh="1",
)
topic = sns.Topic.from_topic_arn(stack, "BookingTopic", lookup.export_value("cdk-booking-BookingTopicArn"))
sns.Subscription(stack, "Subscription", topic=topic, protocol=sns.SubscriptionProtocol.HTTPS, endpoint=lookup.alias("Api"))

# A typo fails synth in Python too, with the suggestion.
try:
    lookup.export_value("cdk-booking-BookingTopicArm")
    raise SystemExit("an unrequested export was accepted")
except Exception as error:  # jsii raises the JavaScript error as a Python exception
    assert "did you mean cdk-booking-BookingTopicArn?" in str(error), error

template = app.synth().get_stack_by_name("Airmiles").template
out.mkdir(parents=True, exist_ok=True)
(out / "airmiles-python.json").write_text(json.dumps(template, indent=2))
print("synthesized the consumer app from Python:", out / "airmiles-python.json")
