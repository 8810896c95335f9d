// The release as a new user meets it: the packed CDK package (`npm install ./remote-exports-cdk-<v>.tgz`) and
// the Python wheel, installed into fresh places with no Rust on the PATH, synthesize a consumer app and a
// platform app; the platform app's function asset is the arm64 zip named in the release's SHA256SUMS.
// `cargo xtask test` and `cargo xtask dist` run this after building the release (REMOTE_EXPORTS_DIST).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const DIST = process.env.REMOTE_EXPORTS_DIST;
const PACKAGE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const VERSION = PACKAGE.version;

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// `sha256sum --check`'s format: "<hex>  <name>".
function sums() {
  assert.ok(DIST, 'REMOTE_EXPORTS_DIST names the release directory (cargo xtask dist or test sets it)');
  const lines = fs.readFileSync(path.join(DIST, 'SHA256SUMS'), 'utf8').trim().split('\n');
  return Object.fromEntries(lines.map((line) => line.split(/ {2}\*?/).reverse()));
}

// A PATH with Node and the system's tools but no cargo or rustc: what a TypeScript or Python platform team has.
function pathWithoutRust() {
  const dirs = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'];
  const env = { PATH: [...new Set(dirs)].join(':'), HOME: process.env.HOME, npm_config_cache: process.env.npm_config_cache };
  for (const tool of ['cargo', 'rustc', 'cargo-lambda']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { env });
    assert.notEqual(found.status, 0, `${tool} is on the PATH of the new user's step: ${found.stdout}`);
  }
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined));
}

function freshDir(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `remote-exports-${name}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The function asset of a synthesized platform stack: the file the template's Code points at, in cdk.out.
function functionAsset(cdkOut, stackName) {
  const template = JSON.parse(fs.readFileSync(path.join(cdkOut, `${stackName}.template.json`), 'utf8'));
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment.Variables.FUNCTION_MODE === 'custom-resource',
  );
  assert.ok(fn, 'the platform stack has the custom-resource function');
  const key = fn.Properties.Code.S3Key;
  assert.match(key, /^[0-9a-f]{64}\.zip$/, 'the code is a zip asset, not a directory CDK zipped');
  const assets = JSON.parse(fs.readFileSync(path.join(cdkOut, `${stackName}.assets.json`), 'utf8'));
  const asset = assets.files[key.replace(/\.zip$/, '')];
  assert.equal(asset.source.packaging, 'file', 'the zip is uploaded as it is');
  return path.join(cdkOut, asset.source.path);
}

const CONSUMER_APP = `
const { App, Stack } = require('aws-cdk-lib');
const sns = require('aws-cdk-lib/aws-sns');
const { RemoteExports } = require('remote-exports-cdk');

const app = new App();
const stack = new Stack(app, 'Airmiles', { env: { account: '333333333333', region: 'eu-west-1' } });
const lookup = new RemoteExports(stack, 'Lookup', {
  centralAccount: '111111111111',
  roleArn: 'arn:aws:iam::222222222222:role/remote-exports-reader',
  exportNames: ['booking-lambda-BookingTopicArn'],
});
sns.Topic.fromTopicArn(stack, 'BookingTopic', lookup.exportValue('booking-lambda-BookingTopicArn'));
`;

const PLATFORM_APP = `
const { App, Stack } = require('aws-cdk-lib');
const { RemoteExportsService } = require('remote-exports-cdk');

const app = new App();
const stack = new Stack(app, 'Platform', { env: { account: '111111111111', region: 'eu-west-1' } });
new RemoteExportsService(stack, 'RemoteExports', { organizationId: 'o-abc123def4' });
`;

const PYTHON_PLATFORM_APP = `
import os
import aws_cdk as cdk
from remote_exports_cdk import RemoteExportsService

app = cdk.App(outdir=os.environ["CDK_OUTDIR"])
stack = cdk.Stack(app, "Platform", env=cdk.Environment(account="111111111111", region="eu-west-1"))
RemoteExportsService(stack, "RemoteExports", organization_id="o-abc123def4")
app.synth()
`;

test('the packed package, installed into a fresh directory without Rust, synthesizes both apps with the released zip', () => {
  const released = sums();
  const tarball = path.join(DIST, `remote-exports-cdk-${VERSION}.tgz`);
  const zipSum = released[`remote-exports-${VERSION}-arm64.zip`];
  assert.ok(zipSum, 'SHA256SUMS names the arm64 zip');
  assert.equal(sha256(tarball), released[path.basename(tarball)], 'the tarball is the one SHA256SUMS names');

  const env = pathWithoutRust();
  const app = freshDir('new-cdk-user');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'platform-app', private: true }));
  const pins = PACKAGE.devDependencies;
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `aws-cdk-lib@${pins['aws-cdk-lib']}`, `constructs@${pins.constructs}`, `aws-cdk@${pins['aws-cdk']}`],
    { cwd: app, env, stdio: 'inherit' },
  );
  const bundled = path.join(app, 'node_modules', 'remote-exports-cdk', 'assets', 'remote-exports-arm64.zip');
  assert.equal(sha256(bundled), zipSum, 'the package carries the released zip');

  fs.writeFileSync(path.join(app, 'consumer.js'), CONSUMER_APP);
  fs.writeFileSync(path.join(app, 'platform.js'), PLATFORM_APP);
  const synth = (script, out) =>
    execFileSync(path.join(app, 'node_modules', '.bin', 'cdk'), ['synth', '--app', `node ${script}`, '--output', out, '--quiet', '--no-notices', '--no-version-reporting'], {
      cwd: app,
      env: { ...env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      stdio: 'inherit',
    });

  synth('consumer.js', 'cdk.out.consumer');
  const consumer = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out.consumer', 'Airmiles.template.json'), 'utf8'));
  const lookup = Object.values(consumer.Resources).find((r) => r.Type === 'Custom::RemoteExports');
  assert.deepEqual(lookup.Properties.ExportNames, ['booking-lambda-BookingTopicArn']);
  assert.equal(lookup.Properties.ServiceTimeout, '120', 'the consumer construct bounds a lost answer at 120 s');

  synth('platform.js', 'cdk.out.platform');
  const asset = functionAsset(path.join(app, 'cdk.out.platform'), 'Platform');
  assert.equal(sha256(asset), zipSum, "the platform app's function asset is the released zip");
});

test('the Python wheel carries the released zip and synthesizes the platform app with it', () => {
  const released = sums();
  const python = process.env.REMOTE_EXPORTS_PYTHON;
  assert.ok(python, 'REMOTE_EXPORTS_PYTHON is a Python with aws-cdk-lib and the shipped wheel installed');
  const dir = freshDir('new-cdk-python-user');
  fs.writeFileSync(path.join(dir, 'platform_app.py'), PYTHON_PLATFORM_APP);
  const cdkOut = path.join(dir, 'cdk.out');
  execFileSync(python, [path.join(dir, 'platform_app.py')], {
    cwd: dir,
    env: { ...pathWithoutRust(), CDK_OUTDIR: cdkOut, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION: '1' },
    stdio: 'inherit',
  });
  assert.equal(sha256(functionAsset(cdkOut, 'Platform')), released[`remote-exports-${VERSION}-arm64.zip`]);
});

test("the SBOMs name every crate inside each binary, at Cargo.lock's versions", () => {
  const lock = fs.readFileSync(path.join(__dirname, '..', '..', 'Cargo.lock'), 'utf8');
  const locked = (name) => lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))[1];
  for (const [binary, inside] of [
    ['lambda', ['aws-sdk-cloudformation', 'aws-sdk-sts', 'aws-sdk-ssm', 'aws-lc-sys', 'lambda_runtime']],
    ['cli', ['aws-sdk-cloudformation', 'aws-sdk-dynamodb', 'clap']],
  ]) {
    const file = path.join(DIST, `remote-exports-${VERSION}-${binary}.cdx.json`);
    assert.ok(sums()[path.basename(file)], `SHA256SUMS names ${path.basename(file)}`);
    const sbom = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(sbom.bomFormat, 'CycloneDX');
    assert.equal(sbom.metadata.component.version, VERSION);
    for (const name of inside) {
      const component = sbom.components.find((c) => c.name === name);
      assert.ok(component, `the ${binary} SBOM names ${name}`);
      assert.equal(component.version, locked(name), `${name} in the ${binary} SBOM`);
      assert.ok(component.purl.startsWith(`pkg:cargo/${name}@`), component.purl);
    }
    assert.ok(!sbom.components.some((c) => c.name === 'proptest'), `the ${binary} SBOM lists test-only crates`);
  }
});
