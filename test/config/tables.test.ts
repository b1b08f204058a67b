// One table of flags (src/flags.ts) and one of keys (src/keys.ts): the docs'
// tables, the help texts and the committed JSON Schema must say what they say.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, FLAGS, flagUsage } from '../../src/flags.js';
import { helpText } from '../../src/help.js';
import { KEYS } from '../../src/keys.js';
import { schemaText } from '../../src/schema.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** The rows of the first markdown table after `## heading`, as arrays of cells (header and rule dropped). */
function table(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  let i = lines.indexOf(`## ${heading}`);
  assert.ok(i >= 0, `docs/usage.md has a '## ${heading}' section`);
  while (!lines[i]!.startsWith('|')) i++;
  const rows: string[][] = [];
  for (i += 2; lines[i]?.startsWith('|'); i++) {
    rows.push(
      lines[i]!.slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
  }
  return rows;
}

test('docs/usage.md Flags table: the same flags, short forms, values and commands as src/flags.ts', () => {
  const rows = table(read('docs/usage.md'), 'Flags');
  const shown = FLAGS.filter((f) => !f.hidden);
  assert.equal(
    rows.map((r) => r[0]),
    shown.map((f) => `\`${flagUsage(f)}\``),
  );
  const cmds = (f: (typeof FLAGS)[number]): string => (f.commands.length === COMMANDS.length ? 'all' : f.commands.join(', '));
  assert.equal(
    rows.map((r) => r[1]),
    shown.map(cmds),
  );
});

test('docs/usage.md deploy.yml table: the same keys, origins and defaults as src/keys.ts', () => {
  const rows = table(read('docs/usage.md'), 'deploy.yml');
  assert.equal(
    rows.map((r) => r[0]),
    KEYS.map((k) => `\`${k.name}\``),
  );
  assert.equal(
    rows.map((r) => r[1]),
    KEYS.map((k) => k.origin),
  );
  const dflt = (k: (typeof KEYS)[number]): string =>
    k.required ? 'required' : k.default === undefined ? '' : /^[a-z0-9_]+$/.test(k.default) && k.default !== 'none' ? `\`${k.default}\`` : k.default;
  assert.equal(
    rows.map((r) => r[2]),
    KEYS.map(dflt),
  );
});

test('schema/deploy.schema.json is what src/schema.ts makes (npm run schema), and the package ships it', () => {
  // Compared as JSON: the committed file is also formatted by Biome (npm run schema does both).
  assert.equal(JSON.parse(read('schema/deploy.schema.json')), JSON.parse(schemaText()), 'run `npm run schema` and commit the result');
  const pkg = JSON.parse(read('package.json')) as { files: string[] };
  assert.ok(pkg.files.includes('schema/'));
  const schema = JSON.parse(schemaText()) as { definitions: { environment: { properties: object; required: string[] } } };
  assert.equal(
    Object.keys(schema.definitions.environment.properties),
    KEYS.map((k) => k.name),
  );
  assert.equal(schema.definitions.environment.required, ['deploy_to', 'repository']);
});

test("help texts list each command's own flags only", () => {
  const setup = helpText('setup');
  assert.not.match(setup, '--check');
  assert.not.match(setup, '--history');
  assert.match(setup, '--timeout S');
  assert.match(setup, '-n, --dry-run');
  assert.match(helpText('deploy'), '-c, --check');
  assert.match(helpText('status'), '--history N');
  assert.match(helpText('rollback'), '--rev REV');
  assert.not.match(helpText('init'), '--only');
  // Every visible flag is in the general help, marked with its commands when not for every host command.
  const general = helpText();
  for (const f of FLAGS.filter((x) => !x.hidden)) assert.match(general, flagUsage(f), f.name);
  assert.match(general, /--check +skip hosts .* \[deploy\]/);
  assert.not.match(general, '--list-envs');
});

test.run();
