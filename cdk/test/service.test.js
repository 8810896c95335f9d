// RemoteExportsService, the platform side: synthesized for each choice of template.yaml's parameters in
// service-choices.json (tests/service_drift.rs compares each with template.yaml evaluated for the same choice),
// checked by cdk-nag, and refused where template.yaml's Rules refuse.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { App, Duration, Stack, Validations } = require('aws-cdk-lib');
const { Match, Template } = require('aws-cdk-lib/assertions');
const events = require('aws-cdk-lib/aws-events');
const lambda = require('aws-cdk-lib/aws-lambda');
const { AwsSolutionsChecks } = require('cdk-nag');
const { RemoteExportsService, ResponseUrlBinding } = require('../lib');

const OUT = process.env.CDK_SYNTH_DIR ?? path.join(__dirname, '..', '..', 'target', 'cdk');
const CHOICES = JSON.parse(fs.readFileSync(path.join(__dirname, 'service-choices.json'), 'utf8'));

// The function as the test command built it (REMOTE_EXPORTS_BOOTSTRAP), staged as an asset's bootstrap
// (one Code per stack, as CDK requires).
function bootstrapDir() {
  const built = process.env.REMOTE_EXPORTS_BOOTSTRAP ?? path.join(__dirname, '..', '..', 'target', 'debug', 'remote-exports-lambda');
  assert.ok(fs.existsSync(built), `${built} is missing: build the workspace first (cargo xtask test does)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-exports-bootstrap-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  try {
    fs.linkSync(built, path.join(dir, 'bootstrap'));
  } catch {
    fs.copyFileSync(built, path.join(dir, 'bootstrap'));
  }
  return dir;
}
const BOOTSTRAP = bootstrapDir();

// template.yaml's parameters as the construct's props: the same choice, in CDK's types.
function propsFor(choice) {
  // An empty parameter is template.yaml's "not set".
  const parameters = Object.fromEntries(Object.entries(choice).filter(([, value]) => value !== ''));
  const list = (name) => (parameters[name] ? parameters[name].split(',') : undefined);
  const seconds = (name) => (parameters[name] ? Duration.seconds(Number(parameters[name])) : undefined);
  const flag = (name) => (parameters[name] ? parameters[name] === 'true' : undefined);
  return {
    code: lambda.Code.fromAsset(BOOTSTRAP),
    functionName: parameters.FunctionName,
    allowedRoleArns: list('AllowedRoleArns'),
    defaultRoleArn: parameters.DefaultRoleArn,
    allowedExports: list('AllowedExports'),
    allowedStackOutputs: list('AllowedStackOutputs'),
    allowedParameters: list('AllowedParameters'),
    consumerPolicyParameter: parameters.ConsumerPolicyParameter,
    consumerPolicyKmsKeyArn: parameters.ConsumerPolicyKmsKeyArn,
    consumerPolicyTtl: seconds('ConsumerPolicyTtlSeconds'),
    responseUrlBinding: parameters.ResponseUrlBinding === 'host-only' ? ResponseUrlBinding.HOST_ONLY : undefined,
    organizationId: parameters.OrganizationId,
    consumerAccountIds: list('ConsumerAccountIds'),
    readsRegistry: flag('ReadsRegistry'),
    readsTableArn: parameters.ReadsTableArn,
    auditSchedule: parameters.AuditSchedule ? events.Schedule.expression(parameters.AuditSchedule) : undefined,
    auditEventAccountIds: list('AuditEventAccountIds'),
    exportsSnapshot: flag('ExportsSnapshot'),
    exportsSnapshotTtl: seconds('ExportsSnapshotTtlSeconds'),
    reservedConcurrency: parameters.ReservedConcurrency ? Number(parameters.ReservedConcurrency) : undefined,
    useFipsEndpoint: flag('UseFipsEndpoint'),
    logRetention: parameters.LogRetentionInDays ? Number(parameters.LogRetentionInDays) : undefined,
    metricsNamespace: parameters.MetricsNamespace,
    metricsPerConsumerAccount: flag('MetricsPerConsumerAccount'),
    alarmTopicArn: parameters.AlarmTopicArn,
    failedAnswersAlarmPercent: parameters.FailedAnswersAlarmPercent ? Number(parameters.FailedAnswersAlarmPercent) : undefined,
    dashboard: flag('Dashboard'),
    changeEvents: flag('ChangeEvents'),
    changeCheckWindow: seconds('ChangeCheckWindowSeconds'),
    // template.yaml's empty ChangeCheckConcurrency (none reserved) is the construct's 0.
    changeCheckConcurrency:
      'ChangeCheckConcurrency' in choice ? Number(choice.ChangeCheckConcurrency || '0') : undefined,
  };
}

const choices = Object.entries(CHOICES).filter(([name]) => !name.startsWith('_'));

test('the service synthesizes for each choice of template.yaml (tests/service_drift.rs compares them)', () => {
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, parameters] of choices) {
    // Environment-agnostic, as a SAM template is: account, region and partition stay pseudo parameters.
    const stack = new Stack(new App(), `service-${name}`);
    const service = new RemoteExportsService(stack, 'Service', propsFor(parameters));
    const template = Template.fromStack(stack).toJSON();
    assert.ok(template.Resources.RemoteExportsFunction, `${name}: the function keeps template.yaml's logical ID`);
    assert.equal(typeof service.serviceToken, 'string');
    fs.writeFileSync(path.join(OUT, `service-${name}.template.json`), JSON.stringify(template, null, 2));
  }
});

test('cdk-nag (AwsSolutions) finds nothing unacknowledged in the service stack, every feature on', () => {
  const app = new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'PlatformNag', { env: { account: '111111111111', region: 'eu-west-1' } });
  new RemoteExportsService(stack, 'Service', propsFor(CHOICES.organization));
  const withoutKey = new Stack(app, 'PlatformNagAwsManagedKey', { env: { account: '111111111111', region: 'eu-west-1' } });
  new RemoteExportsService(withoutKey, 'Service', propsFor({ ...CHOICES.accounts, ReadsTableArn: '' }));
  app.synth();
  // A wildcard in the role's name is not acknowledged for you: the check can fail.
  const bare = new App();
  Validations.of(bare).addPlugins(new AwsSolutionsChecks(bare));
  const wide = new Stack(bare, 'PlatformWide', { env: { account: '111111111111', region: 'eu-west-1' } });
  new RemoteExportsService(wide, 'Service', propsFor({ AllowedRoleArns: 'arn:aws:iam::*:role/*' }));
  assert.throws(() => bare.synth(), /Validation failed/);
});

test("template.yaml's rules refuse at synth time", () => {
  const build = (parameters) => () => new RemoteExportsService(new Stack(new App(), 'Bad'), 'Service', propsFor(parameters));
  assert.throws(build({ AuditSchedule: 'rate(1 hour)' }), /needs readsRegistry/);
  assert.throws(build({ ReadsTableArn: CHOICES.accounts.ReadsTableArn, ReadsRegistry: 'true' }), /home region's registry/);
  assert.throws(build({ ResponseUrlBinding: 'host-only', OrganizationId: 'o-abcdefghij' }), /host-only/);
  assert.throws(build({ ResponseUrlBinding: 'host-only', ConsumerAccountIds: '123456789012' }), /host-only/);
  assert.throws(build({ AllowedRoleArns: 'arn:aws:iam::1:user/x' }), /allowedRoleArns entry/);
  assert.throws(build({ OrganizationId: 'org-1' }), /organizationId/);
  assert.throws(build({ FailedAnswersAlarmPercent: '0', AlarmTopicArn: CHOICES.accounts.AlarmTopicArn }), /failedAnswersAlarmPercent/);
  assert.throws(build({ ExportsSnapshotTtlSeconds: '7200' }), /exportsSnapshotTtl/);
  assert.throws(build({ ConsumerPolicyParameter: 'no-slash' }), /consumerPolicyParameter/);
  assert.throws(build({ ReadsRegistry: 'true', AuditEventAccountIds: '123456789012' }), /auditEventAccountIds routes the audit's events, so it needs auditSchedule/);
  assert.throws(build({ ReadsRegistry: 'true', AuditSchedule: 'rate(1 hour)', AuditEventAccountIds: '12345678901' }), /auditEventAccountIds entry/);
  const props = (extra) => () => new RemoteExportsService(new Stack(new App(), 'Bad'), 'Service', { ...propsFor({}), ...extra });
  assert.throws(props({ logRetention: 9999 }), /LogRetentionInDays/);
  assert.throws(props({ allowedExports: [] }), /allowedExports must hold/);
  assert.throws(props({ allowedExports: ['a,b'] }), /allowedExports must hold/);
  assert.throws(props({ readsRegistry: true, auditSchedule: events.Schedule.rate(Duration.hours(1)), auditEventAccountIds: [] }), /auditEventAccountIds must hold/);
  assert.throws(props({ readsRegistry: true, auditSchedule: events.Schedule.expression('at(2027-01-01T00:00:00)') }), /rate\(\.\.\.\) or cron/);
  assert.throws(props({ responseUrlBinding: 'HOST-ONLY' }), /not one of request, host-only/);
  assert.throws(props({ defaultRoleArn: 'reader' }), /defaultRoleArn/);
});

test("the audit's events reach each listed account through a route of its own, and no other account manages rules", () => {
  const accounts = ['123456789012', '222222222222', '333333333333', '444444444444', '555555555555', '666666666666', '777777777777', '888888888888', '999999999999', '101010101010', '121212121212'];
  const stack = new Stack(new App(), 'Routes');
  new RemoteExportsService(stack, 'Service', {
    ...propsFor({ OrganizationId: 'o-abcdefghij', ReadsRegistry: 'true', AuditSchedule: 'rate(1 hour)' }),
    auditEventAccountIds: accounts,
  });
  const template = Template.fromStack(stack);
  // One rule per account, in order, beyond template.yaml's ten as well.
  const routes = template.findResources('AWS::Events::Rule', { Properties: { EventBusName: { Ref: 'AuditEventBus' } } });
  assert.deepEqual(Object.keys(routes).sort(), accounts.map((_, index) => `AuditRoute${index}`).sort());
  accounts.forEach((account, index) => {
    const route = routes[`AuditRoute${index}`].Properties;
    assert.deepEqual(route.EventPattern, {
      source: ['remote-exports'],
      $or: [{ detail: { consumer_account: [account] } }, { detail: { source_account: [account] } }],
    });
    assert.equal(route.Targets.length, 1);
    assert.deepEqual(route.Targets[0].RoleArn, { 'Fn::GetAtt': ['AuditRouteRole', 'Arn'] });
    assert.deepEqual(route.Targets[0].Arn, {
      'Fn::Sub': ['arn:${AWS::Partition}:events:${AWS::Region}:${Account}:event-bus/default', { Account: account }],
    });
  });
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] },
    Policies: [
      Match.objectLike({
        PolicyName: 'put-on-listed-accounts-default-bus',
        PolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Condition: { StringEquals: { 'aws:ResourceAccount': accounts } } })] }),
      }),
    ],
  });
  // The Organization no longer puts rules of its own on the audit bus.
  assert.equal(template.toJSON().Resources.AuditEventBusOrganizationRules, undefined);
  template.resourceCountIs('AWS::Events::EventBusPolicy', 1);

  // Without auditEventAccountIds: no route and no route role.
  const quiet = new Stack(new App(), 'NoRoutes');
  new RemoteExportsService(quiet, 'Service', propsFor({ OrganizationId: 'o-abcdefghij', ReadsRegistry: 'true', AuditSchedule: 'rate(1 hour)' }));
  const resources = Template.fromStack(quiet).toJSON().Resources;
  assert.deepEqual(Object.keys(resources).filter((id) => id.startsWith('AuditRoute') || id === 'AuditEventBusOrganizationRules'), []);
});

test('without `code`, the service deploys the zip the package carries, or says at synth that this copy has none', () => {
  const bundled = path.join(__dirname, '..', 'assets', 'remote-exports-arm64.zip');
  const codeKeys = (props) => {
    const stack = new Stack(new App(), 'Service');
    new RemoteExportsService(stack, 'RemoteExports', props);
    return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((f) => f.Properties.Code.S3Key);
  };
  // A `code` prop is deployed as given, whether or not this copy carries a zip.
  const own = codeKeys({ ...propsFor({}), organizationId: 'o-abc123def4' });
  assert.ok(own.length > 0);
  if (fs.existsSync(bundled)) {
    // A checkout where `cargo xtask dist` has run: the carried zip is the asset, uploaded as it is.
    const carried = codeKeys({ organizationId: 'o-abc123def4' });
    assert.ok(carried.every((key) => /^[0-9a-f]{64}\.zip$/.test(key) && !own.includes(key)), JSON.stringify({ carried, own }));
  } else {
    assert.throws(() => codeKeys({ organizationId: 'o-abc123def4' }), /carries no function .*remote-exports-arm64\.zip is missing.*pass `code`/);
  }
});
