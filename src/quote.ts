// The one function through which every value enters a shell command.
// Single quotes make everything literal in bash; a single quote itself is
// closed, escaped and reopened. Plain words stay bare so scripts stay readable.
export function quote(value: string): string {
  if (value === '') return "''";
  if (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(value)) return value;
  return "'" + value.replace(/'/g, `'\\''`) + "'";
}

// A path as bash should see it on the host: '~' and '~/x' expand to the
// login user's home there (never here), everything else is literal.
export function quotePath(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return '"$HOME"/' + quote(path.slice(2));
  return quote(path);
}
