// The contenders. Each one deploys the same new commit of the same origin to
// the same N hosts through the same delay proxy, and runs the same
// post-deploy command (bin/post-deploy in the repository, which records the
// deployed stamp in ~/.wdbench-post; the harness checks it on every host).
//
// prepare(ctx) writes whatever config the tool needs under ctx.dir and returns
// { deploy, setup? } command specs: { cmd, args, cwd?, env? }.

import fs from 'node:fs';
import path from 'node:path';
import { BRANCH, KEY, ORIGIN, ROOT, WORK, userName } from './testbed.mjs';

export const PEERS = path.join(WORK, 'peers');
export const PM2_HOME = path.join(WORK, 'pm2home');
const PM2_BIN = path.join(PEERS, 'node_modules', 'pm2', 'bin', 'pm2');
const SHIPIT_BIN = path.join(PEERS, 'node_modules', 'shipit-cli', 'bin', 'shipit');
export const WD_BUILT = path.join(ROOT, 'dist', 'cli.js');
/** The wd the bench runs: a snapshot of dist/ (see useWd), so a rebuild mid-run cannot mix versions. */
export let WD_CLI = WD_BUILT;
export function useWd(cli) {
  WD_CLI = cli;
}

/** What whiskey_disk runs per host (one ssh per host), plus the post-deploy command. */
export const POST_DEPLOY = 'bash bin/post-deploy';
export const BUNDLE =
  `cd ~/app && git fetch origin +refs/heads/${BRANCH}:refs/remotes/origin/${BRANCH} && ` +
  `git checkout ${BRANCH} && git reset --hard origin/${BRANCH} && ${POST_DEPLOY}`;
/** The floor's and the harness's own setup: a plain clone. */
export const SETUP_BUNDLE = `git clone -q -b ${BRANCH} ${ORIGIN} ~/app`;

/** OpenSSH client options shared by every OpenSSH-based contender. */
export const sshArgs = (port) => [
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-i',
  KEY,
  '-p',
  String(port),
];

const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const hostList = (n) => Array.from({ length: n }, (_, k) => userName(k + 1));
const node = process.execPath;

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

// Tools that load a .js config with require() must not see the project's
// "type": "module"; the configs live under bench/.work/configs.
export function prepareConfigRoot(dir) {
  write(path.join(dir, 'package.json'), '{ "type": "commonjs", "private": true }\n');
}

// Strip variables that would let a tool use something other than the bench key.
export function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.SSH_AUTH_SOCK;
  delete env.SSH_AGENT_PID;
  return env;
}

export const contenders = [
  {
    id: 'wd',
    label: 'wd deploy',
    note: 'node dist/cli.js deploy (ssh2, one connection + one script per host, all hosts at once)',
    available: () => (fs.existsSync(WD_CLI) ? true : 'dist/cli.js not built (npm run build)'),
    prepare(ctx) {
      const file = wdConfig(ctx, ctx.n, path.join(ctx.dir, 'wd.yml'));
      const base = [WD_CLI];
      return {
        deploy: { cmd: node, args: [...base, 'deploy', 'bench', '-p', file, '-q', ...ctx.wdArgs], env: cleanEnv() },
        setup: { cmd: node, args: [...base, 'setup', 'bench', '-p', file, '-q', ...ctx.wdArgs], env: cleanEnv() },
      };
    },
  },
  {
    // strategy: releases (docs/releases.md): a new worktree per deploy, current switched atomically.
    // Its rollback (a symlink switch and the post-deploy command) is measured after the deploy rounds.
    id: 'wd-releases',
    label: 'wd deploy, strategy: releases',
    note: 'node dist/cli.js deploy with strategy: releases (~/wdrel), then wd rollback',
    available: () => (fs.existsSync(WD_CLI) ? true : 'dist/cli.js not built (npm run build)'),
    prepare(ctx) {
      // Enough releases kept for every measured rollback to step back once more.
      const file = wdConfig(ctx, ctx.n, path.join(ctx.dir, 'wd-releases.yml'), { deployTo: '~/wdrel', releases: (ctx.runs ?? 3) + 3 });
      const run = (cmd) => ({ cmd: node, args: [WD_CLI, cmd, 'bench', '-p', file, '-q', ...ctx.wdArgs], env: cleanEnv() });
      return { deploy: run('deploy'), setup: run('setup'), rollback: run('rollback') };
    },
  },
  {
    id: 'floor',
    label: 'floor (ssh2 script)',
    note: 'bench/floor.mjs: ssh2, all hosts at once, exec the bundle, nothing else',
    available: () => true,
    prepare(ctx) {
      const hosts = hostList(ctx.n).map((user) => ({ user, host: '127.0.0.1', port: ctx.port }));
      const spec = (command) => JSON.stringify({ hosts, key: KEY, command, quiet: true }, null, 1);
      const deployFile = write(path.join(ctx.dir, 'floor-deploy.json'), spec(BUNDLE));
      const setupFile = write(path.join(ctx.dir, 'floor-setup.json'), spec(SETUP_BUNDLE));
      const script = path.join(ctx.benchDir, 'floor.mjs');
      return {
        deploy: { cmd: node, args: [script, deployFile], env: cleanEnv() },
        setup: { cmd: node, args: [script, setupFile], env: cleanEnv() },
      };
    },
  },
  {
    id: 'parallel-ssh',
    label: 'parallel OpenSSH',
    note: 'bash: one background `ssh host BUNDLE` per host, then wait',
    available: () => true,
    prepare(ctx) {
      const opts = sshArgs(ctx.port).map(sq).join(' ');
      const lines = ['#!/bin/bash', '# parallel OpenSSH: the whiskey_disk bundle to every host at once', 'pids=()'];
      for (const u of hostList(ctx.n)) lines.push(`ssh ${opts} ${u}@127.0.0.1 ${sq(BUNDLE)} & pids+=($!)`);
      lines.push('rc=0', 'for p in "${pids[@]}"; do wait "$p" || rc=1; done', 'exit $rc', '');
      const file = write(path.join(ctx.dir, 'parallel-ssh.sh'), lines.join('\n'));
      return { deploy: { cmd: '/bin/bash', args: [file], env: cleanEnv() } };
    },
  },
  {
    id: 'sequential-ssh',
    label: 'sequential OpenSSH (whiskey_disk)',
    scalesLinearly: true,
    note: 'bash: `ssh host BUNDLE` per host, one after another, as whiskey_disk does',
    available: () => true,
    prepare(ctx) {
      const opts = sshArgs(ctx.port).map(sq).join(' ');
      const lines = ['#!/bin/bash', "# sequential OpenSSH: whiskey_disk's way, one host after another", 'rc=0'];
      for (const u of hostList(ctx.n)) lines.push(`ssh ${opts} ${u}@127.0.0.1 ${sq(BUNDLE)} || rc=1`);
      lines.push('exit $rc', '');
      const file = write(path.join(ctx.dir, 'sequential-ssh.sh'), lines.join('\n'));
      return { deploy: { cmd: '/bin/bash', args: [file], env: cleanEnv() } };
    },
  },
  {
    id: 'pm2',
    label: 'pm2 deploy',
    scalesLinearly: true,
    note: 'pm2 deploy (pm2-deploy + visionmedia/deploy): hosts one after another, 5 ssh per host',
    available: () => (fs.existsSync(PM2_BIN) ? true : 'pm2 not installed'),
    prepare(ctx) {
      const eco = {
        apps: [],
        deploy: {
          bench: {
            host: hostList(ctx.n).map((u) => `${u}@127.0.0.1`),
            port: String(ctx.port),
            key: KEY,
            ssh_options: ['BatchMode=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR'],
            repo: ORIGIN,
            ref: `origin/${BRANCH}`,
            // pm2 has one path for all hosts; $USER is expanded by each host's shell.
            path: '/home/$USER/pm2app',
            'post-deploy': POST_DEPLOY,
          },
        },
      };
      const file = write(path.join(ctx.dir, 'ecosystem.json'), JSON.stringify(eco, null, 2));
      // deploy(1) appends to /tmp/pm2-deploy-$USER.log on the *remote* side as
      // well (with the local $USER): give it one file every bench user can write.
      const env = cleanEnv({ PM2_HOME, USER: 'wdbench', LOGNAME: 'wdbench' });
      return {
        deploy: { cmd: node, args: [PM2_BIN, 'deploy', file, 'bench', '--force'], cwd: ctx.dir, env },
        setup: { cmd: node, args: [PM2_BIN, 'deploy', file, 'bench', 'setup', '--force'], cwd: ctx.dir, env },
      };
    },
  },
  {
    id: 'shipit',
    label: 'shipit deploy',
    note: 'shipit-cli + shipit-deploy: local clone, rsync to releases/, symlink; hosts in parallel, one ssh per step',
    available: () => (fs.existsSync(SHIPIT_BIN) ? true : 'shipit-cli not installed'),
    prepare(ctx) {
      const servers = hostList(ctx.n).map((u) => ({
        user: u,
        host: '127.0.0.1',
        port: ctx.port,
        extraSshOptions: { BatchMode: 'yes', UserKnownHostsFile: '/dev/null', LogLevel: 'ERROR' },
      }));
      const file = write(
        path.join(ctx.dir, 'shipitfile.js'),
        `// generated by bench/lib/contenders.mjs
module.exports = (shipit) => {
  require(${JSON.stringify(path.join(PEERS, 'node_modules', 'shipit-deploy'))})(shipit);
  shipit.initConfig({
    default: {
      deployTo: '~/shipitapp',
      repositoryUrl: ${JSON.stringify(ORIGIN)},
      branch: ${JSON.stringify(BRANCH)},
      shallowClone: true,
      keepReleases: 3,
      ignores: ['.git'],
      key: ${JSON.stringify(KEY)},
      strict: 'no',
    },
    bench: { servers: ${JSON.stringify(servers)} },
  });
  // The same post-deploy command as everyone else, in the published release.
  shipit.blTask('post-deploy', async () => {
    await shipit.remote('cd ~/shipitapp/current && ${POST_DEPLOY}');
  });
};
`,
      );
      return {
        deploy: { cmd: node, args: [SHIPIT_BIN, '--shipitfile', file, 'bench', 'deploy', 'post-deploy'], cwd: ctx.dir, env: cleanEnv() },
      };
    },
  },
];

/** A whiskey_disk-style deploy.yml for wd with n hosts behind `ctx.port`; with `releases`, strategy: releases keeping that many. */
export function wdConfig(ctx, n, file, { deployTo = '~/app', releases } = {}) {
  const lines = ['# generated by bench/lib/contenders.mjs', 'bench:', '  domain:'];
  const opts = JSON.stringify(['-i', KEY, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null']);
  for (const u of hostList(n)) {
    lines.push(`    - name: ${u}@127.0.0.1:${ctx.port}`);
    lines.push(`      ssh_options: ${opts}`);
  }
  lines.push(`  deploy_to: ${deployTo}`, `  repository: ${ORIGIN}`, `  branch: ${BRANCH}`, '  post_deploy_script: bin/post-deploy');
  if (releases) lines.push('  strategy: releases', `  keep_releases: ${releases}`);
  lines.push('');
  return write(file, lines.join('\n'));
}

export function pm2Bin() {
  return PM2_BIN;
}
