import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefreshMode, refreshParameter } from './live';
import {
  checkAccount,
  checkExportName,
  checkExternalId,
  checkRegion,
  checkRoleArn,
  checkParameter,
  checkTarget,
  closest,
  isToken,
  splitStackOutput,
} from './validation';

/** Properties of a `Custom::RemoteExports` resource (docs/src/properties.md). */
export interface RemoteExportsProps {
  /**
   * The function's ARN (the central stack's `ServiceToken` output). Give this, or `centralAccount`.
   * @default - built from `centralAccount` and `functionName` in this stack's own region
   */
  readonly serviceToken?: string;
  /**
   * The account the platform team runs the function in; the function of this stack's own region is used
   * (CloudFormation invokes only a function in the stack's region).
   * @default - `serviceToken` must be given
   */
  readonly centralAccount?: string;
  /**
   * The function's name in `centralAccount`.
   * @default 'remote-exports'
   */
  readonly functionName?: string;
  /**
   * Role to assume in the publishing account.
   * @default - the function's DefaultRoleArn
   */
  readonly roleArn?: string;
  /**
   * Passed to AssumeRole; must match the publisher role's `sts:ExternalId` condition.
   * @default - none
   */
  readonly externalId?: string;
  /**
   * Region to read.
   * @default - this stack's region
   */
  readonly region?: string;
  /**
   * Export names, each of which must exist. Data keys are the names.
   * @default - none
   */
  readonly exportNames?: string[];
  /**
   * Every export whose name starts with this.
   * @default - none
   */
  readonly exportPrefix?: string;
  /**
   * Data key (alias) → export name or `<StackName>.<OutputKey>`.
   * @default - none
   */
  readonly exports?: { [alias: string]: string };
  /**
   * `<StackName>` (every output) or `<StackName>.<OutputKey>` entries. Data keys are `<StackName>.<OutputKey>`.
   * @default - none
   */
  readonly stackOutputs?: string[];
  /**
   * Export name or `<StackName>.<OutputKey>` → the value answered while it is missing. Each must be requested.
   * @default - none
   */
  readonly defaults?: { [name: string]: string };
  /**
   * Mask the values in CloudFormation's console and API.
   * @default false
   */
  readonly noEcho?: boolean;
  /**
   * SSM parameters of the same account and region (names or ARNs, `:version` or `:label` allowed), each
   * read as `parameter(name)` under its name as written. Give this or `namedParameters`.
   * @default - none
   */
  readonly parameters?: string[];
  /**
   * Data key → SSM parameter name or ARN, read as `parameter(key)`. Give this or `parameters`.
   * @default - none
   */
  readonly namedParameters?: { [key: string]: string };
  /**
   * Change it to force an Update, which re-reads the values.
   * @default - none
   */
  readonly refresh?: string;
  /**
   * Opt this stack in to the refresher (`RemoteExportsRefresher` in this account): the stack gets the
   * parameter `RemoteExportsRefresh` (default "0"), which this resource takes as its `Refresh`, and the
   * stack tag `remote-exports:refresh` = this mode. After a stale read, the refresher proposes a change
   * set of that parameter alone, or (UPDATE) updates the stack with it. Not with `refresh`.
   * @default - the stack does not opt in
   */
  readonly refreshMode?: RefreshMode;
  /**
   * How long CloudFormation waits for the function's answer (ServiceTimeout, 1 to 3600 seconds). The
   * function answers within its own timeout; if an answer is ever lost, the stack fails after this
   * instead of CloudFormation's default hour.
   * @default Duration.seconds(120)
   */
  readonly serviceTimeout?: Duration;
}

/**
 * A `Custom::RemoteExports` resource: values of another account's (or region's) CloudFormation exports
 * and stack outputs, read by the platform team's function under its governance. Its requests are
 * checked here with the function's own rules, and values are read through methods that refuse a key
 * that was not requested.
 */
export class RemoteExports extends Construct {
  /** The underlying custom resource. */
  public readonly resource: CustomResource;
  private readonly props: RemoteExportsProps;

  constructor(scope: Construct, id: string, props: RemoteExportsProps) {
    super(scope, id);
    this.props = props;
    validate(props);
    const stack = Stack.of(this);
    const serviceToken =
      props.serviceToken ??
      `arn:${stack.partition}:lambda:${stack.region}:${props.centralAccount}:function:${props.functionName ?? 'remote-exports'}`;
    const serviceTimeout = props.serviceTimeout ?? Duration.seconds(120);
    if (!serviceTimeout.isUnresolved()) {
      const seconds = serviceTimeout.toSeconds();
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
        throw new Error(`serviceTimeout must be a whole number of seconds from 1 to 3600, not ${seconds}`);
      }
    }
    const resourceProperties = properties(props);
    if (props.refreshMode !== undefined) {
      if (props.refresh !== undefined) {
        throw new Error('refreshMode gives Refresh the stack parameter RemoteExportsRefresh: not both refresh and refreshMode');
      }
      resourceProperties.Refresh = refreshParameter(this, props.refreshMode).valueAsString;
    }
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::RemoteExports',
      serviceToken,
      serviceTimeout,
      properties: resourceProperties,
    });
  }

  /** The value of the export `name` (`!GetAtt <resource>.<name>`). */
  public exportValue(name: string): string {
    checkExportName(name);
    const requested = this.exportKeys();
    const prefix = this.props.exportPrefix;
    const everything = this.selectsEverything();
    if (!everything && !requested.includes(name) && !(prefix !== undefined && name.startsWith(prefix))) {
      throw new Error(notRequested(`export ${name}`, name, requested));
    }
    return this.resource.getAttString(name);
  }

  /** The value of `<stackName>.<outputKey>`, requested through `stackOutputs`. */
  public stackOutput(stackName: string, outputKey: string): string {
    const key = `${stackName}.${outputKey}`;
    const whole = (this.props.stackOutputs ?? []).includes(stackName);
    const named = this.outputKeys();
    if (!whole && !named.includes(key)) {
      throw new Error(notRequested(`stack output ${key}`, key, named.concat(this.props.stackOutputs ?? [])));
    }
    return this.resource.getAttString(key);
  }

  /**
   * The value of an SSM parameter requested through `parameters` (by its name as written) or
   * `namedParameters` (by its key).
   */
  public parameter(nameOrKey: string): string {
    const keys = [...(this.props.parameters ?? []), ...Object.keys(this.props.namedParameters ?? {})];
    if (!keys.includes(nameOrKey)) {
      throw new Error(notRequested(`parameter ${nameOrKey}`, nameOrKey, keys));
    }
    return this.resource.getAttString(nameOrKey);
  }

  /** The value under an alias of `exports`. */
  public alias(alias: string): string {
    const aliases = Object.keys(this.props.exports ?? {});
    if (!aliases.includes(alias)) {
      throw new Error(notRequested(`alias ${alias}`, alias, aliases));
    }
    return this.resource.getAttString(alias);
  }

  private selectsEverything(): boolean {
    const p = this.props;
    return (
      p.exportNames === undefined &&
      p.exportPrefix === undefined &&
      p.exports === undefined &&
      p.stackOutputs === undefined &&
      p.parameters === undefined &&
      p.namedParameters === undefined
    );
  }

  private exportKeys(): string[] {
    return (this.props.exportNames ?? []).filter((name) => !isToken(name));
  }

  private outputKeys(): string[] {
    return (this.props.stackOutputs ?? []).filter((entry) => entry.includes('.'));
  }
}

function notRequested(what: string, name: string, candidates: string[]): string {
  const suggestion = closest(name, candidates);
  const hint = suggestion !== undefined ? `; did you mean ${suggestion}?` : '';
  return `${what} is not requested by this RemoteExports resource${hint}`;
}

function validate(props: RemoteExportsProps): void {
  if ((props.serviceToken === undefined) === (props.centralAccount === undefined)) {
    throw new Error('give serviceToken, or centralAccount (and functionName), not both and not neither');
  }
  checkAccount(props.centralAccount, 'centralAccount');
  checkRoleArn(props.roleArn);
  checkRegion(props.region);
  checkExternalId(props.externalId);
  (props.exportNames ?? []).forEach((name) => checkExportName(name, 'exportNames entry'));
  if (props.exportPrefix !== undefined) {
    checkExportName(props.exportPrefix, 'exportPrefix');
  }
  for (const [alias, target] of Object.entries(props.exports ?? {})) {
    checkTarget(target, `exports.${alias}`);
    if ((props.exportNames ?? []).includes(alias) && alias !== target) {
      throw new Error(`exports alias ${alias} is also an export name of exportNames: a Data key holds one value`);
    }
  }
  const stackOutputs = props.stackOutputs ?? [];
  stackOutputs.forEach((entry) => splitStackOutput(entry, 'stackOutputs entry'));
  if (props.parameters !== undefined && props.namedParameters !== undefined) {
    throw new Error('give parameters (read under their names) or namedParameters (under keys of your own), not both');
  }
  (props.parameters ?? []).forEach((name) => checkParameter(name, 'parameters entry'));
  for (const [key, name] of Object.entries(props.namedParameters ?? {})) {
    checkParameter(name, `namedParameters.${key}`);
    if (!isToken(key) && !/^[A-Za-z0-9._:-]{1,255}$/.test(key)) {
      throw new Error(`namedParameters key '${key}' is not a valid attribute name (letters, digits and . _ : -)`);
    }
  }
  // A default must stand in for something requested (the function refuses the rest as a typo).
  const requested = [
    ...(props.exportNames ?? []),
    ...Object.values(props.exports ?? {}),
    ...stackOutputs.filter((entry) => entry.includes('.')),
    ...(props.parameters ?? []),
    ...Object.values(props.namedParameters ?? {}),
  ];
  for (const name of Object.keys(props.defaults ?? {})) {
    if (!isToken(name) && !requested.includes(name)) {
      const suggestion = closest(name, requested);
      throw new Error(
        `defaults names ${name}, which is not requested (exportNames, an exports target, <StackName>.<OutputKey> in stackOutputs, or a parameter)` +
          (suggestion !== undefined ? `; did you mean ${suggestion}?` : ''),
      );
    }
  }
}

/** The resource's properties as CloudFormation sends them: every scalar a string. */
function properties(props: RemoteExportsProps): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) {
      out[key] = value;
    }
  };
  set('RoleArn', props.roleArn);
  set('ExternalId', props.externalId);
  set('Region', props.region);
  set('ExportNames', props.exportNames);
  set('ExportPrefix', props.exportPrefix);
  set('Exports', props.exports);
  set('StackOutputs', props.stackOutputs);
  set('Parameters', props.parameters ?? props.namedParameters);
  set('Defaults', props.defaults);
  set('NoEcho', props.noEcho === undefined ? undefined : String(props.noEcho));
  set('Refresh', props.refresh);
  return out;
}
