// Reading optional files: a missing or unreadable file is `undefined`, not an error,
// for the callers (ssh config, keys, known_hosts, an existing hook) that treat absence as normal.
import { readFileSync } from 'node:fs';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * readText, once per path: with 100 hosts, ~/.ssh/config, the key files and
 * known_hosts are the same for all of them. (A host key recorded during the
 * run is appended to the file, not to this cache; hosts differ, so none needs
 * to see another's new line.)
 */
export function cachedReader(): (path: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (path) => {
    if (!cache.has(path)) cache.set(path, readText(path));
    return cache.get(path);
  };
}
