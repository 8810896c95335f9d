import { Aws, CfnDeletionPolicy, CfnOutput, CfnResource, Duration, Fn, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundledFunction } from './function-code';
import { CHANGE_PATTERN } from './live';
import { checkAccount } from './validation';

/** Where the function may send its answers (template.yaml's `ResponseUrlBinding`). */
export enum ResponseUrlBinding {
  /** Only CloudFormation's response bucket for the stack's region, at the key that names the request. */
  REQUEST = 'request',
  /** Any S3 bucket of the region's partition: an escape hatch, refused while other accounts may invoke. */
  HOST_ONLY = 'host-only',
}

/**
 * The choices of `template.yaml`'s parameters, as props. Each prop names the parameter it mirrors; the
 * manual's "Deploying" chapter describes them.
 */
export interface RemoteExportsServiceProps {
  /**
   * The function's code. By default the arm64 zip this package carries (`assets/remote-exports-arm64.zip`,
   * the release's `remote-exports-<version>-arm64.zip`, whose SHA-256 is in the release's `SHA256SUMS`), so
   * no Rust toolchain is needed. Pass your own build to override it, for example
   * `lambda.Code.fromAsset('target/lambda/remote-exports-lambda')` after
   * `cargo lambda build --release --arm64 --bin remote-exports-lambda`.
   * @default - the zip this package carries
   */
  readonly code?: lambda.Code;
  /** FunctionName. @default 'remote-exports' */
  readonly functionName?: string;
  /** AllowedRoleArns: role ARN patterns the function may assume. @default ['arn:aws:iam::*:role/remote-exports-reader'] */
  readonly allowedRoleArns?: string[];
  /** DefaultRoleArn. @default - a resource without RoleArn reads the function's own account */
  readonly defaultRoleArn?: string;
  /** AllowedExports: export-name patterns. @default - every export the publisher role lists */
  readonly allowedExports?: string[];
  /** AllowedStackOutputs: `<StackName>.<OutputKey>` patterns. @default - every output the publisher role may describe */
  readonly allowedStackOutputs?: string[];
  /** AllowedParameters: SSM parameter name patterns. @default - every parameter the publisher role may read */
  readonly allowedParameters?: string[];
  /** ConsumerPolicyParameter: the SSM parameter holding the per-consumer-account policy. @default - none */
  readonly consumerPolicyParameter?: string;
  /** ConsumerPolicyKmsKeyArn. @default - a SecureString policy uses this account's aws/ssm key */
  readonly consumerPolicyKmsKeyArn?: string;
  /** ConsumerPolicyTtlSeconds. @default Duration.seconds(300) */
  readonly consumerPolicyTtl?: Duration;
  /** ResponseUrlBinding. @default ResponseUrlBinding.REQUEST */
  readonly responseUrlBinding?: ResponseUrlBinding;
  /** OrganizationId: every account of this Organization may use the function. @default - none */
  readonly organizationId?: string;
  /** ConsumerAccountIds: accounts whose stacks may use the function, one permission each. @default - none */
  readonly consumerAccountIds?: string[];
  /** ReadsRegistry: create the read registry. @default false */
  readonly readsRegistry?: boolean;
  /** ReadsTableArn: the home region's registry, for the deployments of other regions. @default - none */
  readonly readsTableArn?: string;
  /** AuditSchedule: the stale-read audit's schedule. @default - no audit */
  readonly auditSchedule?: events.Schedule;
  /**
   * AuditEventAccountIds: accounts that receive, on their default event bus in this region, the audit's
   * events about their own stacks (as consumers) and their own exports, outputs and parameters (as
   * publishers), and no other account's: one rule each on the audit bus (AuditRoute0, AuditRoute1, …), put
   * there through one role (AuditRouteRole). Each account's default bus must allow events:PutEvents from
   * this account. No other account may put rules on the audit bus. Needs `auditSchedule`.
   * @default - the audit's events stay on its own bus
   */
  readonly auditEventAccountIds?: string[];
  /**
   * ChangeEvents: check a publisher's change at once. A bus of its own (ChangeEventBus, output
   * ChangeEventBusArn) takes the stack status and parameter changes that the Organization's publisher
   * accounts forward (examples/publisher-changes.yaml), and ChangeCheckFunction checks only that source's
   * readers, putting the audit's events within seconds. Needs `auditSchedule` (daily is enough) and
   * `organizationId`.
   * @default false
   */
  readonly changeEvents?: boolean;
  /** ChangeCheckWindowSeconds: the least time between two checks of one stack or parameter. @default Duration.seconds(10) */
  readonly changeCheckWindow?: Duration;
  /** ChangeCheckConcurrency: ChangeCheckFunction's reserved concurrency; 0 reserves none. @default 1 */
  readonly changeCheckConcurrency?: number;
  /** ExportsSnapshot: the shared snapshot table. @default false */
  readonly exportsSnapshot?: boolean;
  /** ExportsSnapshotTtlSeconds. @default Duration.seconds(30) */
  readonly exportsSnapshotTtl?: Duration;
  /** ReservedConcurrency. @default - none reserved */
  readonly reservedConcurrency?: number;
  /** UseFipsEndpoint. @default false */
  readonly useFipsEndpoint?: boolean;
  /** LogRetentionInDays. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** MetricsNamespace. @default 'RemoteExports' */
  readonly metricsNamespace?: string;
  /** MetricsPerConsumerAccount. @default false */
  readonly metricsPerConsumerAccount?: boolean;
  /** AlarmTopicArn: an SNS topic for the alarms. @default - no alarms */
  readonly alarmTopicArn?: string;
  /** FailedAnswersAlarmPercent. @default 20 */
  readonly failedAnswersAlarmPercent?: number;
  /** Dashboard. @default false */
  readonly dashboard?: boolean;
}

const FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/;
const DEFAULT_ROLE = /^arn:[a-z-]+:iam::[0-9]{12}:role\/.+$/;
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const ROLE_PATTERN = /^arn:[a-z-]+:iam::[0-9*]{1,12}:role\/[^,]+$/;
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;
const POLICY_PARAMETER = /^\/[a-zA-Z0-9_.\-/]{1,1010}$/;
const KMS_KEY = /^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-zA-Z0-9-]+$/;
const TABLE_ARN = /^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table\/[a-zA-Z0-9_.-]{3,255}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$/;
const STACK_OUTPUT_PATTERNS = /^[A-Za-z0-9.*-]+$/;
const PARAMETER_PATTERNS = /^[A-Za-z0-9_.*/:-]+$/;
const METRICS_NAMESPACE = /^[A-Za-z0-9._/#:-]{1,255}$/;

function checked(value: string | undefined, pattern: RegExp, what: string): void {
  if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) {
    throw new Error(`${what} '${value}' is not valid (${pattern.source})`);
  }
}

function inRange(value: number, low: number, high: number, what: string): number {
  if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < low || value > high)) {
    throw new Error(`${what} must be a whole number from ${low} to ${high}, not ${value}`);
  }
  return value;
}

const document = (statement: unknown[]) => ({ Version: '2012-10-17', Statement: statement });
const lambdaTrust = document([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);

/**
 * The platform side: the central custom-resource function and everything `template.yaml` creates for the
 * same choices: its role, log group, invoke permissions, and (as chosen) the read registry, the export
 * guards' registry role, the snapshot table, the audit (function, role, schedule, event bus, the routes of
 * its events to listed accounts), the alarms and the dashboard. Resources keep `template.yaml`'s logical IDs, and a test compares the synthesized
 * template with the SAM template's so that the two cannot drift. One per stack.
 */
export class RemoteExportsService extends Construct {
  /** The consumers' `ServiceToken` (output ServiceToken). */
  public readonly serviceToken: string;
  /** The function's role; publisher roles trust it (output FunctionRoleArn). */
  public readonly functionRoleArn: string;
  /** The function. */
  public readonly function: lambda.CfnFunction;
  /** The audit function's role, with `auditSchedule` (output AuditRoleArn). */
  public readonly auditRoleArn?: string;
  /** The audit's event bus, with `auditSchedule` (output AuditEventBusArn). */
  public readonly auditEventBusArn?: string;
  /** The role the audit's routes put events with, with `auditEventAccountIds` (output AuditRouteRoleArn): a refresher's `auditRouteRoleArn`. */
  public readonly auditRouteRoleArn?: string;
  /** The bus publisher accounts forward their changes to, with `changeEvents` (output ChangeEventBusArn). */
  public readonly changeEventBusArn?: string;
  /** The read registry's ARN, with `readsRegistry` (output ReadsTableArn). */
  public readonly readsTableArn?: string;
  /** The role export guards read the registry through, with `readsRegistry` and `organizationId`. */
  public readonly guardRegistryRoleArn?: string;

  constructor(scope: Construct, id: string, props: RemoteExportsServiceProps) {
    super(scope, id);
    const functionName = props.functionName ?? 'remote-exports';
    const allowedRoleArns = props.allowedRoleArns ?? ['arn:aws:iam::*:role/remote-exports-reader'];
    const consumers = props.consumerAccountIds ?? [];
    const routed = props.auditEventAccountIds ?? [];
    const binding = props.responseUrlBinding ?? ResponseUrlBinding.REQUEST;
    const namespace = props.metricsNamespace ?? 'RemoteExports';
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const registry = props.readsRegistry ?? false;
    const audit = props.auditSchedule;
    const organization = props.organizationId;
    const hasPolicy = props.consumerPolicyParameter !== undefined;
    const snapshot = props.exportsSnapshot ?? false;
    const alarms = props.alarmTopicArn;
    const changes = props.changeEvents ?? false;

    // template.yaml's AllowedPatterns and Rules, at synth time.
    checked(functionName, FUNCTION_NAME, 'functionName');
    if (allowedRoleArns.length === 0) {
      throw new Error('allowedRoleArns needs at least one role ARN pattern');
    }
    allowedRoleArns.forEach((arn) => checked(arn, ROLE_PATTERN, 'allowedRoleArns entry'));
    checked(props.defaultRoleArn, DEFAULT_ROLE, 'defaultRoleArn');
    for (const [what, list] of [
      ['allowedExports', props.allowedExports],
      ['allowedStackOutputs', props.allowedStackOutputs],
      ['allowedParameters', props.allowedParameters],
      ['consumerAccountIds', props.consumerAccountIds],
      ['auditEventAccountIds', props.auditEventAccountIds],
    ] as const) {
      if (list !== undefined && !Token.isUnresolved(list) && (list.length === 0 || list.some((e) => !Token.isUnresolved(e) && (e.trim() === '' || e.includes(','))))) {
        throw new Error(`${what} must hold at least one entry, none empty or with a comma (leave it out for template.yaml's empty value)`);
      }
    }
    if (!Object.values(ResponseUrlBinding).includes(binding)) {
      throw new Error(`responseUrlBinding '${binding}' is not one of ${Object.values(ResponseUrlBinding).join(', ')}`);
    }
    if (!LOG_RETENTION_DAYS.includes(retention)) {
      throw new Error(`logRetention ${retention} days is not one of template.yaml's LogRetentionInDays values (${LOG_RETENTION_DAYS.join(', ')})`);
    }
    if (audit !== undefined && !Token.isUnresolved(audit.expressionString) && !/^(rate|cron)\(.+\)$/.test(audit.expressionString)) {
      throw new Error(`auditSchedule '${audit.expressionString}' is not a rate(...) or cron(...) expression`);
    }
    checked(organization, ORGANIZATION, 'organizationId');
    consumers.forEach((account) => checkAccount(account, 'consumerAccountIds entry'));
    routed.forEach((account) => checkAccount(account, 'auditEventAccountIds entry'));
    checked(props.consumerPolicyParameter, POLICY_PARAMETER, 'consumerPolicyParameter');
    checked(props.consumerPolicyKmsKeyArn, KMS_KEY, 'consumerPolicyKmsKeyArn');
    checked(props.readsTableArn, TABLE_ARN, 'readsTableArn');
    checked(alarms, TOPIC_ARN, 'alarmTopicArn');
    checked(namespace, METRICS_NAMESPACE, 'metricsNamespace');
    (props.allowedStackOutputs ?? []).forEach((pattern) => checked(pattern, STACK_OUTPUT_PATTERNS, 'allowedStackOutputs entry'));
    (props.allowedParameters ?? []).forEach((pattern) => checked(pattern, PARAMETER_PATTERNS, 'allowedParameters entry'));
    const policyTtl = inRange((props.consumerPolicyTtl ?? Duration.seconds(300)).toSeconds(), 0, 86400, 'consumerPolicyTtl (seconds)');
    const snapshotTtl = inRange((props.exportsSnapshotTtl ?? Duration.seconds(30)).toSeconds(), 1, 3600, 'exportsSnapshotTtl (seconds)');
    const failedPercent = inRange(props.failedAnswersAlarmPercent ?? 20, 1, 100, 'failedAnswersAlarmPercent');
    if (props.reservedConcurrency !== undefined) {
      inRange(props.reservedConcurrency, 0, 1_000_000, 'reservedConcurrency');
    }
    if (audit !== undefined && !registry) {
      throw new Error('auditSchedule audits the read registry, so it needs readsRegistry: true');
    }
    const changeWindow = inRange((props.changeCheckWindow ?? Duration.seconds(10)).toSeconds(), 0, 60, 'changeCheckWindow (seconds)');
    const changeConcurrency = inRange(props.changeCheckConcurrency ?? 1, 0, 1_000_000, 'changeCheckConcurrency');
    if (changes && audit === undefined) {
      throw new Error("changeEvents puts the audit's events on the audit's bus and keeps the audit as its safety net, so it needs auditSchedule (rate(1 day) is enough)");
    }
    if (changes && organization === undefined) {
      throw new Error("changeEvents lets the Organization's accounts forward their changes, so it needs organizationId");
    }
    if (props.auditEventAccountIds !== undefined && audit === undefined) {
      throw new Error("auditEventAccountIds routes the audit's events, so it needs auditSchedule");
    }
    if (props.readsTableArn !== undefined && (registry || audit !== undefined)) {
      throw new Error(
        "readsTableArn uses the home region's registry: leave readsRegistry and auditSchedule unset where it is given (the home region's deployment owns the table and runs the one audit)",
      );
    }
    if (binding === ResponseUrlBinding.HOST_ONLY && (organization !== undefined || consumers.length > 0)) {
      throw new Error(
        'responseUrlBinding host-only lets whoever invokes the function choose where answers go; it is refused while organizationId or consumerAccountIds lets other accounts invoke it',
      );
    }

    const stack = Stack.of(this);
    const named = <T extends CfnResource>(resource: T, logicalId: string): T => {
      resource.overrideLogicalId(logicalId);
      return resource;
    };
    const removal = (resource: CfnResource, policy: CfnDeletionPolicy) => {
      resource.cfnOptions.deletionPolicy = policy;
      resource.cfnOptions.updateReplacePolicy = policy;
    };
    const onlyInOrganization = organization !== undefined ? { Condition: { StringEquals: { 'aws:ResourceOrgID': organization } } } : {};

    const logGroup = named(
      new logs.CfnLogGroup(this, 'LogGroup', { logGroupName: Fn.sub('/aws/lambda/${AWS::StackName}'), retentionInDays: retention }),
      'RemoteExportsLogGroup',
    );
    removal(logGroup, CfnDeletionPolicy.DELETE);

    // The registry: created here, or the home region's (readsTableArn).
    let readsTable: dynamodb.CfnTable | undefined;
    if (registry) {
      readsTable = named(
        new dynamodb.CfnTable(this, 'ReadsTable', {
          billingMode: 'PAY_PER_REQUEST',
          attributeDefinitions: [
            { attributeName: 'Reader', attributeType: 'S' },
            { attributeName: 'SourceAccount', attributeType: 'S' },
            { attributeName: 'SourceRegion', attributeType: 'S' },
          ],
          keySchema: [{ attributeName: 'Reader', keyType: 'HASH' }],
          globalSecondaryIndexes: [
            {
              indexName: 'BySource',
              keySchema: [
                { attributeName: 'SourceAccount', keyType: 'HASH' },
                { attributeName: 'SourceRegion', keyType: 'RANGE' },
              ],
              projection: { projectionType: 'ALL' },
            },
          ],
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          sseSpecification: { sseEnabled: true },
        }),
        'ReadsTable',
      );
      // The only record of cross-account readers: kept when the stack goes.
      removal(readsTable, CfnDeletionPolicy.RETAIN);
    }
    const registryArn = props.readsTableArn ?? readsTable?.attrArn;

    const policies: iam.CfnRole.PolicyProperty[] = [
      {
        policyName: 'assume-publisher-roles',
        policyDocument: document([
          { Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'], Resource: allowedRoleArns, ...onlyInOrganization },
        ]),
      },
      {
        policyName: 'write-own-logs',
        policyDocument: document([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroup.attrArn }]),
      },
    ];
    if (hasPolicy) {
      const parameterArn = Fn.sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Parameter}', {
        Parameter: props.consumerPolicyParameter!,
      });
      policies.push({
        policyName: 'read-consumer-policy',
        policyDocument: document([
          { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn },
          // A SecureString: decrypt only through SSM and only this parameter (its ARN is the encryption context).
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: props.consumerPolicyKmsKeyArn ?? Fn.sub('arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*'),
            Condition: {
              StringEquals: {
                'kms:ViaService': Fn.sub('ssm.${AWS::Region}.${AWS::URLSuffix}'),
                'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
              },
            },
          },
        ]),
      });
    }
    if (registryArn !== undefined) {
      policies.push({
        policyName: 'reads-registry',
        policyDocument: document([{ Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: registryArn }]),
      });
    }
    // By name: the table's own policy names this role, so a reference would be a cycle.
    const snapshotTableArn = Fn.sub('arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-exports-snapshot-v3');
    if (snapshot) {
      policies.push({
        policyName: 'exports-snapshot',
        policyDocument: document([
          { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: snapshotTableArn },
        ]),
      });
    }
    const role = named(
      new iam.CfnRole(this, 'Role', {
        description:
          'remote-exports custom-resource function role; assumes only the allowed publisher roles, logs, reads the consumer policy parameter, writes and deletes read-registry items and uses the export snapshot, each only when set. It cannot scan the registry or put events.',
        assumeRolePolicyDocument: lambdaTrust,
        policies,
      }),
      'RemoteExportsRole',
    );
    this.functionRoleArn = role.attrArn;

    let auditRole: iam.CfnRole | undefined;
    let auditBus: events.CfnEventBus | undefined;
    let auditLogs: logs.CfnLogGroup | undefined;
    let changeLogs: logs.CfnLogGroup | undefined;
    if (audit !== undefined) {
      auditLogs = named(
        new logs.CfnLogGroup(this, 'AuditLogGroup', { logGroupName: Fn.sub('/aws/lambda/${AWS::StackName}-audit'), retentionInDays: retention }),
        'AuditLogGroup',
      );
      removal(auditLogs, CfnDeletionPolicy.DELETE);
      auditBus = named(new events.CfnEventBus(this, 'AuditEventBus', { name: Fn.sub('${AWS::StackName}-audit') }), 'AuditEventBus');
      if (changes) {
        changeLogs = named(
          new logs.CfnLogGroup(this, 'ChangeCheckLogGroup', {
            logGroupName: Fn.sub('/aws/lambda/${AWS::StackName}-change-check'),
            retentionInDays: retention,
          }),
          'ChangeCheckLogGroup',
        );
        removal(changeLogs, CfnDeletionPolicy.DELETE);
      }
      const registryStatements: unknown[] = [{ Effect: 'Allow', Action: ['dynamodb:Scan', 'dynamodb:UpdateItem'], Resource: readsTable!.attrArn }];
      if (changes) {
        // The change check: one source's readers, through the index the guard uses.
        registryStatements.push({ Effect: 'Allow', Action: 'dynamodb:Query', Resource: Fn.sub('${Table}/index/BySource', { Table: readsTable!.attrArn }) });
      }
      auditRole = named(
        new iam.CfnRole(this, 'AuditRole', {
          description:
            'remote-exports audit and change-check role; assumes only the allowed publisher roles, logs, scans (or queries one source of) the read registry and records what it alerted about, and puts events on the audit bus.',
          assumeRolePolicyDocument: lambdaTrust,
          policies: [
            // On nobody's behalf: no consumer identity, no ExternalId.
            { policyName: 'assume-publisher-roles', policyDocument: document([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: allowedRoleArns, ...onlyInOrganization }]) },
            {
              policyName: 'write-own-logs',
              policyDocument: document([
                {
                  Effect: 'Allow',
                  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  Resource: changeLogs !== undefined ? [auditLogs.attrArn, changeLogs.attrArn] : auditLogs.attrArn,
                },
              ]),
            },
            { policyName: 'audit-reads-registry', policyDocument: document(registryStatements) },
            { policyName: 'put-audit-events', policyDocument: document([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: auditBus.attrArn }]) },
          ],
        }),
        'AuditRole',
      );
      this.auditRoleArn = auditRole.attrArn;
      this.auditEventBusArn = auditBus.attrArn;
    }

    if (readsTable !== undefined && organization !== undefined) {
      const guardRole = named(
        new iam.CfnRole(this, 'GuardRegistryRole', {
          description: "Export guards read their own account's readers in the read registry, and nothing else.",
          maxSessionDuration: 3600,
          assumeRolePolicyDocument: document([
            {
              Sid: 'GuardsOfTheOrganizationAsThemselves',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
              Condition: {
                StringEquals: { 'aws:PrincipalOrgID': organization, 'sts:SourceIdentity': '${aws:PrincipalAccount}' },
                ArnLike: {
                  'aws:PrincipalArn': [
                    Fn.sub('arn:${AWS::Partition}:iam::*:role/remote-exports-export-guard-*'),
                    Fn.sub('arn:${AWS::Partition}:iam::*:role/remote-exports-check-*'),
                  ],
                },
              },
            },
          ]),
          policies: [
            {
              policyName: 'own-readers-only',
              policyDocument: document([
                {
                  Sid: 'QueryOwnAccountsReaders',
                  Effect: 'Allow',
                  Action: 'dynamodb:Query',
                  Resource: Fn.sub('${Table}/index/BySource', { Table: readsTable.attrArn }),
                  // ForAllValues is true on an empty set, and AWS does not document LeadingKeys for a
                  // query on an index: the Null condition refuses a request that carries no key at all.
                  Condition: {
                    'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['${aws:SourceIdentity}'] },
                    Null: { 'dynamodb:LeadingKeys': 'false' },
                  },
                },
              ]),
            },
          ],
        }),
        'GuardRegistryRole',
      );
      this.guardRegistryRoleArn = guardRole.attrArn;
    }

    let snapshotTable: dynamodb.CfnTable | undefined;
    if (snapshot) {
      snapshotTable = named(
        new dynamodb.CfnTable(this, 'SnapshotTable', {
          // The suffix changes whenever the resource policy does: the policy denies PutResourcePolicy to
          // all but the function, so CloudFormation can only replace this table (a cache), never edit it.
          tableName: Fn.sub('${AWS::StackName}-exports-snapshot-v3'),
          // It holds export and parameter values, NoEcho or not: no principal but the function's role
          // reads or writes its items, copies them (backups, restores, exports, streams, replicas) or
          // changes the table or this policy. Deleting it stays possible.
          tags: [{ key: 'remote-exports:backup', value: 'exclude' }],
          resourcePolicy: {
            policyDocument: document([
              {
                Sid: 'OnlyTheFunctionUsesItsItems',
                Effect: 'Deny',
                Principal: '*',
                Action: [
                  'dynamodb:GetItem',
                  'dynamodb:BatchGetItem',
                  'dynamodb:Query',
                  'dynamodb:Scan',
                  'dynamodb:PutItem',
                  'dynamodb:UpdateItem',
                  'dynamodb:DeleteItem',
                  'dynamodb:BatchWriteItem',
                  'dynamodb:ConditionCheckItem',
                  'dynamodb:PartiQLSelect',
                  'dynamodb:PartiQLInsert',
                  'dynamodb:PartiQLUpdate',
                  'dynamodb:PartiQLDelete',
                  'dynamodb:ExportTableToPointInTime',
                  'dynamodb:CreateBackup',
                  'dynamodb:StartAwsBackupJob',
                  'dynamodb:RestoreTableFromBackup',
                  'dynamodb:RestoreTableFromAwsBackup',
                  'dynamodb:RestoreTableToPointInTime',
                  'dynamodb:UpdateTable',
                  'dynamodb:CreateTableReplica',
                  'dynamodb:EnableKinesisStreamingDestination',
                  'dynamodb:UpdateKinesisStreamingDestination',
                  'dynamodb:DescribeStream',
                  'dynamodb:GetShardIterator',
                  'dynamodb:GetRecords',
                  'dynamodb:PutResourcePolicy',
                  'dynamodb:DeleteResourcePolicy',
                ],
                Resource: '*',
                Condition: { ArnNotEquals: { 'aws:PrincipalArn': role.attrArn } },
              },
            ]),
          },
          billingMode: 'PAY_PER_REQUEST',
          attributeDefinitions: [{ attributeName: 'Key', attributeType: 'S' }],
          keySchema: [{ attributeName: 'Key', keyType: 'HASH' }],
          timeToLiveSpecification: { attributeName: 'ExpiresAt', enabled: true },
          sseSpecification: { sseEnabled: true },
        }),
        'SnapshotTable',
      );
      removal(snapshotTable, CfnDeletionPolicy.DELETE);
    }

    const functionCode = props.code ?? bundledFunction();
    const bootstrap = functionCode.bind(this);
    if (bootstrap.s3Location === undefined) {
      throw new Error('code must be an asset or an S3 object holding the bootstrap (not inline code or an image)');
    }
    const code = { s3Bucket: bootstrap.s3Location.bucketName, s3Key: bootstrap.s3Location.objectKey, s3ObjectVersion: bootstrap.s3Location.objectVersion };
    const environment: { [name: string]: string } = {
      FUNCTION_MODE: 'custom-resource',
      METRICS_NAMESPACE: namespace,
      METRICS_CONSUMER_ACCOUNT_DIMENSION: String(props.metricsPerConsumerAccount ?? false),
      ALLOWED_ROLE_ARNS: allowedRoleArns.join(','),
    };
    const optional: [string, string | undefined][] = [
      ['DEFAULT_ROLE_ARN', props.defaultRoleArn],
      ['ALLOWED_EXPORTS', props.allowedExports?.join(',')],
      ['ALLOWED_STACK_OUTPUTS', props.allowedStackOutputs?.join(',')],
      ['ALLOWED_PARAMETERS', props.allowedParameters?.join(',')],
      ['CONSUMER_POLICY_PARAMETER', props.consumerPolicyParameter],
    ];
    for (const [name, value] of optional) {
      if (value !== undefined && value !== '') {
        environment[name] = value;
      }
    }
    environment.CONSUMER_POLICY_TTL_SECONDS = String(policyTtl);
    environment.RESPONSE_URL_BINDING = binding;
    if (props.readsTableArn !== undefined) {
      environment.READS_TABLE = props.readsTableArn;
    } else if (readsTable !== undefined) {
      environment.READS_TABLE = readsTable.ref;
    }
    environment.FUNCTION_ACCOUNT_ID = stack.account;
    if (snapshotTable !== undefined) {
      environment.SNAPSHOT_TABLE = snapshotTable.ref;
    }
    environment.SNAPSHOT_TTL_SECONDS = String(snapshotTtl);
    environment.AWS_USE_FIPS_ENDPOINT = String(props.useFipsEndpoint ?? false);
    const shared = { handler: 'bootstrap', runtime: 'provided.al2023', architectures: ['arm64'], memorySize: 128 };
    const fn = named(
      new lambda.CfnFunction(this, 'Function', {
        ...shared,
        code,
        functionName,
        description: 'Custom::RemoteExports, reads CloudFormation exports and SSM parameters across accounts and regions.',
        timeout: 60,
        role: role.attrArn,
        reservedConcurrentExecutions: props.reservedConcurrency,
        loggingConfig: { logFormat: 'JSON', logGroup: logGroup.ref, applicationLogLevel: 'INFO', systemLogLevel: 'WARN' },
        environment: { variables: environment },
      }),
      'RemoteExportsFunction',
    );
    functionCode.bindToResource(fn, { resourceProperty: 'Code' });
    this.function = fn;
    this.serviceToken = fn.attrArn;

    let auditFunction: lambda.CfnFunction | undefined;
    let auditRouteRole: iam.CfnRole | undefined;
    if (audit !== undefined) {
      auditFunction = named(
        new lambda.CfnFunction(this, 'AuditFunction', {
          ...shared,
          code,
          description: 'remote-exports stale-read audit; started only by its EventBridge schedule.',
          timeout: 300,
          role: auditRole!.attrArn,
          loggingConfig: { logFormat: 'JSON', logGroup: auditLogs!.ref, applicationLogLevel: 'INFO', systemLogLevel: 'WARN' },
          environment: {
            variables: {
              FUNCTION_MODE: 'audit',
              METRICS_NAMESPACE: namespace,
              ALLOWED_ROLE_ARNS: allowedRoleArns.join(','),
              READS_TABLE: readsTable!.ref,
              AUDIT_EVENT_BUS: auditBus!.ref,
              FUNCTION_ACCOUNT_ID: stack.account,
              AWS_USE_FIPS_ENDPOINT: String(props.useFipsEndpoint ?? false),
            },
          },
        }),
        'AuditFunction',
      );
      named(
        new events.CfnEventBusPolicy(this, 'AuditEventBusOnlyAuditPuts', {
          eventBusName: auditBus!.ref,
          statementId: 'OnlyTheAuditPuts',
          statement: {
            Effect: 'Deny',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: auditBus!.attrArn,
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': auditRole!.attrArn } },
          },
        }),
        'AuditEventBusOnlyAuditPuts',
      );
      // Nobody outside this account manages rules on the audit bus: every event names a consumer's
      // stack and what it reads, so an account may receive only the events about itself. Each listed
      // account gets one route: its own stacks' events (as consumer) and its own exports' readers (as
      // publisher), onto its default bus in this region, whose policy must let this account put events.
      if (routed.length > 0) {
        auditRouteRole = named(
          new iam.CfnRole(this, 'AuditRouteRole', {
            description: "EventBridge forwards each listed account's own audit events to that account's default bus.",
            assumeRolePolicyDocument: document([
              {
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sts:AssumeRole',
                Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
              },
            ]),
            policies: [
              {
                policyName: 'put-on-listed-accounts-default-bus',
                policyDocument: document([
                  {
                    Effect: 'Allow',
                    Action: 'events:PutEvents',
                    Resource: Fn.sub('arn:${AWS::Partition}:events:${AWS::Region}:*:event-bus/default'),
                    Condition: { StringEquals: { 'aws:ResourceAccount': routed } },
                  },
                ]),
              },
            ],
          }),
          'AuditRouteRole',
        );
        routed.forEach((account, index) =>
          named(
            new events.CfnRule(this, `AuditRoute${index}`, {
              description: "The audit events about one listed account's stacks and exports, to its default bus.",
              eventBusName: auditBus!.ref,
              eventPattern: {
                'source': ['remote-exports'],
                '$or': [{ detail: { consumer_account: [account] } }, { detail: { source_account: [account] } }],
              },
              targets: [
                {
                  id: 'account-default-bus',
                  arn: Fn.sub('arn:${AWS::Partition}:events:${AWS::Region}:${Account}:event-bus/default', { Account: account }),
                  roleArn: auditRouteRole!.attrArn,
                },
              ],
            }),
            `AuditRoute${index}`,
          ),
        );
      }
      const rule = named(
        new events.CfnRule(this, 'AuditScheduleRule', {
          description: 'Runs the remote-exports stale-read audit.',
          scheduleExpression: audit.expressionString,
          state: 'ENABLED',
          targets: [{ id: 'remote-exports-audit', arn: auditFunction.attrArn }],
        }),
        'AuditScheduleRule',
      );
      named(
        new lambda.CfnPermission(this, 'AuditSchedulePermission', {
          action: 'lambda:InvokeFunction',
          functionName: auditFunction.attrArn,
          principal: 'events.amazonaws.com',
          sourceArn: rule.attrArn,
        }),
        'AuditSchedulePermission',
      );
    }

    let changeFunction: lambda.CfnFunction | undefined;
    if (changes) {
      // The change check acts as the audit does (its role, its session name, its bus), for one source:
      // publisher roles that trust the audit need nothing new.
      changeFunction = named(
        new lambda.CfnFunction(this, 'ChangeCheckFunction', {
          ...shared,
          code,
          description: "remote-exports change check; started only by the change bus's rule.",
          timeout: 120,
          role: auditRole!.attrArn,
          reservedConcurrentExecutions: changeConcurrency > 0 ? changeConcurrency : undefined,
          loggingConfig: { logFormat: 'JSON', logGroup: changeLogs!.ref, applicationLogLevel: 'INFO', systemLogLevel: 'WARN' },
          environment: {
            variables: {
              FUNCTION_MODE: 'change-check',
              METRICS_NAMESPACE: namespace,
              ALLOWED_ROLE_ARNS: allowedRoleArns.join(','),
              READS_TABLE: readsTable!.ref,
              AUDIT_EVENT_BUS: auditBus!.ref,
              FUNCTION_ACCOUNT_ID: stack.account,
              CHANGE_CHECK_WINDOW_SECONDS: String(changeWindow),
              AWS_USE_FIPS_ENDPOINT: String(props.useFipsEndpoint ?? false),
            },
          },
        }),
        'ChangeCheckFunction',
      );
      named(
        new lambda.CfnEventInvokeConfig(this, 'ChangeCheckRetries', {
          functionName: changeFunction.ref,
          qualifier: '$LATEST',
          maximumRetryAttempts: 2,
          maximumEventAgeInSeconds: 3600,
        }),
        'ChangeCheckRetries',
      );
      const changeBus = named(new events.CfnEventBus(this, 'ChangeEventBus', { name: Fn.sub('${AWS::StackName}-changes') }), 'ChangeEventBus');
      named(
        new events.CfnEventBusPolicy(this, 'ChangeEventBusTakesTheOrganizationsChanges', {
          eventBusName: changeBus.ref,
          statementId: 'OrganizationForwardsItsChanges',
          statement: {
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: changeBus.attrArn,
            Condition: { StringEquals: { 'aws:PrincipalOrgID': organization, 'events:source': ['aws.cloudformation', 'aws.ssm'] } },
          },
        }),
        'ChangeEventBusTakesTheOrganizationsChanges',
      );
      const changeRule = named(
        new events.CfnRule(this, 'ChangeCheckRule', {
          description: 'Publishers\' changes that may change what their readers hold, to the change check.',
          eventBusName: changeBus.ref,
          eventPattern: CHANGE_PATTERN,
          state: 'ENABLED',
          targets: [{ id: 'remote-exports-change-check', arn: changeFunction.attrArn, retryPolicy: { maximumEventAgeInSeconds: 3600 } }],
        }),
        'ChangeCheckRule',
      );
      named(
        new lambda.CfnPermission(this, 'ChangeCheckPermission', {
          action: 'lambda:InvokeFunction',
          functionName: changeFunction.attrArn,
          principal: 'events.amazonaws.com',
          sourceArn: changeRule.attrArn,
        }),
        'ChangeCheckPermission',
      );
      this.changeEventBusArn = changeBus.attrArn;
    }

    if (alarms !== undefined) {
      const alarm = (logicalId: string, props: cloudwatch.CfnAlarmProps) =>
        named(
          new cloudwatch.CfnAlarm(this, logicalId, {
            evaluationPeriods: 1,
            treatMissingData: 'notBreaching',
            alarmActions: [alarms],
            ...props,
          }),
          logicalId,
        );
      const overFiveMinutes = { statistic: 'Sum', period: 300, threshold: 0, comparisonOperator: 'GreaterThanThreshold' };
      alarm('RefusedInvocationsAlarm', {
        alarmDescription:
          'The function refused a ResponseURL: an invocation that was not CloudFormation\'s (forged), or AWS changed its URL format. See README, "Operating it".',
        namespace,
        metricName: 'Refused',
        ...overFiveMinutes,
      });
      const answered = (id: string, status: string) => ({
        id,
        returnData: false,
        metricStat: { metric: { namespace, metricName: 'Answered', dimensions: [{ name: 'Status', value: status }] }, period: 900, stat: 'Sum' },
      });
      alarm('FailedAnswersAlarm', {
        alarmDescription:
          'A share of FAILED answers above FailedAnswersAlarmPercent over 15 minutes. FailedReason by Kind says which failure; see README, "Operating it".',
        metrics: [
          answered('failed', 'FAILED'),
          answered('succeeded', 'SUCCESS'),
          {
            id: 'failedPercent',
            label: 'FAILED answers (%)',
            expression: '100 * FILL(failed, 0) / (FILL(failed, 0) + FILL(succeeded, 0))',
            returnData: true,
          },
        ],
        threshold: failedPercent,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      alarm('FunctionErrorsAlarm', {
        alarmDescription:
          'The custom-resource function returned errors to Lambda: refused or undeliverable requests, or a crash. Its log says which (errorType RemoteExports.*).',
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensions: [{ name: 'FunctionName', value: fn.ref }],
        ...overFiveMinutes,
      });
      alarm('FunctionThrottlesAlarm', {
        alarmDescription:
          "Lambda throttled the custom-resource function (ReservedConcurrency or the account's limit): requests wait in Lambda's queue and stacks deploy slowly.",
        namespace: 'AWS/Lambda',
        metricName: 'Throttles',
        dimensions: [{ name: 'FunctionName', value: fn.ref }],
        ...overFiveMinutes,
      });
      if (auditFunction !== undefined) {
        const hourly = { period: 3600, threshold: 0, comparisonOperator: 'GreaterThanThreshold' };
        alarm('AuditFailuresAlarm', {
          alarmDescription:
            'The scheduled audit failed (errorType RemoteExports.AuditFailed in its log): no stale read was alerted in that run.',
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensions: [{ name: 'FunctionName', value: auditFunction.ref }],
          statistic: 'Sum',
          ...hourly,
        });
        if (changeFunction !== undefined) {
          alarm('ChangeCheckFailuresAlarm', {
            alarmDescription:
              'A change event could not be checked (errorType RemoteExports.ChangeCheckFailed in its log, the registry or the audit bus unavailable); Lambda retried it twice. The audit still finds what it missed.',
            namespace: 'AWS/Lambda',
            metricName: 'Errors',
            dimensions: [{ name: 'FunctionName', value: changeFunction.ref }],
            statistic: 'Sum',
            period: 900,
            threshold: 0,
            comparisonOperator: 'GreaterThanThreshold',
          });
        }
        alarm('AuditUncheckedSourcesAlarm', {
          alarmDescription:
            'The audit could not read some publishers (a role gone, denied or no longer allowed), so their readers were not checked. Its WARN lines name each source.',
          namespace,
          metricName: 'UncheckedSources',
          statistic: 'Maximum',
          ...hourly,
        });
      }
    }

    if (props.dashboard ?? false) {
      named(
        new cloudwatch.CfnDashboard(this, 'OperatorsDashboard', {
          dashboardName: Fn.sub('${AWS::StackName}-${AWS::Region}'),
          dashboardBody: Fn.sub(DASHBOARD_BODY, { Function: fn.ref, MetricsNamespace: namespace }),
        }),
        'OperatorsDashboard',
      );
    }

    const invoke = (logicalId: string, principal: string, extra: Partial<lambda.CfnPermissionProps> = {}) =>
      named(new lambda.CfnPermission(this, logicalId, { action: 'lambda:InvokeFunction', functionName: fn.attrArn, principal, ...extra }), logicalId);
    if (organization !== undefined) {
      invoke('OrganizationInvokePermission', '*', { principalOrgId: organization });
    }
    consumers.forEach((account, index) => invoke(`ConsumerInvokePermission${index}`, account));

    // template.yaml's outputs, under the same names and export names.
    const output = (logicalId: string, value: string, description: string) =>
      new CfnOutput(this, logicalId, { value, description, exportName: Fn.sub(`\${AWS::StackName}-${logicalId}`) }).overrideLogicalId(logicalId);
    output('ServiceToken', fn.attrArn, 'The ServiceToken of Custom::RemoteExports resources.');
    if (readsTable !== undefined) {
      output('ReadsTableName', readsTable.ref, 'The read registry\'s table, for `remote-exports readers` and `stale` (--table or READS_TABLE).');
      output(
        'ReadsTableArn',
        readsTable.attrArn,
        "The read registry's ARN: pass it as ReadsTableArn to the deployments of the other regions, and to `remote-exports readers --table` from anywhere.",
      );
      this.readsTableArn = readsTable.attrArn;
    }
    if (this.guardRegistryRoleArn !== undefined) {
      output(
        'GuardRegistryRoleArn',
        this.guardRegistryRoleArn,
        'The role export guards read the registry through: RegistryRoleArn of examples/export-guard.yaml, with ReadsTableArn.',
      );
    }
    output('FunctionRoleArn', role.attrArn, "The custom-resource function's role; publisher roles must trust it.");
    if (this.changeEventBusArn !== undefined) {
      output(
        'ChangeEventBusArn',
        this.changeEventBusArn,
        'The bus publisher accounts forward their changes to: ChangeEventBusArn of examples/publisher-changes.yaml.',
      );
    }
    if (auditRouteRole !== undefined) {
      this.auditRouteRoleArn = auditRouteRole.attrArn;
      output(
        'AuditRouteRoleArn',
        auditRouteRole.attrArn,
        "The role the audit's routes put each listed account's events with: the only principal a consumer account's default bus needs to admit (AuditRouteRoleArn of examples/consumer-refresher.yaml).",
      );
    }
    if (auditRole !== undefined) {
      output('AuditRoleArn', auditRole.attrArn, "The audit function's role; publisher roles must trust it too (AuditRoleArn of publisher-role.yaml).");
      output(
        'AuditEventBusArn',
        auditBus!.attrArn,
        "The bus the audit puts its findings on (source remote-exports). Only this account puts rules on it; AuditEventAccountIds routes each listed account's own events to that account.",
      );
    }

    // Findings of cdk-nag (AwsSolutions), acknowledged one by one with why they do not apply.
    const acknowledge = (resource: CfnResource, rule: string, reason: string, finding?: string) =>
      Validations.of(resource).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}${finding !== undefined ? `[${finding}]` : ''}`, reason });
    // Only a pattern that names one role (a wildcard in the account alone): a wildcard in the role's
    // name is a choice for whoever deploys the construct to acknowledge, with a reason of their own.
    const namesOneRole = (arn: string) => !Token.isUnresolved(arn) && !(arn.split(':role/')[1] ?? '*').includes('*');
    for (const pattern of allowedRoleArns.filter((arn) => arn.includes('*') && namesOneRole(arn))) {
      const scope = organization !== undefined ? 'in the Organization only (aws:ResourceOrgID)' : 'in any account';
      const reason = `AllowedRoleArns pattern ${pattern} names one role, ${scope}: the publisher's trust policy decides whether this function may assume it.`;
      acknowledge(role, 'IAM5', reason, `Resource::${pattern}`);
      if (auditRole !== undefined) {
        acknowledge(auditRole, 'IAM5', reason, `Resource::${pattern}`);
      }
    }
    if (hasPolicy && props.consumerPolicyKmsKeyArn === undefined) {
      acknowledge(
        role,
        'IAM5',
        'kms:Decrypt only through SSM and only for the consumer policy parameter (kms:ViaService and the PARAMETER_ARN encryption context): the AWS managed aws/ssm key has no ARN a template can name.',
        'Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*',
      );
    }
    if (auditRouteRole !== undefined) {
      acknowledge(
        auditRouteRole,
        'IAM5',
        `AuditRouteRole (assumed by EventBridge only) puts events only on the default bus of the auditEventAccountIds accounts (aws:ResourceAccount ${routed.join(', ')}): a bus ARN names its account, so the one statement for all of them has * there.`,
        'Resource::arn:<AWS::Partition>:events:<AWS::Region>:*:event-bus/default',
      );
    }
    if (snapshotTable !== undefined) {
      acknowledge(snapshotTable, 'DDB3', 'The snapshot is a cache whose items expire within an hour: there is nothing to recover to a point in time.');
    }
  }
}

// template.yaml's OperatorsDashboard body, with ${Function} and ${MetricsNamespace} substituted.
const DASHBOARD_BODY = `{"widgets": [
  {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
    "title": "Answers by status", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [["\${MetricsNamespace}", "Answered", "Status", "SUCCESS"], ["\${MetricsNamespace}", "Answered", "Status", "FAILED"]]}},
  {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {
    "title": "FAILED answers by kind", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [[{"expression": "SEARCH('{\${MetricsNamespace},Kind} MetricName=\\"FailedReason\\"', 'Sum', 300)", "id": "kinds"}]]}},
  {"type": "metric", "x": 0, "y": 6, "width": 8, "height": 6, "properties": {
    "title": "Refused invocations", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [["\${MetricsNamespace}", "Refused"]]}},
  {"type": "metric", "x": 8, "y": 6, "width": 8, "height": 6, "properties": {
    "title": "Throttled CloudFormation attempts", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [["\${MetricsNamespace}", "ThrottledAttempts"]]}},
  {"type": "metric", "x": 16, "y": 6, "width": 8, "height": 6, "properties": {
    "title": "Snapshot hits and misses, registry write failures", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [["\${MetricsNamespace}", "SnapshotHits"], ["\${MetricsNamespace}", "SnapshotMisses"], ["\${MetricsNamespace}", "FollowUpFailures"]]}},
  {"type": "metric", "x": 0, "y": 12, "width": 12, "height": 6, "properties": {
    "title": "Audit runs", "region": "\${AWS::Region}", "stat": "Maximum", "period": 3600,
    "metrics": [["\${MetricsNamespace}", "StaleReads"], ["\${MetricsNamespace}", "EventsPut"], ["\${MetricsNamespace}", "UncheckedSources"]]}},
  {"type": "metric", "x": 0, "y": 18, "width": 12, "height": 6, "properties": {
    "title": "Change events: received, ignored, coalesced, sources checked, stale reads, events put", "region": "\${AWS::Region}", "stat": "Sum", "period": 300,
    "metrics": [["\${MetricsNamespace}", "ChangeEvents"], ["\${MetricsNamespace}", "ChangesIgnored"], ["\${MetricsNamespace}", "ChangesCoalesced"], ["\${MetricsNamespace}", "SourcesChecked"], ["\${MetricsNamespace}", "ChangeStaleReads"], ["\${MetricsNamespace}", "ChangeEventsPut"], ["\${MetricsNamespace}", "ChangeUncheckedSources"]]}},
  {"type": "metric", "x": 12, "y": 18, "width": 12, "height": 6, "properties": {
    "title": "Propagation: publisher's change to stale event (ms)", "region": "\${AWS::Region}", "period": 300,
    "metrics": [["\${MetricsNamespace}", "PropagationTime", {"stat": "p50"}], ["\${MetricsNamespace}", "PropagationTime", {"stat": "p99"}]]}},
  {"type": "metric", "x": 12, "y": 12, "width": 12, "height": 6, "properties": {
    "title": "Lambda: errors, throttles, duration p99", "region": "\${AWS::Region}", "period": 300,
    "metrics": [["AWS/Lambda", "Errors", "FunctionName", "\${Function}", {"stat": "Sum"}],
                ["AWS/Lambda", "Throttles", "FunctionName", "\${Function}", {"stat": "Sum"}],
                ["AWS/Lambda", "Duration", "FunctionName", "\${Function}", {"stat": "p99", "yAxis": "right"}]]}}
]}
`;
