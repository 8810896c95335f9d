// The benchmark's Node.js peer: the same lookup with the AWS SDK for JavaScript v3, the SDK of CDK's
// AwsCustomResource. Node's managed runtime is a Runtime API loop like this one; it is written out
// here because the aws-lambda-ric package compiles native code, which `cargo xtask bench` avoids.
// Written for `cargo xtask bench --cpu-share 128`; not part of the product.
import { STSClient, AssumeRoleCommand } from "@aws-sdk/client-sts";
import { CloudFormationClient, paginateListExports } from "@aws-sdk/client-cloudformation";

const runtime = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;

async function lookup(event) {
  const properties = event.ResourceProperties;
  const account = properties.RoleArn.split(":")[4];
  const region = properties.Region || process.env.AWS_REGION;
  const { Credentials } = await new STSClient({}).send(
    new AssumeRoleCommand({ RoleArn: properties.RoleArn, RoleSessionName: "remote-exports" }),
  );
  const client = new CloudFormationClient({
    region,
    credentials: {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
    },
  });
  const wanted = new Set(properties.ExportNames || []);
  const data = {};
  for await (const page of paginateListExports({ client }, {})) {
    for (const { Name, Value } of page.Exports || []) {
      if (wanted.size === 0 || wanted.has(Name)) data[Name] = Value;
    }
  }
  const missing = [...wanted].filter((name) => !(name in data));
  if (missing.length > 0) throw new Error(`exports not found in ${account}/${region}: ${missing.join(", ")}`);
  return { physicalResourceId: `remote-exports:${account}:${region}`, data };
}

async function answer(event) {
  let body;
  try {
    const { physicalResourceId, data } =
      event.RequestType === "Delete" ? { physicalResourceId: event.PhysicalResourceId, data: {} } : await lookup(event);
    body = { Status: "SUCCESS", PhysicalResourceId: physicalResourceId, Data: data };
  } catch (error) {
    body = { Status: "FAILED", Reason: String(error), PhysicalResourceId: event.PhysicalResourceId || event.RequestId };
  }
  Object.assign(body, { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId });
  const response = await fetch(event.ResponseURL, { method: "PUT", body: JSON.stringify(body), headers: { "content-type": "" } });
  if (!response.ok) throw new Error(`ResponseURL answered ${response.status}`);
}

for (;;) {
  const next = await fetch(`${runtime}/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  try {
    await answer(event);
    await fetch(`${runtime}/${requestId}/response`, { method: "POST", body: "{}" });
  } catch (error) {
    await fetch(`${runtime}/${requestId}/error`, { method: "POST", body: JSON.stringify({ errorMessage: String(error) }) });
  }
}
