/**
 * The function's own rules for what a `Custom::RemoteExports` resource may ask for, applied at synth
 * time so that a typo fails `cdk synth` instead of a deploy. They are the rules of
 * `crates/remote-exports-core` (properties.rs, role_arn.rs, parameter.rs, suggest.rs), written again
 * here and held to them by shared vectors (`tests/vectors/properties.json`, read by both test
 * suites); values that are still tokens are left to the function.
 */
import { Token } from 'aws-cdk-lib';

const EXPORT_NAME = /^[A-Za-z0-9:-]{1,255}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const OUTPUT_KEY = /^[A-Za-z0-9]{1,255}$/;
const ACCOUNT = /^\d{12}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;

export function isToken(value: string): boolean {
  return Token.isUnresolved(value);
}

type Rule = RegExp | ((value: string) => boolean);

function check(value: string | undefined, rule: Rule, what: string, expected?: string): void {
  if (value === undefined || isToken(value)) {
    return;
  }
  const valid = typeof rule === 'function' ? rule(value) : rule.test(value);
  if (!valid) {
    const shape = expected ?? (rule instanceof RegExp ? rule.source : 'see the function\'s rules');
    throw new Error(`${what} '${value}' is not valid (${shape})`);
  }
}

const ACCOUNT_DIGITS = (text: string): boolean => /^\d{12}$/.test(text);

/** `arn:<partition>:iam::<12 digits>:role/<path/name>`, as role_arn.rs reads it. */
function isRoleArn(text: string): boolean {
  const parts = text.split(':');
  if (parts.length < 6) {
    return false;
  }
  const [arn, partition, iam, region, account] = parts;
  const resource = parts.slice(5).join(':');
  if (arn !== 'arn' || iam !== 'iam' || region !== '' || !ACCOUNT_DIGITS(account)) {
    return false;
  }
  const partitionOk = partition.startsWith('aws') && /^[a-z-]+$/.test(partition);
  const name = resource.startsWith('role/') ? resource.slice(5).split('/').pop() ?? '' : '';
  const nameOk = /^[A-Za-z0-9+=,.@_-]{1,64}$/.test(name);
  const pathOk = resource.length <= 512 + 5 + 64 && /^[\x21-\x7e]*$/.test(resource);
  return partitionOk && nameOk && pathOk;
}

/** `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, as properties.rs reads a region. */
function isRegion(region: string): boolean {
  const parts = region.split('-');
  const lower = (part: string) => /^[a-z]+$/.test(part);
  return (
    parts.length >= 3 &&
    parts[0].length >= 2 &&
    parts[0].length <= 4 &&
    lower(parts[0]) &&
    parts.slice(1, -1).every(lower) &&
    /^\d+$/.test(parts[parts.length - 1])
  );
}

/** An SSM parameter name or ARN, with an optional `:version` or `:label`, as parameter.rs reads it. */
function isParameter(text: string): boolean {
  // The selector follows the last ':' of the resource part (an ARN has colons before it).
  const parameterAt = text.indexOf(':parameter');
  const resourceStart = text.startsWith('arn:') ? (parameterAt < 0 ? text.length : parameterAt + 1) : 0;
  const colon = text.lastIndexOf(':');
  const hasSelector = colon >= resourceStart && resourceStart < text.length;
  const base = hasSelector ? text.slice(0, colon) : text;
  const selector = hasSelector ? text.slice(colon + 1) : undefined;
  let name = base;
  if (base.startsWith('arn:')) {
    const parts = base.slice(4).split(':');
    if (parts.length < 5) {
      return false;
    }
    const [partition, ssm, region, account] = parts;
    const resource = parts.slice(4).join(':');
    if (partition === '' || ssm !== 'ssm' || !isRegion(region) || !ACCOUNT_DIGITS(account)) {
      return false;
    }
    if (!resource.startsWith('parameter/')) {
      return false;
    }
    name = resource.slice('parameter'.length);
  }
  const levels = name.split('/').filter((level) => level !== '').length;
  const validName =
    name.length >= 1 &&
    name.length <= 2048 &&
    /^[A-Za-z0-9_.\/-]+$/.test(name) &&
    !name.includes('//') &&
    !name.endsWith('/') &&
    levels <= 15;
  const validSelector =
    selector === undefined || /^\d{1,20}$/.test(selector) || /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/.test(selector);
  return validName && validSelector;
}

export function checkExportName(name: string, what = 'export name'): void {
  check(name, EXPORT_NAME, what);
}

export function checkRoleArn(arn: string | undefined): void {
  check(arn, isRoleArn, 'roleArn', 'arn:<partition>:iam::<12-digit account>:role/<name>');
}

export function checkRegion(region: string | undefined): void {
  check(region, isRegion, 'region', 'a region name such as eu-west-1');
}

export function checkAccount(account: string | undefined, what: string): void {
  check(account, ACCOUNT, what);
}

export function checkExternalId(externalId: string | undefined): void {
  check(externalId, EXTERNAL_ID, 'externalId');
}

/** `<StackName>` or `<StackName>.<OutputKey>`: stack names have no dot, so the first dot splits. */
export function splitStackOutput(entry: string, what: string): [string, string | undefined] {
  if (isToken(entry)) {
    return [entry, undefined];
  }
  const dot = entry.indexOf('.');
  const stack = dot < 0 ? entry : entry.slice(0, dot);
  const key = dot < 0 ? undefined : entry.slice(dot + 1);
  if (!STACK_NAME.test(stack) || (key !== undefined && !OUTPUT_KEY.test(key))) {
    throw new Error(`${what} '${entry}' is not <StackName> or <StackName>.<OutputKey>`);
  }
  return [stack, key];
}

/** An SSM parameter name or ARN, with an optional `:version` or `:label`, as the function reads it. */
export function checkParameter(name: string, what: string): void {
  check(name, isParameter, what, 'an SSM parameter name or ARN, with an optional :version or :label');
}

/** An export name or a `<StackName>.<OutputKey>`. */
export function checkTarget(target: string, what: string): void {
  if (isToken(target)) {
    return;
  }
  if (target.includes('.')) {
    const [, key] = splitStackOutput(target, what);
    if (key === undefined) {
      throw new Error(`${what} '${target}' is not an export name or <StackName>.<OutputKey>`);
    }
  } else {
    checkExportName(target, what);
  }
}

/**
 * The closest of `candidates` to `name`, when it is close enough to be a typo: about one edit in five
 * characters, case ignored, a swapped pair of letters one edit (optimal string alignment), as
 * suggest.rs decides it.
 */
export function closest(name: string, candidates: string[]): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.max(Math.floor(name.length / 5), 2);
  const scored = candidates
    .filter((candidate) => Math.abs(candidate.length - name.length) <= limit)
    .map((candidate) => [osaDistance(wanted, candidate.toLowerCase()), candidate] as [number, string])
    .filter(([distance]) => distance <= limit)
    .sort(([d1, c1], [d2, c2]) => d1 - d2 || (c1 < c2 ? -1 : c1 > c2 ? 1 : 0));
  return scored.length > 0 ? scored[0][1] : undefined;
}

/** Edits (insert, delete, substitute, swap two adjacent) to turn `a` into `b`, each substring edited once. */
function osaDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
