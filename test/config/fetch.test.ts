// -p http://...: a config fetched from a URL is bounded in size and in time,
// and a server that breaks either bound is a clear ConfigError (exit 2), never
// a stack trace or gigabytes of memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

test.after(cleanup);

type Handler = (res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((_req, res) => handler(res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/deploy.yml`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

// Writes as fast as the client reads, forever.
const endless: Handler = (res) => {
  res.writeHead(200, { 'content-type': 'text/yaml' });
  const chunk = Buffer.alloc(64 * 1024, '# padding\n');
  const more = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  more();
};

// A valid start, then one byte at a time, never finishing.
const trickle: Handler = (res) => {
  res.writeHead(200, { 'content-type': 'text/yaml' });
  res.write('prod:\n');
  const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('#')), 20);
  res.on('close', () => clearInterval(timer));
};

async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  return assert.unreachable('no ConfigError') as never;
}

test('an endless body stops at the size limit, with a message naming it', async () => {
  const s = await serve(endless);
  try {
    const m = await configError(loadConfig(s.url, '/', undefined, 'prod', { bytes: 256 * 1024 }));
    assert.is(
      m,
      `cannot fetch config from ${s.url}: the response is larger than 262144 bytes, the limit for a config file. Check the URL, or use a local file with --path FILE.`,
    );
  } finally {
    await s.close();
  }
});

test('a declared Content-Length over the limit is refused before reading', async () => {
  const s = await serve((res) => {
    res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
    res.write('prod:\n');
  });
  try {
    assert.match(await configError(loadConfig(s.url, '/', undefined, 'prod')), 'the response is larger than 4 MiB, the limit for a config file');
  } finally {
    await s.close();
  }
});

test('a trickling body stops at the time limit for the whole download', async () => {
  const s = await serve(trickle);
  try {
    const m = await configError(loadConfig(s.url, '/', undefined, 'prod', { ms: 300 }));
    assert.is(
      m,
      `cannot fetch config from ${s.url}: no complete response within 0.3 s, the time limit for fetching a config. Check the URL, or use a local file with --path FILE.`,
    );
  } finally {
    await s.close();
  }
});

test('through the binary: exit 2, one line, no stack trace', async () => {
  const s = await serve(endless);
  try {
    const r = await runWd(['deploy', 'prod', '-n', '-p', s.url], { cwd: tmpDir() });
    assert.is(r.code, 2, r.stderr);
    assert.is(
      r.stderr,
      `wd: cannot fetch config from ${s.url}: the response is larger than 4 MiB, the limit for a config file. Check the URL, or use a local file with --path FILE.\n`,
    );
    assert.is(r.stdout, '');
  } finally {
    await s.close();
  }
});

test('a good URL config still loads', async () => {
  const s = await serve((res) => res.end('prod:\n  deploy_to: /x\n  repository: y\n'));
  try {
    const src = await loadConfig(s.url, '/', undefined, 'prod');
    assert.equal(src, { name: s.url, text: 'prod:\n  deploy_to: /x\n  repository: y\n' });
  } finally {
    await s.close();
  }
});

test.run();
