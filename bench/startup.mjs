#!/usr/bin/env node
// Start-up time alone, without the SSH testbed: `node -e 0` against `wd --version`,
// `wd --help` and `wd deploy --dry-run` of 100 hosts (which reads the config, plans
// and builds every script, and contacts nobody). Runs interleaved, after warm-up
// rounds, so drift and other load hit every case alike; reports medians and the
// ratio of each to `node -e 0` measured in the same run.
//
//   node bench/startup.mjs [--runs 30] [--cli dist/bin.js] [--cli other.js ...]
//
// Several --cli compare builds in one run (e.g. a tsc output against the bundle).
// Meant to run on an idle machine, or under a `flock` lock shared with other benchmarks; it asserts nothing.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export function parseStartupOptions(argv) {
  const o = { runs: 30, warmup: 3, clis: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--cli') o.clis.push(path.resolve(argv[++i]));
    else {
      console.error(`bench/startup.mjs: unknown option ${a}; usage: node bench/startup.mjs [--runs N] [--warmup N] [--cli FILE]...`);
      process.exit(2);
    }
  }
  // The bin package.json names (it answers --version itself and runs dist/cli.js for the rest).
  if (!o.clis.length) o.clis.push(path.join(ROOT, 'dist', 'bin.js'));
  return o;
}

/** A deploy.yml of n hosts that --dry-run plans without contacting (nothing listens on port 1). */
function dryRunConfig(dir, n) {
  const lines = ['bench:', '  domain:'];
  for (let i = 1; i <= n; i++) lines.push(`    - name: wdb${i}@127.0.0.1:1`, '      ssh_options: ["-o", "StrictHostKeyChecking=no"]');
  lines.push('  deploy_to: ~/app', '  repository: https://example.invalid/app.git', '  branch: main', '  post_deploy_script: bin/post-deploy', '');
  const file = path.join(dir, 'wd-100.yml');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function startupCases(clis, config) {
  const cases = [{ id: 'node', label: 'node -e 0', args: ['-e', '0'] }];
  clis.forEach((cli, i) => {
    const tag = clis.length > 1 ? ` [${i + 1}]` : '';
    cases.push(
      { id: `version${i}`, label: `wd --version${tag}`, args: [cli, '--version'] },
      { id: `help${i}`, label: `wd --help${tag}`, args: [cli, '--help'] },
      { id: `dryrun${i}`, label: `wd deploy --dry-run x100${tag}`, args: [cli, 'deploy', 'bench', '-p', config, '--dry-run'] },
    );
  });
  return cases;
}

/** Interleaved runs of every case; { id: { label, median ms, ratio to node -e 0 } }. */
export function measureStartup({ runs, warmup, clis }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-startup-'));
  try {
    const cases = startupCases(clis, dryRunConfig(dir, 100));
    const walls = Object.fromEntries(cases.map((c) => [c.id, []]));
    const cpus = Object.fromEntries(cases.map((c) => [c.id, []]));
    const tfile = path.join(dir, 'time');
    const preload = path.join(dir, 'cpu.cjs');
    fs.writeFileSync(
      preload,
      "process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(process.env.WD_STARTUP_CPU_FILE, String(u.user + u.system)); });\n",
    );
    const env = { ...process.env, NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (k.startsWith('npm_') || k === 'NODE_OPTIONS') delete env[k];
    for (let r = 0; r < warmup + runs; r++) {
      for (const c of cases) {
        // The process's own CPU time (µs, all its threads), written at exit by a preloaded
        // module: on a shared, loaded machine it varies far less than the wall time.
        const t0 = performance.now();
        const p = spawnSync(process.execPath, ['--require', preload, ...c.args], {
          cwd: dir,
          env: { ...env, WD_STARTUP_CPU_FILE: tfile },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const ms = performance.now() - t0;
        if (p.status !== 0) throw new Error(`${c.label} exited ${p.status}: ${p.stderr}`);
        if (r < warmup) continue;
        walls[c.id].push(ms);
        cpus[c.id].push(Number(fs.readFileSync(tfile, 'utf8')) / 1000);
      }
    }
    const node = median(walls.node);
    const nodeCpu = median(cpus.node);
    return Object.fromEntries(
      cases.map((c) => {
        const cpuMs = median(cpus[c.id]);
        return [c.id, { label: c.label, medianMs: median(walls[c.id]), ratio: median(walls[c.id]) / node, cpuMs, cpuRatio: cpuMs / nodeCpu }];
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = parseStartupOptions(process.argv.slice(2));
  const load0 = os.loadavg()[0];
  const res = measureStartup(o);
  console.log(
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}, ${o.runs} runs each`,
  );
  for (const [i, c] of o.clis.entries()) console.log(`[${i + 1}] ${path.relative(process.cwd(), c) || c}`);
  console.log(`${'median of each'.padEnd(34)} ${'wall'.padStart(10)} ${'ratio'.padStart(6)} ${'cpu'.padStart(10)} ${'ratio'.padStart(6)}`);
  for (const r of Object.values(res)) {
    const cpu = `${r.cpuMs.toFixed(1).padStart(7)} ms ${r.cpuRatio.toFixed(2).padStart(5)}×`;
    console.log(`${r.label.padEnd(34)} ${r.medianMs.toFixed(1).padStart(7)} ms ${r.ratio.toFixed(2).padStart(5)}× ${cpu}`);
  }
}
