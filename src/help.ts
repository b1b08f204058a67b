// Help texts: `wd --help`, `wd <command> --help`. The command and option lists
// come from src/flags.ts; only each command's description is written here.
import type { Command } from './args.js';
import { COMMAND_SPECS, FLAGS, HOST_COMMANDS, flagUsage, flagsFor, type FlagSpec } from './flags.js';
import { VERSION } from './version.js';

function optionLines(flags: readonly FlagSpec[], note: (f: FlagSpec) => string = () => ''): string {
  const shown = flags.filter((f) => !f.hidden);
  const width = Math.max(...shown.map((f) => flagUsage(f).length + (f.short ? 0 : 4)));
  return shown
    .map((f) => `  ${(f.short ? '' : '    ') + flagUsage(f)}${' '.repeat(width - flagUsage(f).length - (f.short ? 0 : 4))}  ${f.help}${note(f)}`)
    .join('\n');
}

// In the general help, a flag that only some commands take says which.
const whichCommands = (f: FlagSpec): string => {
  const cmds = f.commands.filter((c) => c !== 'help' && c !== 'version');
  if (f.name === 'help' || f.name === 'version') return '';
  const others = cmds.filter((c) => !(HOST_COMMANDS as readonly string[]).includes(c));
  if (HOST_COMMANDS.every((c) => cmds.includes(c))) return others.length ? ` [also ${others.join(', ')}]` : '';
  return ` [${cmds.join(', ')}]`;
};

function general(): string {
  const cmds = COMMAND_SPECS.filter((c) => !c.hidden);
  const width = Math.max(...cmds.map((c) => `${c.name} ${c.args}`.length));
  return `wd ${VERSION}: fast git deploys, one SSH connection and one bash script per host, all hosts in parallel.

Usage: wd <command> [env] [options]

Commands:
${cmds.map((c) => `  ${`${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`).join('\n')}

Options (for setup, deploy, status and rollback unless [marked]):
${optionLines(FLAGS, whichCommands)}

Config: --path, or the first of config/deploy/<project>/<env>.yml, config/deploy/<project>.yml,
config/deploy/<env>.yml, config/<env>.yml, config/deploy.yml, then the same without config/.

Exit status: 0 every host succeeded, 1 one or more hosts failed, 2 usage or configuration error,
130 interrupted (after the summary of what finished).
Docs: README.md and docs/ in the package.
`;
}

const PER: Partial<Record<Command, { usage: string; text: string }>> = {
  setup: {
    usage: 'wd setup <env> [options]',
    text: `On every host of <env>: make deploy_to a git checkout of repository (git init and fetch
the branch; when one is there, say "Repository already cloned to [PATH].  Skipping." and
refresh it as a deploy would), the same for the config repository and its rsync if configured,
then run post_setup_script and rake deploy:post_setup.`,
  },
  deploy: {
    usage: 'wd deploy <env> [options]',
    text: `On every host of <env>, as one bash script over one SSH connection: cd deploy_to,
git fetch origin +refs/heads/B:refs/remotes/origin/B, checkout B, reset --hard origin/B,
record the changed files, refresh and rsync the config repository if configured, then run
post_deploy_script and rake deploy:post_deploy. Inside post scripts: WD_ROLES, wd_role NAME,
wd_changed PATH, WD_CHANGED_FILES, WD_PREVIOUS_REVISION, WD_REVISION.`,
  },
  status: {
    usage: 'wd status <env> [options]',
    text: `Per host of <env>: the deployed revision and branch, when and by whom the last run was,
its result, whether the checkout is clean and behind origin, and who holds the lock.`,
  },
  rollback: {
    usage: 'wd rollback <env> [--rev REV] [options]',
    text: `Every host of <env> back to the previous successful deploy, or to REV; post_deploy_script
runs with WD_ROLLBACK=1. whiskey_disk's --to names the environment, so after <env>
'wd rollback prod --to REV' means the revision too.`,
  },
  pull: {
    usage: `wd pull install <env> [--every 5m] [options]
       wd pull uninstall <env> [options]
       wd pull status <env> [options]`,
    text: `Pull mode: every host of <env> deploys itself, with nothing central to scale.
install puts on each host (one SSH connection each, all at once) a bash script under the
deploy's state directory (in place: <deploy_to>/.git/wd/pull/, releases: <deploy_to>/.wd/pull/):
the deploy script wd would run there, with --check, so a run with nothing new changes nothing.
It runs from a systemd timer where systemd runs (system units for root, user units otherwise:
those need 'loginctl enable-linger USER' to run while USER is logged out), else from the login
user's crontab, every --every (1m to 24h, dividing an hour or a day; default 5m), each run a
random part of the interval late so a fleet does not fetch at the same second. A pulled deploy
takes the same lock and writes the same history (by pull@HOST) and log as a pushed one.
Run install again to pick up a changed deploy.yml. uninstall removes the schedule and the
files; status shows per host whether pull mode is on, its interval, and the last pulled run
(skipped runs too). Needs 'wd setup <env>' first. Nothing else is installed: no node, no wd.`,
  },
  init: {
    usage: 'wd init [FILE] [--force]',
    text: `Write a commented starter config showing every key (default: deploy.yml in the current
directory; missing directories are created; refuses to overwrite an existing file unless
--force). Its first line points editors with the YAML language server at wd's JSON Schema
(schema/deploy.schema.json in the package): a relative path when FILE is inside the project
that has wd installed in node_modules (or inside wd's own clone), else the absolute path.`,
  },
  hook: {
    usage: `wd hook install [ENV ...] [--repo PATH] [-p CONFIG] [-q] [--force]
       wd hook uninstall [--repo PATH]
       wd hook post-receive [ENV ...] -p CONFIG      (run by the hook, reads git's stdin)`,
    text: `install writes a post-receive hook into a bare repository (default: the current one) that
runs 'wd hook post-receive'; that reads git's "<old> <new> <ref>" lines on stdin and deploys
every environment whose branch was pushed and that has deploy_on_push: true or was named
at install time. Tags and branch deletions deploy nothing. The pusher sees the output as
"remote:" lines; it is also appended to wd-deploy.log in the repository's git directory.
A failed deploy does not fail the push (git cannot undo it); it is reported plainly.
An existing post-receive hook is kept as post-receive.wd-chained and still runs first.
--force replaces wd's own hook when its settings change; -q makes the deploys quiet.
See docs/git-hooks.md.`,
  },
  completion: {
    usage: 'wd completion bash|zsh|fish',
    text: `Print a completion script for the shell: commands, options, and the environments of the
config found from the current directory (or -p). Install it with, for example:
  bash:  wd completion bash > ~/.local/share/bash-completion/completions/wd
  zsh:   wd completion zsh > "\${fpath[1]}/_wd"
  fish:  wd completion fish > ~/.config/fish/completions/wd.fish`,
  },
};

export function helpText(about?: Command): string {
  const per = about && PER[about];
  if (!about || !per) return general();
  return `Usage: ${per.usage}

${per.text}

Options:
${optionLines(flagsFor(about))}
`;
}
