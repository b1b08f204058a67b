// `wd pull install|uninstall|status <env>`: pull mode, in which every host of
// an environment deploys itself on a timer. The scripts are src/pull/script.ts;
// they reach the hosts through the same pipeline as a deploy (config, host
// plans, one SSH connection per host, all at once), so --only, --roles, -j,
// --dry-run and --json work as they do for `wd deploy`.
import type { Options } from './args.js';
import { cachedReader } from './files.js';
import { useColor } from './output.js';
import { planHosts } from './plan.js';
import { pullJson, pullStatusTable, pullSummary } from './pull/report.js';
import { pullScript } from './pull/script.js';
import { exitCode } from './report.js';
import { execute, loadEnv, runFlags, sshSettings, type Io } from './run.js';
import { VERSION } from './version.js';

export async function runPull(opts: Options, io: Io): Promise<number> {
  const sub = opts.pull!;
  const env = await loadEnv(opts, io.cwd);
  for (const w of env.warnings) io.stderr.write(`wd: warning: ${w}\n`);
  const plans = planHosts(env, 'deploy', { roles: opts.roles, ...(opts.only !== undefined ? { only: opts.only } : {}) }, io.cwd, runFlags(opts, env, io));
  const scripts = plans.map((p) => pullScript(p, sub, opts.every !== undefined ? { every: opts.every } : {}));
  const command = `pull ${sub}`;
  if (plans.length === 0 && !opts.json) {
    io.stdout.write(`No hosts to act on.\n`);
    if (opts.only !== undefined)
      io.stderr.write(`wd: --only '${opts.only}' matches no host of '${env.environment}' (hosts: ${env.hosts.map((h) => h.name).join(', ')}).\n`);
    return 0;
  }
  if (opts.dryRun) {
    // What a real run would reject (a bad ssh_option), a dry run rejects too.
    const readFile = cachedReader();
    await Promise.all(plans.filter((p) => !p.host.local).map((p) => sshSettings(p, io, readFile)));
    if (opts.json) {
      const hosts = plans.map((p, i) => ({ host: p.host.name, script: scripts[i]!.text }));
      io.stdout.write(JSON.stringify({ version: VERSION, command, environment: env.environment, status: 'dry-run', hosts }, null, 2) + '\n');
    } else {
      for (const [i, p] of plans.entries()) io.stdout.write(`# ---- ${p.host.name} ----\n${scripts[i]!.text}`);
    }
    return 0;
  }
  const started = io.now();
  const status = sub === 'status';
  const { results, interrupted } = await execute({ env, plans, scripts }, io, {
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    quiet: opts.quiet || status,
    hostOut: opts.json ? io.stderr : io.stdout,
    progress: !status,
  });
  const code = interrupted ? 130 : exitCode(results);
  const color = useColor(io.stdout.isTTY, io.env);
  if (opts.json) io.stdout.write(pullJson(sub, env.environment, results, started, io.now()));
  else if (status) io.stdout.write(pullStatusTable(results, color));
  else io.stdout.write(pullSummary(sub, results, color));
  return code;
}
