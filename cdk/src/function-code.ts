import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The arm64 zip `cargo xtask dist` puts in this package: the release's function, as `SHA256SUMS` names it. */
const BUNDLED_FUNCTION = path.join(__dirname, '..', 'assets', 'remote-exports-arm64.zip');

/** The function this package carries, for every construct that deploys it. */
export function bundledFunction(): lambda.Code {
  if (!fs.existsSync(BUNDLED_FUNCTION)) {
    throw new Error(
      `this copy of remote-exports-cdk carries no function (${BUNDLED_FUNCTION} is missing): install the released ` +
        'package, run `cargo xtask dist` in a source checkout, or pass `code`',
    );
  }
  return lambda.Code.fromAsset(BUNDLED_FUNCTION);
}
