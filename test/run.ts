// Runs every *.test.js under build/test with uvu, then prints the plain
// "N passed, N failed" line CI reads (uvu's own summary is not recognised).
// WD_TEST_FILTER=substring limits the run to matching files.
import { readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function find(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(full));
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out.sort();
}

const filter = process.env['WD_TEST_FILTER'];
const files = find(here).filter((f) => !filter || f.includes(filter));

// uvu prints its totals through process.stdout.write; read them back from there.
let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (captured.length > 4096) captured = captured.slice(-4096);
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

// uvu has no timeouts; a wedged test must still end the run with a verdict.
const WATCHDOG_MS = Number(process.env['WD_TEST_WATCHDOG_MS'] ?? 40 * 60 * 1000);
setTimeout(() => {
  console.log(`\ntest run exceeded ${WATCHDOG_MS / 60000} minutes: stopping`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}, WATCHDOG_MS).unref();

const g = globalThis as unknown as { UVU_DEFER: number; UVU_INDEX: number; UVU_QUEUE: unknown[][] };
g.UVU_DEFER = 1;
const uvu = await import('uvu');
let idx = 0;
for (const file of files) {
  g.UVU_INDEX = idx++;
  g.UVU_QUEUE.push([relative(here, file)]);
  await import('file://' + file);
}
await uvu.exec(false);

process.stdout.write = write;
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
// uvu's own lines ("  Total:     14"), the last ones: test output quoted in a
// failure diff can hold other "Total: ..." lines (wd prints one).
const count = (name: string): number => Number([...plain.matchAll(new RegExp(`^\\s*${name}:\\s+(\\d+)\\s*$`, 'gm'))].pop()?.[1] ?? 0);
const total = count('Total');
const passed = count('Passed');
const skipped = count('Skipped');
// uvu's Total counts only the tests that ran; skipped ones are not in it.
const failed = Math.max(0, total - passed);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (failed > 0 || total === 0) process.exitCode = 1;
