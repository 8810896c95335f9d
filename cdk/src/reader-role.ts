import { Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { checkAccount, checkExternalId, checkRoleArn } from './validation';

/** The parameters of `examples/publisher-role.yaml`, as props. */
export interface RemoteExportsReaderRoleProps {
  /** The function's role in each region it runs in (the central stack's `FunctionRoleArn` output). */
  readonly functionRoleArns: string[];
  /**
   * The audit function's role (`AuditRoleArn` output), trusted without ExternalId: it reads on nobody's behalf.
   * @default - the audit is not trusted
   */
  readonly auditRoleArn?: string;
  /**
   * Shared secret consumers must pass as `ExternalId`.
   * @default - none
   */
  readonly externalId?: string;
  /**
   * Consumer accounts that may read through this role, checked by STS on the `SourceIdentity` (and the
   * `ConsumerAccount` session tag) the function sets, on every read, also before the function's shared
   * snapshot serves a value. Required with `readableParameters`.
   * @default - every consumer the function's own policy admits (refused with `readableParameters`)
   */
  readonly allowedConsumerAccounts?: string[];
  /**
   * Must match the function's AllowedRoleArns.
   * @default 'remote-exports-reader'
   */
  readonly roleName?: string;
  /**
   * Stack-name patterns (`*` allowed after a literal prefix, e.g. `booking-*`) whose outputs consumers may
   * read through `StackOutputs`. Each starts with a letter, as stack names do: `*`, `*-*` or `*-prod` are refused.
   * @default - no DescribeStacks at all
   */
  readonly readableStacks?: string[];
  /**
   * SSM parameter paths (`/booking/prod`; `*` allowed after a literal prefix, e.g. `/team-*` followed by
   * `/shared`) whose parameters consumers may read through `Parameters`: everything under each path. A
   * literal character follows the leading `/`: `/*` or `/*-prod`, and any path whose first level starts
   * with `*`, are refused. Needs `allowedConsumerAccounts` (parameters may hold secrets: never for every
   * consumer).
   * @default - no parameter at all
   */
  readonly readableParameters?: string[];
  /**
   * Customer managed KMS keys of SecureStrings under `readableParameters`, used only through SSM.
   * @default - none (SecureStrings under the AWS managed aws/ssm key need none)
   */
  readonly parameterKmsKeyArns?: string[];
}

/**
 * The publisher's side: the role remote-exports assumes to list this account's exports and, for the
 * readable stacks, describe their outputs; nothing else. The same statements as
 * `examples/publisher-role.yaml`.
 */
export class RemoteExportsReaderRole extends Construct {
  /** The role's ARN: the consumers' `roleArn`. */
  public readonly roleArn: string;
  /** The underlying role. */
  public readonly cfnRole: iam.CfnRole;

  constructor(scope: Construct, id: string, props: RemoteExportsReaderRoleProps) {
    super(scope, id);
    if (props.functionRoleArns.length === 0) {
      throw new Error('functionRoleArns needs at least one role');
    }
    props.functionRoleArns.forEach((arn) => checkRoleArn(arn));
    checkRoleArn(props.auditRoleArn);
    checkExternalId(props.externalId);
    const consumers = props.allowedConsumerAccounts ?? [];
    consumers.forEach((account) => checkAccount(account, 'allowedConsumerAccounts entry'));
    const stacks = props.readableStacks ?? [];
    for (const pattern of stacks) {
      if (!Token.isUnresolved(pattern) && !/^[A-Za-z][A-Za-z0-9*-]*$/.test(pattern)) {
        throw new Error(
          `readableStacks entry '${pattern}' must start with the literal prefix it shares (a stack name starts with a letter; * allowed after it, e.g. booking-*): *, *-* or *-prod would grant DescribeStacks on stacks of any name`,
        );
      }
    }

    const readableParameters = props.readableParameters ?? [];
    for (const pattern of readableParameters) {
      if (!Token.isUnresolved(pattern) && !/^\/[A-Za-z0-9_.-][A-Za-z0-9_.*-]*(\/[A-Za-z0-9_.*-]+)*$/.test(pattern)) {
        throw new Error(
          `readableParameters entry '${pattern}' is not a path such as /booking/prod with a literal prefix before any *: /*, /*/shared or /*-prod would share parameters under paths of any name`,
        );
      }
    }
    // examples/publisher-role.yaml's rule ParametersNeedConsumerAccounts: parameters may hold secrets (a
    // NoEcho resource reads SecureStrings), never for every account the function serves.
    if (readableParameters.length > 0 && consumers.length === 0) {
      throw new Error(
        'readableParameters shares parameters, SecureStrings included: name the consumer accounts that may read them in allowedConsumerAccounts',
      );
    }
    const keys = props.parameterKmsKeyArns ?? [];
    const principal = { AWS: props.functionRoleArns };
    const trustConditions: { [key: string]: unknown } = {};
    if (props.externalId !== undefined) {
      trustConditions['sts:ExternalId'] = props.externalId;
    }
    if (consumers.length > 0) {
      trustConditions['sts:SourceIdentity'] = consumers;
    }
    const statements: unknown[] = [
      {
        Sid: 'FunctionReadsForAdmittedConsumers',
        Effect: 'Allow',
        Principal: principal,
        Action: 'sts:AssumeRole',
        ...(Object.keys(trustConditions).length > 0 ? { Condition: { StringEquals: trustConditions } } : {}),
      },
      {
        Sid: 'FunctionNamesTheConsumer',
        Effect: 'Allow',
        Principal: principal,
        Action: ['sts:SetSourceIdentity', 'sts:TagSession'],
        Condition: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['ConsumerAccount', 'ConsumerStack'] },
          ...(consumers.length > 0
            ? { StringEquals: { 'sts:SourceIdentity': consumers, 'aws:RequestTag/ConsumerAccount': consumers } }
            : {}),
        },
      },
    ];
    if (props.auditRoleArn !== undefined) {
      statements.push({ Sid: 'AuditReadsOnNobodysBehalf', Effect: 'Allow', Principal: { AWS: props.auditRoleArn }, Action: 'sts:AssumeRole' });
    }
    const policies: iam.CfnRole.PolicyProperty[] = [
      {
        policyName: 'list-exports-only',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'cloudformation:ListExports', Resource: '*' }],
        },
      },
    ];
    if (stacks.length > 0) {
      policies.push({
        policyName: 'describe-readable-stacks',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'cloudformation:DescribeStacks',
              Resource: stacks.map((pattern) => `arn:*:cloudformation:*:*:stack/${pattern}/*`),
            },
          ],
        },
      });
    }
    if (readableParameters.length > 0) {
      const arns = readableParameters.map((path) => `arn:*:ssm:*:*:parameter${path}/*`);
      const paths = readableParameters.map((path) => `arn:*:ssm:*:*:parameter${path}`);
      policies.push({
        policyName: 'read-readable-parameters',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ParametersUnderThePaths', Effect: 'Allow', Action: ['ssm:GetParameters', 'ssm:GetParametersByPath'], Resource: arns },
            { Sid: 'NamesUnderThePaths', Effect: 'Allow', Action: 'ssm:GetParametersByPath', Resource: paths },
          ],
        },
      });
      if (keys.length > 0) {
        policies.push({
          policyName: 'decrypt-readable-parameters',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: keys,
                Condition: { StringLike: { 'kms:ViaService': 'ssm.*', 'kms:EncryptionContext:PARAMETER_ARN': arns } },
              },
            ],
          },
        });
      }
    }
    this.cfnRole = new iam.CfnRole(this, 'Resource', {
      roleName: props.roleName ?? 'remote-exports-reader',
      description: 'Assumed by remote-exports to read this account\'s CloudFormation exports.',
      maxSessionDuration: 3600,
      assumeRolePolicyDocument: { Version: '2012-10-17', Statement: statements },
      policies,
    });
    this.roleArn = this.cfnRole.attrArn;
    // Findings of policy-validation plugins such as cdk-nag (AwsSolutions), acknowledged one by one
    // with why they do not apply, through CDK's own Validations API (no dependency on cdk-nag).
    const acknowledge = (finding: string, reason: string) =>
      Validations.of(this.cfnRole).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    acknowledge('Resource::*', 'cloudformation:ListExports supports no resource-level permission: its Resource can only be "*".');
    for (const path of readableParameters) {
      acknowledge(
        `Resource::arn:*:ssm:*:*:parameter${path}/*`,
        `GetParameters on the parameters under the path the publisher chose to share (${path}; a path that starts with * is refused), in any region, and those shared with this account through AWS RAM under it.`,
      );
      acknowledge(
        `Resource::arn:*:ssm:*:*:parameter${path}`,
        `GetParametersByPath on the shared path itself (${path}), in any region: IAM authorizes it on the path asked for, and it returns no more than the statement above allows.`,
      );
    }
    for (const pattern of stacks) {
      acknowledge(
        `Resource::arn:*:cloudformation:*:*:stack/${pattern}/*`,
        `DescribeStacks on the stacks the publisher chose to share (${pattern}; a pattern that starts with * is refused), in any region, as the function reads every region.`,
      );
    }
  }
}
