// The constructs' synth-time checks (src/validation.ts) give the function's verdicts: the same
// vectors (tests/vectors/properties.json) hold the Rust rules in remote-exports-core to them.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const validation = require('../lib/validation');

const VECTORS = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'properties.json'), 'utf8'),
);

const passes = (check) => (value) => {
  try {
    check(value);
    return true;
  } catch {
    return false;
  }
};

const RULES = {
  exportName: passes((name) => validation.checkExportName(name)),
  roleArn: passes((arn) => validation.checkRoleArn(arn)),
  region: passes((region) => validation.checkRegion(region)),
  externalId: passes((id) => validation.checkExternalId(id)),
  stackOutput: passes((entry) => {
    if (!entry.includes('.')) throw new Error('not a stack output');
    validation.checkTarget(entry, 'stackOutput');
  }),
  parameter: passes((name) => validation.checkParameter(name, 'parameter')),
};

for (const [kind, rule] of Object.entries(RULES)) {
  test(`${kind}: the function's verdicts`, () => {
    for (const value of VECTORS[kind].valid) assert.equal(rule(value), true, `${kind} ${JSON.stringify(value)} should be valid`);
    for (const value of VECTORS[kind].invalid) assert.equal(rule(value), false, `${kind} ${JSON.stringify(value)} should be invalid`);
  });
}

test('closest: the function\'s suggestion', () => {
  for (const { name, candidates, closest } of VECTORS.closest) {
    assert.equal(validation.closest(name, candidates) ?? null, closest, JSON.stringify({ name, candidates }));
  }
});
