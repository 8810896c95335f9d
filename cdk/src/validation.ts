/**
 * The function's own rules for what a `Custom::RemoteExports` resource may ask for, applied at synth
 * time so that a typo fails `cdk synth` instead of a deploy. They mirror
 * `crates/remote-exports-core/src/properties.rs`; values that are still tokens are left to the function.
 */
import { Token } from 'aws-cdk-lib';

const EXPORT_NAME = /^[A-Za-z0-9:-]{1,255}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const OUTPUT_KEY = /^[A-Za-z0-9]{1,255}$/;
const ROLE_ARN = /^arn:[a-z-]+:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;

export function isToken(value: string): boolean {
  return Token.isUnresolved(value);
}

function check(value: string | undefined, pattern: RegExp, what: string): void {
  if (value !== undefined && !isToken(value) && !pattern.test(value)) {
    throw new Error(`${what} '${value}' is not valid (${pattern.source})`);
  }
}

export function checkExportName(name: string, what = 'export name'): void {
  check(name, EXPORT_NAME, what);
}

export function checkRoleArn(arn: string | undefined): void {
  check(arn, ROLE_ARN, 'roleArn');
}

export function checkRegion(region: string | undefined): void {
  check(region, REGION, 'region');
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

const PARAMETER = /^(arn:[a-z-]+:ssm:[a-z0-9-]+:\d{12}:parameter(?=\/))?(?!.*\/\/)[A-Za-z0-9_.\/-]{1,2048}(?<!\/)(:(\d{1,20}|[A-Za-z][A-Za-z0-9_.-]{0,99}))?$/;

/** An SSM parameter name or ARN, with an optional `:version` or `:label`, as the function reads it. */
export function checkParameter(name: string, what: string): void {
  check(name, PARAMETER, what);
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

/** The closest of `candidates` to `name` by edit distance, when it is close enough to be a typo. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.MAX_SAFE_INTEGER;
  for (const candidate of candidates) {
    const distance = levenshtein(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
