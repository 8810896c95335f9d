import { Aws, CfnParameter, Fn, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { bundledFunction } from './function-code';

/**
 * The statuses and operations after which a value may differ: template.yaml's ChangeCheckRule pattern and
 * examples/publisher-changes.yaml's, as the function's OUTPUT_CHANGING_STATUSES and PARAMETER_OPERATIONS.
 */
export const CHANGE_PATTERN = {
  $or: [
    {
      'source': ['aws.cloudformation'],
      'detail-type': ['CloudFormation Stack Status Change'],
      'detail': {
        'status-details': {
          status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'DELETE_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE'],
        },
      },
    },
    {
      'source': ['aws.ssm'],
      'detail-type': ['Parameter Store Change'],
      'detail': { operation: ['Create', 'Update', 'Delete', 'LabelParameterVersion'] },
    },
  ],
};

const document = (statement: unknown[]) => ({ Version: '2012-10-17', Statement: statement });
const EVENT_BUS_ARN = /^arn:[a-z-]+:events:[a-z0-9-]+:[0-9]{12}:event-bus\/[A-Za-z0-9._-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

/** The parameters of `examples/publisher-changes.yaml`, as props. */
export interface RemoteExportsChangeForwardingProps {
  /** The central change bus (`ChangeEventBusArn` of the central stack, or `RemoteExportsService.changeEventBusArn`), in this region. */
  readonly changeEventBusArn: string;
}

/**
 * The publisher's side of change events: this account's stack status changes and parameter changes
 * that may change what its readers hold, forwarded to the central change bus. The same resources as
 * `examples/publisher-changes.yaml`.
 */
export class RemoteExportsChangeForwarding extends Construct {
  /** The forwarding rule. */
  public readonly rule: events.CfnRule;

  constructor(scope: Construct, id: string, props: RemoteExportsChangeForwardingProps) {
    super(scope, id);
    const bus = props.changeEventBusArn;
    if (!Token.isUnresolved(bus) && !EVENT_BUS_ARN.test(bus)) {
      throw new Error(`changeEventBusArn '${bus}' is not an event bus ARN (${EVENT_BUS_ARN.source})`);
    }
    const role = new iam.CfnRole(this, 'ForwardingRole', {
      description: 'EventBridge forwards this account\'s changes to the remote-exports change bus.',
      assumeRolePolicyDocument: document([
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        },
      ]),
      policies: [{ policyName: 'put-on-the-change-bus', policyDocument: document([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus }]) }],
    });
    role.overrideLogicalId('ForwardingRole');
    this.rule = new events.CfnRule(this, 'ForwardChanges', {
      description: 'This account\'s changes that may change what remote-exports readers hold, to the central bus.',
      eventPattern: CHANGE_PATTERN,
      state: 'ENABLED',
      targets: [{ id: 'remote-exports-change-bus', arn: bus, roleArn: role.attrArn }],
    });
    this.rule.overrideLogicalId('ForwardChanges');
  }
}

/** The parameters of `examples/consumer-refresher.yaml`, as props. */
export interface RemoteExportsRefresherProps {
  /**
   * The central stack's route role (`AuditRouteRoleArn` output, or `RemoteExportsService.auditRouteRoleArn`;
   * list this account in its `auditEventAccountIds`): the only principal this account's default bus admits
   * for remote-exports events. Its account is the central account whose events are taken.
   */
  readonly auditRouteRoleArn: string;
  /**
   * The function's code.
   * @default - the arm64 zip this package carries
   */
  readonly code?: lambda.Code;
  /**
   * An AWS Signer code-signing configuration for the function.
   * @default - none
   */
  readonly codeSigningConfigArn?: string;
}

/**
 * The consumer's side of live references: after the central account's stale-read event about one of
 * this account's stacks, a stack tagged `remote-exports:refresh` gets a change set (or, with `update`,
 * an update under its own role) of its previous template with only its refresh parameter changed. The
 * same resources as `examples/consumer-refresher.yaml`; a stack opts in with
 * `RemoteExports`' `refreshMode`.
 */
export class RemoteExportsRefresher extends Construct {
  /** The refresher function. */
  public readonly function: lambda.CfnFunction;

  constructor(scope: Construct, id: string, props: RemoteExportsRefresherProps) {
    super(scope, id);
    const routeRole = props.auditRouteRoleArn;
    if (!Token.isUnresolved(routeRole) && !ROLE_ARN.test(routeRole)) {
      throw new Error(`auditRouteRoleArn '${routeRole}' is not a role ARN (${ROLE_ARN.source})`);
    }
    // As the template reads it: the fifth field of the role's ARN.
    const centralAccount = Fn.select(4, Fn.split(':', routeRole));
    const named = <T extends { overrideLogicalId(id: string): void }>(resource: T, logicalId: string): T => {
      resource.overrideLogicalId(logicalId);
      return resource;
    };
    const ownStacks = Fn.sub('arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*');
    const role = named(
      new iam.CfnRole(this, 'RefresherRole', {
        description: 'The remote-exports refresher changes only stacks that opted in, never passing a role.',
        assumeRolePolicyDocument: document([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
        managedPolicyArns: [Fn.sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole')],
        policies: [
          {
            policyName: 'refresh-opted-in-stacks',
            policyDocument: document([
              { Sid: 'DescribeOwnStacks', Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: ownStacks },
              {
                Sid: 'ProposeOnOptedInStacks',
                Effect: 'Allow',
                Action: 'cloudformation:CreateChangeSet',
                Resource: ownStacks,
                Condition: { StringEquals: { 'aws:ResourceTag/remote-exports:refresh': ['change-set', 'update'] } },
              },
              {
                Sid: 'UpdateStacksThatAskedForIt',
                Effect: 'Allow',
                Action: 'cloudformation:UpdateStack',
                Resource: ownStacks,
                Condition: { StringEquals: { 'aws:ResourceTag/remote-exports:refresh': 'update' } },
              },
              {
                Sid: 'NeverPassARole',
                Effect: 'Deny',
                Action: ['cloudformation:CreateChangeSet', 'cloudformation:UpdateStack'],
                Resource: '*',
                Condition: { Null: { 'cloudformation:RoleArn': 'false' } },
              },
            ]),
          },
        ],
      }),
      'RefresherRole',
    );
    // cdk-nag (AwsSolutions) findings, acknowledged with why they do not apply.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The refresher writes its own logs through the AWS managed basic execution policy, as examples/consumer-refresher.yaml does.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/*]',
      reason:
        "Which of this account's stacks an event concerns is known only at run time: DescribeStacks reads any of them, CreateChangeSet only those tagged remote-exports:refresh, UpdateStack only those tagged update, and a role can never be passed.",
    });
    const functionCode = props.code ?? bundledFunction();
    const bootstrap = functionCode.bind(this);
    if (bootstrap.s3Location === undefined) {
      throw new Error('code must be an asset or an S3 object holding the bootstrap (not inline code or an image)');
    }
    this.function = named(
      new lambda.CfnFunction(this, 'RefresherFunction', {
        description: 'remote-exports refresher (FUNCTION_MODE=refresher); started only by its rule.',
        runtime: 'provided.al2023',
        architectures: ['arm64'],
        handler: 'bootstrap',
        memorySize: 128,
        timeout: 30,
        role: role.attrArn,
        code: {
          s3Bucket: bootstrap.s3Location.bucketName,
          s3Key: bootstrap.s3Location.objectKey,
          s3ObjectVersion: bootstrap.s3Location.objectVersion,
        },
        codeSigningConfigArn: props.codeSigningConfigArn,
        loggingConfig: { logFormat: 'JSON' },
        environment: {
          variables: { FUNCTION_MODE: 'refresher', FUNCTION_ACCOUNT_ID: Aws.ACCOUNT_ID, CENTRAL_ACCOUNT_ID: centralAccount },
        },
      }),
      'RefresherFunction',
    );
    functionCode.bindToResource(this.function, { resourceProperty: 'Code' });
    named(
      new lambda.CfnEventInvokeConfig(this, 'RefreshRetries', {
        functionName: this.function.ref,
        qualifier: '$LATEST',
        maximumRetryAttempts: 2,
        maximumEventAgeInSeconds: 3600,
      }),
      'RefreshRetries',
    );
    named(
      new events.CfnEventBusPolicy(this, 'DefaultBusTakesTheCentralAccountsEvents', {
        eventBusName: 'default',
        statementId: 'RemoteExportsCentralAccount',
        statement: {
          Effect: 'Allow',
          Principal: { AWS: routeRole },
          Action: 'events:PutEvents',
          Resource: Fn.sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
          Condition: { StringEquals: { 'events:source': 'remote-exports' } },
        },
      }),
      'DefaultBusTakesTheCentralAccountsEvents',
    );
    const rule = named(
      new events.CfnRule(this, 'RefreshRule', {
        description: "The central account's stale-read events about this account's stacks, to the refresher.",
        eventPattern: {
          'source': ['remote-exports'],
          'account': [centralAccount],
          'detail-type': ['Remote export changed', 'Remote export removed', 'Remote export appeared'],
          'detail': { consumer_account: [Aws.ACCOUNT_ID] },
        },
        state: 'ENABLED',
        targets: [{ id: 'remote-exports-refresher', arn: this.function.attrArn }],
      }),
      'RefreshRule',
    );
    named(
      new lambda.CfnPermission(this, 'RefreshPermission', {
        action: 'lambda:InvokeFunction',
        functionName: this.function.attrArn,
        principal: 'events.amazonaws.com',
        sourceArn: rule.attrArn,
      }),
      'RefreshPermission',
    );
  }
}

/** How a consumer stack that opted in is refreshed after a stale read (the stack tag `remote-exports:refresh`). */
export enum RefreshMode {
  /** A change set of the previous template with only the refresh parameter changed, for review. */
  CHANGE_SET = 'change-set',
  /** The refresher updates the stack itself, from a stable state, under the stack's own service role. */
  UPDATE = 'update',
}

/** The template parameter the refresher changes, which `RemoteExports` with `refreshMode` takes as `Refresh`. */
export const REFRESH_PARAMETER = 'RemoteExportsRefresh';

/** The stack's refresh parameter (created once per stack), tagging the stack with `mode`. */
export function refreshParameter(scope: Construct, mode: RefreshMode): CfnParameter {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(REFRESH_PARAMETER);
  const parameter =
    existing instanceof CfnParameter
      ? existing
      : new CfnParameter(stack, REFRESH_PARAMETER, {
          type: 'String',
          default: '0',
          description: 'Changed by the remote-exports refresher (or by hand) to read remote values again.',
        });
  parameter.overrideLogicalId(REFRESH_PARAMETER);
  const current = stack.tags.tagValues()['remote-exports:refresh'];
  if (current !== undefined && current !== mode) {
    throw new Error(`refreshMode ${mode} conflicts with ${current}, set by another RemoteExports of this stack`);
  }
  stack.tags.setTag('remote-exports:refresh', mode);
  return parameter;
}
