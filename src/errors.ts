// Typed errors: the CLI's single catch turns these into a message and exit
// code 2 (usage or configuration, found before any host is contacted).
// Anything else that escapes is a bug and is reported with its stack.
export class WdError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'WdError';
    this.exitCode = exitCode;
  }
}

export class UsageError extends WdError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export class ConfigError extends WdError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

// Levenshtein distance, used to suggest the closest known key/env/flag.
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  // A suggestion further away than half the word is noise, not help.
  return bestScore <= Math.max(2, Math.floor(word.length / 2)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c ? ` (did you mean '${printable(c)}'?)` : '';
}

/** A name from a config or the command line as it can be shown on one line: quoted and escaped when it holds control characters. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(s) ? JSON.stringify(s) : s;
}
