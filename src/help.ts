// Help texts: `wd --help`, `wd <command> --help`.
import type { Command } from './args.js';
import { VERSION } from './version.js';

const OPTIONS = `Options:
  -t, --to ENV|PROJECT:ENV  environment (whiskey_disk style) instead of the <env> argument
  -p, --path FILE|DIR|URL   config file, directory to search, or http(s) URL
  -o, --only HOST           act on this one host (as written in domain)
  -r, --roles a,b           act on hosts having any of these roles
  -c, --check               skip hosts already at the remote branch head ("No changes to deploy.")
  -d, --debug               trace the remote script (set -x) and show git's own output
  -n, --dry-run             print the exact script each host would run; contact nothing
  -j, --concurrency N       at most N hosts at once (default: all, up to 256)
      --json                machine-readable result on stdout; host output goes to stderr
  -q, --quiet               only failures and the summary
  -h, --help                this help;  -V, --version  the version`;

const GENERAL = `wd ${VERSION}: fast git deploys, one SSH connection and one bash script per host, all hosts in parallel.

Usage: wd <command> [env] [options]

Commands:
  setup <env>     clone the repository on every host, check out the branch, run post_setup_script
  deploy <env>    fetch, check out, reset --hard origin/<branch>, run post_deploy_script
  init            write a commented starter deploy.yml
  hook ...        git hook integration (wd hook install | wd hook post-receive)
  help [command]  help on one command

${OPTIONS}

Config: --path, or the first of config/deploy/<project>/<env>.yml, config/deploy/<project>.yml,
config/deploy/<env>.yml, config/<env>.yml, config/deploy.yml, then the same without config/.

Exit status: 0 every host succeeded, 1 one or more hosts failed, 2 usage or configuration error.
Docs: README.md and docs/ in the package.
`;

const PER: Partial<Record<Command, string>> = {
  setup: `Usage: wd setup <env> [options]

On every host of <env>: create deploy_to's parent, clone repository there (or say
"Repository already cloned to [PATH].  Skipping."), check out branch, clone and rsync the
config repository if configured, then run post_setup_script and rake deploy:post_setup.

${OPTIONS}
`,
  deploy: `Usage: wd deploy <env> [options]

On every host of <env>, as one bash script over one SSH connection: cd deploy_to,
git fetch origin +refs/heads/B:refs/remotes/origin/B, checkout B, reset --hard origin/B,
record the changed files, refresh and rsync the config repository if configured, then run
post_deploy_script and rake deploy:post_deploy. Inside post scripts: WD_ROLES, wd_role NAME,
wd_changed PATH, WD_CHANGED_FILES, WD_PREVIOUS_REVISION, WD_REVISION.

${OPTIONS}
`,
  init: `Usage: wd init [FILE] [--force]

Write a commented starter config showing every key (default: deploy.yml in the current
directory; refuses to overwrite an existing file unless --force).
`,
  hook: `Usage: wd hook install [ENV ...] [--repo PATH] [-p CONFIG] [-q] [--force]
       wd hook uninstall [--repo PATH]
       wd hook post-receive [ENV ...] -p CONFIG      (run by the hook, reads git's stdin)

install writes a post-receive hook into a bare repository (default: the current one) that
runs 'wd hook post-receive'; that reads git's "<old> <new> <ref>" lines on stdin and deploys
every environment whose branch was pushed and that has deploy_on_push: true or was named
at install time. Tags and branch deletions deploy nothing. The pusher sees the output as
"remote:" lines; it is also appended to wd-deploy.log in the repository's git directory.
A failed deploy does not fail the push (git cannot undo it); it is reported plainly.
An existing post-receive hook is kept as post-receive.wd-chained and still runs first.
--force replaces wd's own hook when its settings change; -q makes the deploys quiet.
See docs/git-hooks.md.
`,
};

export function helpText(about?: Command): string {
  return (about && PER[about]) ?? GENERAL;
}
