// `wd completion bash|zsh|fish`: completion scripts made from the command and
// flag tables (src/flags.ts). Environment names come from the config the user
// would deploy with: the scripts run the hidden `wd completion --list-envs
// [-p PATH]`, which prints them one a line and nothing at all on any error.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PULL_SUBCOMMANDS, type Options } from './args.js';
import { candidates, listEnvironments, loadConfig, parseYaml } from './config.js';
import { UsageError } from './errors.js';
import { COMMAND_SPECS, FLAGS, HOST_COMMANDS, flagsFor, type FlagSpec } from './flags.js';
import type { Io } from './run.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

const shown = (f: FlagSpec): boolean => !f.hidden;
const visibleCommands = COMMAND_SPECS.filter((c) => !c.hidden);
const words = (flags: FlagSpec[]): string =>
  flags
    .filter(shown)
    .flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])])
    .join(' ');
const valueFlags = (): string =>
  FLAGS.filter((f) => f.type === 'string' && shown(f))
    .flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])])
    .join('|');
// Single quotes inside a single-quoted shell word.
const sq = (s: string): string => s.replace(/'/g, `'\\''`);

function bash(): string {
  const perCommand = visibleCommands.map((c) => `    ${c.name}) flags='${words(flagsFor(c.name))}' ;;`).join('\n');
  return `# wd completion for bash (made by 'wd completion bash').
# Install: wd completion bash > ~/.local/share/bash-completion/completions/wd
# or add to ~/.bashrc: source <(wd completion bash)
_wd_envs() {
  command wd completion --list-envs \${1:+-p "$1"} 2>/dev/null
}
_wd() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd='' path='' positional=0 i w flags
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case $w in
      -p|--path) path=\${COMP_WORDS[i+1]}; i=$((i + 1)) ;;
      --path=*) path=\${w#--path=} ;;
      ${valueFlags()}) i=$((i + 1)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$w; else positional=$((positional + 1)); fi ;;
    esac
  done
  case $prev in
    -p|--path|--repo) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -t|--to) COMPREPLY=($(compgen -W "$(_wd_envs "$path")" -- "$cur")); return ;;
    ${valueFlags()}) COMPREPLY=(); return ;;
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '--help -h --version -V --to -t' -- "$cur"))
    else COMPREPLY=($(compgen -W '${visibleCommands.map((c) => c.name).join(' ')}' -- "$cur")); fi
    return
  fi
  case $cmd in
${perCommand}
    *) flags='' ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return; fi
  case $cmd in
    ${HOST_COMMANDS.join('|')}) ((positional == 0)) && COMPREPLY=($(compgen -W "$(_wd_envs "$path")" -- "$cur")) ;;
    hook) ((positional == 0)) && COMPREPLY=($(compgen -W 'install uninstall post-receive' -- "$cur")) ;;
    pull)
      if ((positional == 0)); then COMPREPLY=($(compgen -W '${PULL_SUBCOMMANDS.join(' ')}' -- "$cur"))
      elif ((positional == 1)); then COMPREPLY=($(compgen -W "$(_wd_envs "$path")" -- "$cur")); fi ;;
    completion) ((positional == 0)) && COMPREPLY=($(compgen -W '${SHELLS.join(' ')}' -- "$cur")) ;;
    help) ((positional == 0)) && COMPREPLY=($(compgen -W '${visibleCommands.map((c) => c.name).join(' ')}' -- "$cur")) ;;
    init) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -F _wd wd
`;
}

function zsh(): string {
  const describe = (f: FlagSpec): string[] => {
    const arg = f.type === 'string' ? `:${f.value ?? 'value'}:${f.name === 'path' || f.name === 'repo' ? '_files' : ' '}` : '';
    const help = sq(f.help.replace(/[[\]:]/g, ' '));
    return f.short ? [`'(-${f.short} --${f.name})'{-${f.short},--${f.name}}'[${help}]${arg}'`] : [`'--${f.name}[${help}]${arg}'`];
  };
  const perCommand = visibleCommands
    .map((c) => `    ${c.name}) args=(\n      ${flagsFor(c.name).filter(shown).flatMap(describe).join('\n      ')}\n    ) ;;`)
    .join('\n');
  return `#compdef wd
# wd completion for zsh (made by 'wd completion zsh').
# Install: wd completion zsh > "\${fpath[1]}/_wd"   (or: source <(wd completion zsh) after compinit)
_wd_envs() {
  local -a envs
  local p=\${opt_args[-p]:-\${opt_args[--path]}}
  envs=(\${(f)"$(command wd completion --list-envs \${p:+-p "$p"} 2>/dev/null)"})
  compadd -a envs
}
_wd() {
  local -a commands args
  local cmd
  commands=(
    ${visibleCommands.map((c) => `'${c.name}:${sq(c.summary.replace(/:/g, ' '))}'`).join('\n    ')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'wd command' commands
    return
  fi
  cmd=\${words[2]}
  case $cmd in
${perCommand}
    *) args=() ;;
  esac
  case $cmd in
    ${HOST_COMMANDS.join('|')}) args+=('1:environment:_wd_envs') ;;
    hook) args+=('1:subcommand:(install uninstall post-receive)') ;;
    pull) args+=('1:subcommand:(${PULL_SUBCOMMANDS.join(' ')})' '2:environment:_wd_envs') ;;
    completion) args+=('1:shell:(${SHELLS.join(' ')})') ;;
    help) args+=('1:command:(${visibleCommands.map((c) => c.name).join(' ')})') ;;
    init) args+=('1:file:_files') ;;
  esac
  shift words
  (( CURRENT-- ))
  _arguments -s $args
}
if [[ $funcstack[1] == _wd ]]; then _wd "$@"; else compdef _wd wd; fi
`;
}

function fish(): string {
  const lines = [
    "# wd completion for fish (made by 'wd completion fish').",
    '# Install: wd completion fish > ~/.config/fish/completions/wd.fish',
    'complete -c wd -f',
    ...visibleCommands.map((c) => `complete -c wd -n __fish_use_subcommand -a ${c.name} -d '${sq(c.summary)}'`),
  ];
  for (const f of FLAGS.filter(shown)) {
    const cmds = f.commands.filter((c) => c !== 'help' && c !== 'version');
    const cond = `__fish_seen_subcommand_from ${cmds.join(' ')}`;
    const value = f.type === 'string' ? (f.name === 'path' || f.name === 'repo' ? ' -r -F' : ' -x') : '';
    lines.push(`complete -c wd -n '${cond}'${f.short ? ` -s ${f.short}` : ''} -l ${f.name}${value} -d '${sq(f.help)}'`);
  }
  const seen = (cmds: readonly string[]): string => `__fish_seen_subcommand_from ${cmds.join(' ')}`;
  lines.push(
    `complete -c wd -n '${seen(HOST_COMMANDS)}' -a '(command wd completion --list-envs 2>/dev/null)'`,
    `complete -c wd -n '${seen(['hook'])}' -a 'install uninstall post-receive'`,
    `complete -c wd -n '${seen(['pull'])}; and not ${seen(PULL_SUBCOMMANDS)}' -a '${PULL_SUBCOMMANDS.join(' ')}'`,
    `complete -c wd -n '${seen(['pull'])}; and ${seen(PULL_SUBCOMMANDS)}' -a '(command wd completion --list-envs 2>/dev/null)'`,
    `complete -c wd -n '${seen(['completion'])}' -a '${SHELLS.join(' ')}'`,
    `complete -c wd -n '${seen(['help'])}' -a '${visibleCommands.map((c) => c.name).join(' ')}'`,
    `complete -c wd -n '${seen(['init'])}' -F`,
    '',
  );
  return lines.join('\n');
}

export function completionScript(shell: string): string {
  if (shell === 'bash') return bash();
  if (shell === 'zsh') return zsh();
  if (shell === 'fish') return fish();
  throw new UsageError(`no completion for shell '${shell}'. Usage: wd completion ${SHELLS.join('|')}.`);
}

/**
 * Environment names for completion, from the config `wd deploy` would read
 * (never fetched from a URL: a TAB must not reach the network), plus
 * whiskey_disk's one-file-per-environment layout (config/deploy/<env>.yml,
 * config/deploy/<project>/<env>.yml).
 */
export async function environmentNames(path: string | undefined, cwd: string): Promise<string[]> {
  const names = new Set<string>();
  if (path !== undefined && /^https?:\/\//i.test(path)) return [];
  try {
    const source = await loadConfig(path, cwd, undefined, undefined);
    const envs = listEnvironments(parseYaml(source));
    const count = new Map<string, number>();
    for (const e of envs) count.set(e.env, (count.get(e.env) ?? 0) + 1);
    for (const e of envs) {
      if (e.project !== undefined) names.add(`${e.project}:${e.env}`);
      if (e.project === undefined || count.get(e.env) === 1) names.add(e.env);
    }
  } catch {
    // No config, or a broken one: complete what the file layout shows.
  }
  if (path === undefined) {
    for (const dir of new Set(candidates(cwd, undefined, undefined).map((c) => join(c, '..', 'deploy')))) {
      for (const entry of safeList(dir)) {
        if (entry.isFile() && entry.name.endsWith('.yml')) names.add(basename(entry.name, '.yml'));
        if (entry.isDirectory())
          for (const f of safeList(join(dir, entry.name))) if (f.isFile() && f.name.endsWith('.yml')) names.add(`${entry.name}:${basename(f.name, '.yml')}`);
      }
    }
  }
  // eslint-disable-next-line no-control-regex
  return [...names].filter((n) => !/[\x00-\x20\x7f]/.test(n)).sort();
}

function safeList(dir: string): import('node:fs').Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export async function runCompletion(opts: Options, io: Io): Promise<number> {
  if (opts.listEnvs) {
    for (const n of await environmentNames(opts.path, io.cwd)) io.stdout.write(n + '\n');
    return 0;
  }
  if (opts.rest.length !== 1) throw new UsageError(`Usage: wd completion ${SHELLS.join('|')}.`);
  io.stdout.write(completionScript(opts.rest[0]!));
  return 0;
}
