// The live-reference constructs: the publisher's change forwarding and the consumer's refresher,
// synthesized with the values of live-choices.json (tests/service_drift.rs compares each with the
// example template it mirrors, evaluated with the same parameters), checked by cdk-nag; and the
// consumer resource's opt-in.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { App, Stack, Validations } = require('aws-cdk-lib');
const { Template } = require('aws-cdk-lib/assertions');
const lambda = require('aws-cdk-lib/aws-lambda');
const { AwsSolutionsChecks } = require('cdk-nag');
const { RemoteExports, RemoteExportsChangeForwarding, RemoteExportsRefresher, RefreshMode } = require('../lib');

const OUT = process.env.CDK_SYNTH_DIR ?? path.join(__dirname, '..', '..', 'target', 'cdk');
const CHOICES = JSON.parse(fs.readFileSync(path.join(__dirname, 'live-choices.json'), 'utf8'));

function bootstrap() {
  const built = process.env.REMOTE_EXPORTS_BOOTSTRAP ?? path.join(__dirname, '..', '..', 'target', 'debug', 'remote-exports-lambda');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-exports-refresher-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(built, path.join(dir, 'bootstrap'));
  return lambda.Code.fromAsset(dir);
}

function synthesized(build) {
  const app = new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Live');
  build(stack);
  app.synth();
  return Template.fromStack(stack).toJSON();
}

test('the publisher forwarding and the consumer refresher synthesize as their example templates (tests/service_drift.rs compares them)', () => {
  fs.mkdirSync(OUT, { recursive: true });
  const forwarding = synthesized((stack) => new RemoteExportsChangeForwarding(stack, 'Forwarding', { changeEventBusArn: CHOICES.forwarding.ChangeEventBusArn }));
  fs.writeFileSync(path.join(OUT, 'live-forwarding.template.json'), JSON.stringify(forwarding, null, 2));
  const refresher = synthesized((stack) => new RemoteExportsRefresher(stack, 'Refresher', { auditRouteRoleArn: CHOICES.refresher.AuditRouteRoleArn, code: bootstrap() }));
  fs.writeFileSync(path.join(OUT, 'live-refresher.template.json'), JSON.stringify(refresher, null, 2));
  assert.ok(refresher.Resources.RefresherFunction, 'the example template\'s logical IDs');
});

test('their inputs are checked at synth', () => {
  const stack = new Stack(new App(), 'Bad', { env: { account: '123456789012', region: 'eu-west-1' } });
  assert.throws(() => new RemoteExportsChangeForwarding(stack, 'F', { changeEventBusArn: 'arn:aws:sns:eu-west-1:111111111111:topic' }), /not an event bus ARN/);
  assert.throws(() => new RemoteExportsRefresher(stack, 'R', { auditRouteRoleArn: 'arn:aws:iam::1111:role/x', code: bootstrap() }), /auditRouteRoleArn/);
});

test('a consumer resource opts its stack in: the refresh parameter as Refresh, and the stack tag', () => {
  const app = new App();
  const stack = new Stack(app, 'Airmiles', { env: { account: '123456789012', region: 'eu-west-1' } });
  const common = { centralAccount: '111111111111', roleArn: 'arn:aws:iam::222222222222:role/remote-exports-reader', refreshMode: RefreshMode.CHANGE_SET };
  new RemoteExports(stack, 'Lookup', { ...common, exportNames: ['booking-TopicArn'] });
  new RemoteExports(stack, 'Api', { ...common, stackOutputs: ['booking-api.ApiUrl'] });
  const template = Template.fromStack(stack).toJSON();
  assert.deepEqual(template.Parameters.RemoteExportsRefresh, {
    Type: 'String',
    Default: '0',
    Description: 'Changed by the remote-exports refresher (or by hand) to read remote values again.',
  });
  const lookups = Object.values(template.Resources).filter((r) => r.Type === 'Custom::RemoteExports');
  assert.equal(lookups.length, 2);
  for (const lookup of lookups) {
    assert.deepEqual(lookup.Properties.Refresh, { Ref: 'RemoteExportsRefresh' });
  }
  assert.deepEqual(stack.tags.tagValues(), { 'remote-exports:refresh': 'change-set' });
  assert.throws(() => new RemoteExports(stack, 'Both', { ...common, exportNames: ['x'], refresh: '2' }), /not both refresh and refreshMode/);
  assert.throws(
    () => new RemoteExports(stack, 'Other', { ...common, exportNames: ['x'], refreshMode: RefreshMode.UPDATE }),
    /conflicts with change-set/,
  );
});
