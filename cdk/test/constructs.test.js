// Unit tests of the constructs against what they synthesize (aws-cdk-lib/assertions), and the
// synthesized templates written where `cargo xtask test` lints them and sends their properties
// through the real function.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { App, Stack } = require('aws-cdk-lib');
const { Template, Match } = require('aws-cdk-lib/assertions');
const sns = require('aws-cdk-lib/aws-sns');
const { RemoteExports, RemoteExportsReaderRole } = require('../lib');
const { Validations } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const { AwsSolutionsChecks } = require('cdk-nag');

const OUT = process.env.CDK_SYNTH_DIR ?? path.join(__dirname, '..', '..', 'target', 'cdk');
const ROLE = 'arn:aws:iam::222222222222:role/remote-exports-reader';

function consumerStack() {
  const app = new App();
  const stack = new Stack(app, 'Airmiles', { env: { account: '123456789012', region: 'eu-west-1' } });
  const lookup = new RemoteExports(stack, 'Lookup', {
    centralAccount: '111111111111',
    roleArn: ROLE,
    exportNames: ['cdk-booking-BookingTopicArn'],
    exports: { Api: 'cdk-booking-api.ApiUrl' },
    stackOutputs: ['cdk-booking-api.ApiUrl', 'cdk-payments-api.ApiUrl'],
    defaults: { 'cdk-payments-api.ApiUrl': 'none' },
    noEcho: false,
    refresh: '1',
  });
  const topic = sns.Topic.fromTopicArn(stack, 'BookingTopic', lookup.exportValue('cdk-booking-BookingTopicArn'));
  new sns.Subscription(stack, 'Subscription', { topic, protocol: sns.SubscriptionProtocol.HTTPS, endpoint: lookup.alias('Api') });
  return { stack, lookup };
}

test('the consumer resource carries the properties as the function reads them, in the stack region', () => {
  const { stack } = consumerStack();
  const template = Template.fromStack(stack);
  template.hasResourceProperties('Custom::RemoteExports', {
    ServiceToken: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:eu-west-1:111111111111:function:remote-exports']] },
    RoleArn: ROLE,
    ExportNames: ['cdk-booking-BookingTopicArn'],
    Exports: { Api: 'cdk-booking-api.ApiUrl' },
    StackOutputs: ['cdk-booking-api.ApiUrl', 'cdk-payments-api.ApiUrl'],
    Defaults: { 'cdk-payments-api.ApiUrl': 'none' },
    NoEcho: 'false',
    Refresh: '1',
    // As the README tells SAM users: a lost answer fails the stack after two minutes, not an hour.
    ServiceTimeout: '120',
  });
  // Values are GetAtts of the resource, one per key.
  template.hasResourceProperties('AWS::SNS::Subscription', {
    TopicArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Lookup'), 'cdk-booking-BookingTopicArn'] },
    Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Lookup'), 'Api'] },
  });
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'airmiles.template.json'), JSON.stringify(template.toJSON(), null, 2));
});

test('serviceTimeout defaults to 120 seconds, can be set, and is refused outside 1 to 3600', () => {
  const { Duration } = require('aws-cdk-lib');
  const timeoutOf = (props) => {
    const stack = new Stack(new App(), 'Timeouts');
    new RemoteExports(stack, 'Lookup', { centralAccount: '111111111111', exportPrefix: 'booking-', ...props });
    return Object.values(Template.fromStack(stack).findResources('Custom::RemoteExports'))[0].Properties.ServiceTimeout;
  };
  assert.equal(timeoutOf({}), '120');
  assert.equal(timeoutOf({ serviceTimeout: Duration.minutes(5) }), '300');
  for (const bad of [Duration.seconds(0), Duration.seconds(3601)]) {
    assert.throws(() => timeoutOf({ serviceTimeout: bad }), /serviceTimeout must be a whole number of seconds from 1 to 3600/);
  }
});

test('a stack without a concrete region uses the partition and region pseudo parameters', () => {
  const stack = new Stack(new App(), 'Anywhere');
  new RemoteExports(stack, 'Lookup', { centralAccount: '111111111111', exportPrefix: 'booking-' });
  const token = Template.fromStack(stack).findResources('Custom::RemoteExports');
  const serviceToken = JSON.stringify(Object.values(token)[0].Properties.ServiceToken);
  assert.match(serviceToken, /AWS::Partition/);
  assert.match(serviceToken, /AWS::Region/);
});

test('a key that was not requested fails synth with a suggestion', () => {
  const { lookup } = consumerStack();
  assert.throws(() => lookup.exportValue('cdk-booking-BookingTopicArm'), /not requested.*did you mean cdk-booking-BookingTopicArn\?/);
  assert.throws(() => lookup.stackOutput('cdk-booking-api', 'ApiUrI'), /did you mean cdk-booking-api.ApiUrl\?/);
  assert.throws(() => lookup.alias('Ap1'), /did you mean Api\?/);
  assert.equal(typeof lookup.stackOutput('cdk-booking-api', 'ApiUrl'), 'string');
});

test('parameters are read under their names or keys, and an unrequested one fails synth', () => {
  const stack = new Stack(new App(), 'Parameters', { env: { account: '123456789012', region: 'eu-west-1' } });
  const lookup = new RemoteExports(stack, 'Lookup', {
    centralAccount: '111111111111',
    roleArn: ROLE,
    parameters: ['/booking/prod/topic-arn', '/booking/prod/topic-arn:stable'],
    defaults: { '/booking/prod/topic-arn:stable': 'none' },
    noEcho: true,
  });
  Template.fromStack(stack).hasResourceProperties('Custom::RemoteExports', {
    Parameters: ['/booking/prod/topic-arn', '/booking/prod/topic-arn:stable'],
    NoEcho: 'true',
  });
  assert.equal(typeof lookup.parameter('/booking/prod/topic-arn'), 'string');
  assert.throws(() => lookup.parameter('/booking/prod/topic-ARN'), /did you mean \/booking\/prod\/topic-arn\?/);
  const keyed = new RemoteExports(stack, 'Keyed', { centralAccount: '111111111111', namedParameters: { Topic: '/booking/prod/topic-arn' } });
  assert.equal(typeof keyed.parameter('Topic'), 'string');
  const bad = (props) => () => new RemoteExports(stack, `P${Math.random()}`, { centralAccount: '111111111111', ...props });
  assert.throws(bad({ parameters: ['/a//b'] }), /parameters entry/);
  assert.throws(bad({ parameters: ['/a'], namedParameters: { A: '/a' } }), /not both/);
  assert.throws(bad({ namedParameters: { 'a/b': '/a' } }), /not a valid attribute name/);
  assert.throws(bad({ parameters: ['/a'], defaults: { '/b': 'x' } }), /defaults names \/b/);
});

test('the function rules apply at synth time', () => {
  const stack = new Stack(new App(), 'Bad');
  const bad = (props) => () => new RemoteExports(stack, `L${Math.random()}`, { centralAccount: '111111111111', ...props });
  assert.throws(bad({ roleArn: 'arn:aws:iam::2222:role/x' }), /roleArn/);
  assert.throws(bad({ exportNames: ['has space'] }), /exportNames entry/);
  assert.throws(bad({ stackOutputs: ['1stack.Key'] }), /not <StackName> or <StackName>.<OutputKey>/);
  assert.throws(bad({ exportNames: ['a-b'], defaults: { 'a-c': 'x' } }), /defaults names a-c, which is not requested.*did you mean a-b\?/);
  assert.throws(bad({ serviceToken: 'arn:aws:lambda:eu-west-1:1:function:f' }), /not both/);
  assert.throws(() => new RemoteExports(stack, 'None', {}), /not neither/);
});

test('the reader role has the statements of examples/publisher-role.yaml', () => {
  const app = new App();
  const stack = new Stack(app, 'Booking', { env: { account: '222222222222', region: 'eu-west-1' } });
  new RemoteExportsReaderRole(stack, 'Reader', {
    functionRoleArns: ['arn:aws:iam::111111111111:role/remote-exports-RemoteExportsRole-A'],
    auditRoleArn: 'arn:aws:iam::111111111111:role/remote-exports-AuditRole-B',
    allowedConsumerAccounts: ['123456789012'],
    readableStacks: ['booking-*'],
    readableParameters: ['/booking/prod'],
    parameterKmsKeyArns: ['arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::IAM::Role', {
    RoleName: 'remote-exports-reader',
    AssumeRolePolicyDocument: {
      Statement: [
        Match.objectLike({ Sid: 'FunctionReadsForAdmittedConsumers', Condition: { StringEquals: { 'sts:SourceIdentity': ['123456789012'] } } }),
        Match.objectLike({ Sid: 'FunctionNamesTheConsumer', Action: ['sts:SetSourceIdentity', 'sts:TagSession'] }),
        Match.objectLike({ Sid: 'AuditReadsOnNobodysBehalf', Action: 'sts:AssumeRole' }),
      ],
    },
    Policies: [
      Match.objectLike({ PolicyName: 'list-exports-only' }),
      { PolicyName: 'describe-readable-stacks', PolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Resource: ['arn:*:cloudformation:*:*:stack/booking-*/*'] })] }) },
      {
        PolicyName: 'read-readable-parameters',
        PolicyDocument: Match.objectLike({
          Statement: [
            Match.objectLike({ Action: ['ssm:GetParameters', 'ssm:GetParametersByPath'], Resource: ['arn:*:ssm:*:*:parameter/booking/prod/*'] }),
            Match.objectLike({ Action: 'ssm:GetParametersByPath', Resource: ['arn:*:ssm:*:*:parameter/booking/prod'] }),
          ],
        }),
      },
      {
        PolicyName: 'decrypt-readable-parameters',
        PolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Action: 'kms:Decrypt', Condition: { StringLike: { 'kms:ViaService': 'ssm.*', 'kms:EncryptionContext:PARAMETER_ARN': ['arn:*:ssm:*:*:parameter/booking/prod/*'] } } })] }),
      },
    ],
  });
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'booking-reader-role.template.json'), JSON.stringify(template.toJSON(), null, 2));
});

test("the reader role refuses what examples/publisher-role.yaml's patterns and rules refuse", () => {
  const stack = new Stack(new App(), 'Refused', { env: { account: '222222222222', region: 'eu-west-1' } });
  const reader = (props) => () =>
    new RemoteExportsReaderRole(stack, `R${Math.random()}`, { functionRoleArns: ['arn:aws:iam::111111111111:role/f'], ...props });
  // A stack-name pattern starts with the literal prefix it shares.
  for (const pattern of ['*', '*-*', '*-prod', '**a', '-booking', '1booking']) {
    assert.throws(reader({ readableStacks: [pattern] }), /readableStacks entry .* must start with the literal prefix/, pattern);
  }
  assert.doesNotThrow(reader({ readableStacks: ['booking-*', 'b*', 'Payments-*-prod'] }));
  // A parameter path has a literal character after its leading /, before any *.
  const consumers = { allowedConsumerAccounts: ['123456789012'] };
  for (const path of ['/*', '/*/x', '/*-prod', '/**', 'booking', '/', '/booking//prod']) {
    assert.throws(reader({ ...consumers, readableParameters: [path] }), /readableParameters entry .* literal prefix before any \*/, path);
  }
  assert.doesNotThrow(reader({ ...consumers, readableParameters: ['/booking/prod', '/team-*/shared', '/b*', '/booking/*/x'] }));
  // ParametersNeedConsumerAccounts: parameters only for the consumer accounts the publisher names.
  assert.throws(
    reader({ readableParameters: ['/booking/prod'] }),
    /readableParameters shares parameters, SecureStrings included: name the consumer accounts .* in allowedConsumerAccounts/,
  );
  assert.throws(reader({ readableParameters: ['/booking/prod'], allowedConsumerAccounts: [] }), /allowedConsumerAccounts/);
  assert.doesNotThrow(reader({ readableStacks: ['booking-*'] }));
});

test('cdk-nag (AwsSolutions) finds nothing unacknowledged in the publisher stack', () => {
  const app = new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'BookingNag', { env: { account: '222222222222', region: 'eu-west-1' } });
  new RemoteExportsReaderRole(stack, 'Reader', {
    functionRoleArns: ['arn:aws:iam::111111111111:role/remote-exports-RemoteExportsRole-A'],
    allowedConsumerAccounts: ['123456789012'],
    readableStacks: ['booking-*'],
    readableParameters: ['/booking/prod'],
  });
  app.synth();
  // The same statements without the construct's acknowledgement are findings: the check can fail.
  const bare = new App();
  Validations.of(bare).addPlugins(new AwsSolutionsChecks(bare));
  const other = new Stack(bare, 'Bare', { env: { account: '222222222222', region: 'eu-west-1' } });
  new iam.CfnRole(other, 'Role', {
    assumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/f' }, Action: 'sts:AssumeRole' }] },
    policies: [{ policyName: 'p', policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'cloudformation:ListExports', Resource: '*' }] } }],
  });
  assert.throws(() => bare.synth(), /Validation failed/);
});
