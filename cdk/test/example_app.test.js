// examples/cdk-app synthesizes as a user's app would, with the packages resolved from this folder's
// node_modules and this package under its published name; its templates join the linted ones.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const OUT = process.env.CDK_SYNTH_DIR ?? path.join(__dirname, '..', '..', 'target', 'cdk');
const PACKAGE = path.join(__dirname, '..');

test('the Booking/Airmiles example app synthesizes both stacks', () => {
  const modules = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-exports-example-'));
  for (const name of ['aws-cdk-lib', 'constructs']) {
    fs.symlinkSync(path.join(PACKAGE, 'node_modules', name), path.join(modules, name));
  }
  fs.symlinkSync(PACKAGE, path.join(modules, 'remote-exports-cdk'));
  const cdkOut = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-exports-example-out-'));
  execFileSync(process.execPath, [path.join(PACKAGE, '..', 'examples', 'cdk-app', 'app.js')], {
    env: { ...process.env, NODE_PATH: modules, CDK_OUTDIR: cdkOut },
    stdio: 'inherit',
  });
  const booking = JSON.parse(fs.readFileSync(path.join(cdkOut, 'booking-lambda.template.json'), 'utf8'));
  const airmiles = JSON.parse(fs.readFileSync(path.join(cdkOut, 'airmiles.template.json'), 'utf8'));
  assert.equal(booking.Outputs.BookingTopicArn.Export.Name, 'booking-lambda-BookingTopicArn');
  const lookup = Object.values(airmiles.Resources).find((r) => r.Type === 'Custom::RemoteExports');
  assert.deepEqual(lookup.Properties.ExportNames, ['booking-lambda-BookingTopicArn']);
  const subscription = Object.values(airmiles.Resources).find((r) => r.Type === 'AWS::SNS::Subscription');
  assert.equal(subscription.Properties.TopicArn['Fn::GetAtt'][1], 'booking-lambda-BookingTopicArn');
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'example-booking-lambda.template.json'), JSON.stringify(booking, null, 2));
  fs.writeFileSync(path.join(OUT, 'example-airmiles.template.json'), JSON.stringify(airmiles, null, 2));
});
