// Throwaway SSH keys and a real ssh-agent holding them.
import { spawn, execFile } from 'node:child_process';
import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
// ssh2 is CommonJS; node's ESM loader only detects a few of its named exports
// (Client, not utils/Server), so take them off the default export.
import ssh2 from 'ssh2';
const { utils } = ssh2;
import { tmpDir, reapOnExit } from './tmp.js';

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  /** OpenSSH-format private key (encrypted when a passphrase was given). */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment", ready for authorized_keys. */
  publicKey: string;
  passphrase?: string;
}

export interface KeyOptions {
  /** Directory to write into; a fresh tmpDir by default. */
  dir?: string;
  /** File name of the private key (default "id_ed25519"). */
  name?: string;
  passphrase?: string;
  comment?: string;
}

/**
 * An ed25519 pair that loads. About 1 in 256 pairs from ssh2's generator lose
 * the leading zero byte of their public half, and then nothing (ssh2,
 * ssh-keygen) can load them: generate again.
 */
export function generateEd25519(opts: { comment?: string; passphrase?: string } = {}): { private: string; public: string } {
  for (let i = 0; ; i++) {
    // aes256-ctr + bcrypt is what ssh-keygen itself uses for a passphrase.
    const pair = opts.passphrase
      ? utils.generateKeyPairSync('ed25519', { comment: opts.comment ?? '', passphrase: opts.passphrase, cipher: 'aes256-ctr' })
      : utils.generateKeyPairSync('ed25519', { comment: opts.comment ?? '' });
    if (!(utils.parseKey(pair.private, opts.passphrase) instanceof Error) || i > 20) return pair;
  }
}

/** Generate an ed25519 pair and write it with mode 0600 (ssh refuses looser keys). */
export function makeKey(opts: KeyOptions = {}): KeyPair {
  const dir = opts.dir ?? tmpDir('wd-key-');
  const privatePath = join(dir, opts.name ?? 'id_ed25519');
  const publicPath = privatePath + '.pub';
  const comment = opts.comment ?? 'wd-test';
  const pair = generateEd25519({ comment, ...(opts.passphrase ? { passphrase: opts.passphrase } : {}) });
  writeFileSync(privatePath, pair.private, { mode: 0o600 });
  writeFileSync(publicPath, pair.public + '\n', { mode: 0o600 });
  chmodSync(privatePath, 0o600); // mode is ignored when the file already existed
  const key: KeyPair = { privatePath, publicPath, privateKey: pair.private, publicKey: pair.public };
  if (opts.passphrase) key.passphrase = opts.passphrase;
  return key;
}

export interface Agent {
  /** Value for SSH_AUTH_SOCK. */
  socket: string;
  pid: number;
  stop(): Promise<void>;
}

const AGENT_TIMEOUT_MS = 5000;

/** Start `ssh-agent -D -a <socket>` and ssh-add the keys (KeyPair or private key paths). */
export async function startAgent(keys: Array<KeyPair | string>): Promise<Agent> {
  const dir = tmpDir('wd-agent-');
  const socket = join(dir, 'agent.sock'); // short path: unix sockets are limited to ~108 bytes
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('ssh-agent did not start (is openssh-client installed?)');
  // Never let a forgotten agent keep the test process alive or outlive it.
  child.unref();
  const unreap = reapOnExit(pid);
  let exited = false;
  const done = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', () => {
    exited = true;
  });

  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(t);
    unreap();
  };

  try {
    const deadline = Date.now() + AGENT_TIMEOUT_MS;
    while (!existsSync(socket)) {
      if (exited) throw new Error('ssh-agent exited before creating its socket');
      if (Date.now() > deadline) throw new Error(`ssh-agent socket ${socket} did not appear`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const k of keys) await sshAdd(socket, dir, k);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, pid, stop };
}

function sshAdd(socket: string, dir: string, key: KeyPair | string): Promise<void> {
  const path = typeof key === 'string' ? key : key.privatePath;
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: socket };
  if (typeof key !== 'string' && key.passphrase) {
    // ssh-add only reads a passphrase from a tty or SSH_ASKPASS; force the latter.
    const askpass = join(dir, 'askpass.sh');
    writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$WD_TEST_PASSPHRASE"\n', { mode: 0o700 });
    Object.assign(env, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', WD_TEST_PASSPHRASE: key.passphrase });
  }
  return new Promise((resolve, reject) => {
    execFile('ssh-add', [path], { env, timeout: AGENT_TIMEOUT_MS }, (err, _out, stderr) => {
      if (err) reject(new Error(`ssh-add ${path} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}
