import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { git, makeOrigin } from './helpers/git.js';
import { cleanup } from './helpers/tmp.js';

test.after(cleanup);

test('makeOrigin: bare repo with main and other, commit() pushes', () => {
  const o = makeOrigin();
  assert.ok(o.head('main'));
  assert.is.not(o.head('main'), o.head('other'));
  const sha = o.commit('main', { 'app.txt': 'v2\n' });
  assert.is(o.head('main'), sha);
  assert.is(git(o.url, 'show', 'main:app.txt'), 'v2');
  assert.is(git(o.url, 'show', 'other:app.txt'), 'v1');
});

test.run();
