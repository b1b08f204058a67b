// Runs one command and measures it: wall time (monotonic clock, in this
// process), and — through GNU time — the CPU time (user + system) of the
// command and every descendant it waited for, and the peak RSS of the largest
// single process among them (for wd, that is the wd node process itself).
// Also the CPU time the whole machine was busy during the run (/proc/stat):
// with the hosts on the same machine, that shows when the testbed saturates.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { onCleanup, killGroup } from './testbed.mjs';

const TIME = '/usr/bin/time';
let gnuTime = null;
export function hasGnuTime() {
  if (gnuTime === null) {
    const r = spawnSync(TIME, ['-f', '%e %U %S %M', 'true'], { encoding: 'utf8' });
    gnuTime = r.status === 0 && /^[\d.]+ [\d.]+ [\d.]+ \d+\s*$/.test(r.stderr.trim().split('\n').pop() + '\n');
  }
  return gnuTime;
}

/**
 * @param spec { cmd, args, cwd?, env? }
 * @param opts { log: file for the command's stdout+stderr, timeoutMs }
 * @returns { wall, cpu, user, sys, rssMB, code, timedOut }
 */
export function measure(spec, { log, timeoutMs = 30 * 60 * 1000 } = {}) {
  return new Promise((resolve) => {
    fs.mkdirSync(path.dirname(log), { recursive: true });
    const out = fs.openSync(log, 'w');
    const tfile = `${log}.time`;
    fs.rmSync(tfile, { force: true });
    const [cmd, args] = hasGnuTime() ? [TIME, ['-f', '%e %U %S %M', '-o', tfile, spec.cmd, ...spec.args]] : [spec.cmd, spec.args];
    const busy0 = machineBusy();
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: spec.cwd,
      env: spec.env || process.env,
      stdio: ['ignore', out, out],
      detached: true,
    });
    const unregister = onCleanup(`child ${spec.cmd}`, () => killGroup(child, 'SIGKILL'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    const finish = (code) => {
      const wall = (performance.now() - t0) / 1000;
      const busy1 = machineBusy();
      const machineCpu = busy0 === null || busy1 === null ? null : Math.round((busy1 - busy0) * 100) / 100;
      clearTimeout(timer);
      unregister();
      fs.closeSync(out);
      // Anything the command left running in its process group goes now.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* all gone, as it should be */
      }
      let user = null,
        sys = null,
        rssMB = null;
      try {
        const line = fs.readFileSync(tfile, 'utf8').trim().split('\n').pop();
        const m = line.match(/^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/);
        if (m) {
          user = Number(m[2]);
          sys = Number(m[3]);
          rssMB = Number(m[4]) / 1024;
        }
      } catch {
        /* no GNU time */
      }
      resolve({ wall, cpu: user === null ? null : user + sys, user, sys, rssMB, machineCpu, code, timedOut });
    };
    child.on('error', () => finish(127));
    child.on('exit', (code, sig) => finish(code ?? (sig ? 128 : 1)));
  });
}

/** CPU seconds all cores spent busy (not idle, not waiting for I/O) since boot. */
function machineBusy() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return null;
  }
}

export function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}
