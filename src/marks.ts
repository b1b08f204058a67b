// The protocol between a host script and the runner: marker lines on the
// script's stdout, hidden from the user. The marker carries a token derived
// from the script's own text, so output of a post script cannot produce one
// by accident, and it is found anywhere in a line (output without a final
// newline runs into it).
import { createHash } from 'node:crypto';

export const MARK_PREFIX = '::wd:';
/** Stands for the token while the script is built; see withToken(). */
export const TOKEN_PLACEHOLDER = '@WD_TOKEN@';

export const STEPS = [
  'prepare',
  'lock',
  'check',
  'fetch',
  'changes',
  'config',
  'rsync',
  'rake',
  'release',
  'shared',
  'before_switch_script',
  'switch',
  'prune',
  'post_setup_script',
  'post_deploy_script',
  'rollback',
  'status',
] as const;
export type Step = (typeof STEPS)[number];

/** The words a person reads for a step, in failure reasons and progress. */
export const STEP_WORDS: Record<Step, string> = {
  prepare: 'checking deploy_to',
  lock: 'taking the lock',
  check: 'staleness check',
  fetch: 'git fetch/checkout/reset',
  changes: 'recording changed files',
  config: 'config repository update',
  rsync: 'config rsync',
  rake: 'rake hook',
  release: 'making the release',
  shared: 'linking shared paths',
  before_switch_script: 'before_switch_script',
  switch: 'switching current',
  prune: 'pruning old releases',
  post_setup_script: 'post_setup_script',
  post_deploy_script: 'post_deploy_script',
  rollback: 'rollback',
  status: 'status',
};

export const stepWords = (s: string | undefined): string => (s && (STEPS as readonly string[]).includes(s) ? STEP_WORDS[s as Step] : (s ?? ''));

/** How the host's run ended, as the job on the host saw it. */
export type Outcome = 'ok' | 'failed' | 'unchanged' | 'timeout' | 'interrupted' | 'busy';

export type Mark =
  | { kind: 'step'; step: string }
  | { kind: 'previous'; revision: string }
  | { kind: 'revision'; revision: string }
  | { kind: 'done' }
  | { kind: 'unchanged' }
  /** Why the script gave up, in its own words (wd_fail). */
  | { kind: 'reason'; text: string }
  /** The job's verdict; for busy, the lock holder. */
  | { kind: 'result'; outcome: Outcome; detail: string }
  /** wd status: one field of the host's state. */
  | { kind: 'status'; key: string; value: string }
  /** wd status --history: one history line. */
  | { kind: 'history'; line: string };

const OUTCOMES: readonly string[] = ['ok', 'failed', 'unchanged', 'timeout', 'interrupted', 'busy'];

/** The text after the marker token: "<kind> <rest>". Unknown kinds are ignored (undefined). */
export function parseMark(rest: string): Mark | undefined {
  const text = rest.replace(/^ /, '');
  const sp = text.indexOf(' ');
  const kind = sp < 0 ? text : text.slice(0, sp);
  const arg = sp < 0 ? '' : text.slice(sp + 1);
  switch (kind) {
    case 'step':
      return { kind, step: arg.trim() };
    case 'previous':
    case 'revision':
      return { kind, revision: arg.trim() };
    case 'done':
    case 'unchanged':
      return { kind };
    case 'result': {
      const s2 = arg.indexOf(' ');
      const outcome = s2 < 0 ? arg : arg.slice(0, s2);
      if (!OUTCOMES.includes(outcome)) return undefined;
      return { kind, outcome: outcome as Outcome, detail: s2 < 0 ? '' : arg.slice(s2 + 1) };
    }
    case 'status': {
      const s2 = arg.indexOf(' ');
      return { kind, key: s2 < 0 ? arg : arg.slice(0, s2), value: s2 < 0 ? '' : arg.slice(s2 + 1) };
    }
    case 'history':
      return { kind, line: arg };
    case 'reason':
      return { kind, text: arg };
    default:
      return undefined;
  }
}

/**
 * Replace the placeholder with a token derived from the script text: the same
 * script gets the same token (so --dry-run prints what runs and golden files
 * stay stable), and nothing outside the script can know it.
 */
export function withToken(script: string): { script: string; mark: string } {
  const token = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const mark = `${MARK_PREFIX}${token}::`;
  return { script: script.split(TOKEN_PLACEHOLDER).join(token), mark };
}
