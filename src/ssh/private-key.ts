// Private keys for public-key auth, parsed once per run and signed from a
// node KeyObject. ssh2's own parsed key signs from its PEM text, so every
// signature re-parses the key (about 0.8 ms for Ed25519, 2.5 ms for RSA on a
// laptop core): at thousands of hosts that was the largest cost of the run.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;

// What ssh2 signs with when the protocol names no hash: the key type's own.
// The RSA SHA-2 variants (rsa-sha2-256/512) come in as the algo argument.
const DEFAULT_HASH: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ssh-rsa': 'sha1',
  'ssh-dss': 'sha1',
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

/**
 * The key with a `sign` that uses one KeyObject made now. ssh2 converts the
 * signature to the SSH wire format itself (authPK), so the result is what its
 * own sign returns: node's crypto.sign output, or an Error.
 */
export function fastSigning(key: ParsedKey): ParsedKey {
  const type = key.type;
  if (!(type in DEFAULT_HASH)) return key;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.getPrivatePEM());
  } catch {
    // Whatever node cannot load as a KeyObject, ssh2 still signs its own way.
    return key;
  }
  const dflt = DEFAULT_HASH[type] ?? null;
  const fast = Object.create(key) as ParsedKey;
  Object.defineProperty(fast, 'sign', {
    value: (data: Buffer, algo?: string): Buffer | Error => {
      try {
        return sign(algo && typeof algo === 'string' ? algo : dflt, data, keyObject);
      } catch (e) {
        return e as Error;
      }
    },
  });
  return fast;
}

/** One parse (and one KeyObject) per key text and run, however many hosts use the key. */
const parsedKeys = new Map<string, ParsedKey | Error>();

export function privateKeyOnce(text: string): ParsedKey | Error {
  let k = parsedKeys.get(text);
  if (k === undefined) {
    const parsed = utils.parseKey(text);
    k = parsed instanceof Error ? parsed : fastSigning((Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey);
    parsedKeys.set(text, k);
  }
  return k;
}
