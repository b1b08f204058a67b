// Turns bench results into a plain-text table (stdout) and the Markdown
// results section of docs/benchmarks.md, and checks the issue's targets.

import { stats } from './measure.mjs';
import { contenders } from './contenders.mjs';

const labelOf = (id) => contenders.find((c) => c.id === id)?.label ?? id;
const order = contenders.map((c) => c.id);
const byOrder = (a, b) => order.indexOf(a) - order.indexOf(b);

/** Per-contender summary of one bucket (scenario.deploy or scenario.setup). */
export function summarize(bucket) {
  const out = {};
  for (const [id, b] of Object.entries(bucket || {})) {
    const runs = b.runs || [];
    out[id] = {
      wall: stats(runs.map((r) => r.wall)),
      cpu: stats(runs.map((r) => r.cpu)),
      machineCpu: stats(runs.map((r) => r.machineCpu)),
      rss: stats(runs.map((r) => r.rssMB)),
      connsPerHost: stats(runs.map((r) => r.perHost)),
      perUserMin: runs.length ? Math.min(...runs.map((r) => r.perUserMin)) : null,
      perUserMax: runs.length ? Math.max(...runs.map((r) => r.perUserMax)) : null,
      failures: (b.failures || []).length,
      failureInfo: (b.failures || []).map((f) => `run ${f.run}: exit ${f.code}${f.missingCount ? `, ${f.missingCount} hosts not deployed` : ''}`),
      single: !!b.single,
      skipped: !!b.skipped,
      predicted: b.predicted,
    };
  }
  return out;
}

const f2 = (x) => (x == null ? '–' : x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));
const f1 = (x) => (x == null ? '–' : x.toFixed(1));
const ratio = (x) => (x == null ? '–' : x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
const conns = (s) => {
  if (!s.connsPerHost) return '–';
  const v = s.connsPerHost.median;
  const txt = Number.isInteger(v) ? String(v) : v.toFixed(2);
  return s.perUserMin === s.perUserMax || s.perUserMin == null ? txt : `${txt} (${s.perUserMin}–${s.perUserMax})`;
};

function wallCell(s) {
  if (s.skipped) return `skipped (~${Math.round(s.predicted)} s)`;
  if (!s.wall) return s.failures ? `failed (${s.failures})` : '–';
  const range = s.wall.n > 1 ? ` (${f2(s.wall.min)}–${f2(s.wall.max)})` : '';
  return `${f2(s.wall.median)}${range}${s.single ? ' ¹' : ''}${s.failures ? ` ⚠${s.failures}` : ''}`;
}

function rows(results) {
  const out = [];
  for (const sc of results.scenarios) {
    const d = summarize(sc.deploy);
    const wd = d.wd?.wall?.median;
    for (const id of Object.keys(d).sort(byOrder)) {
      const s = d[id];
      out.push({
        n: sc.n,
        rtt: sc.rtt,
        id,
        label: labelOf(id),
        s,
        runs: s.wall ? s.wall.n : 0,
        ratio: wd && s.wall ? s.wall.median / wd : null,
      });
    }
  }
  return out;
}

function pad(cells, widths) {
  return cells
    .map((c, i) => String(c).padEnd(widths[i]))
    .join('  ')
    .trimEnd();
}

function textTable(header, body) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...body.map((r) => String(r[i]).length)));
  return [pad(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((r) => pad(r, widths))].join('\n');
}

function mdTable(header, body, align) {
  const a = align || header.map(() => '---');
  return [`| ${header.join(' | ')} |`, `| ${a.join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const ROLLBACK_HEAD = ['N', 'RTT', 'contender', 'wall s median (min–max)', 'runs', 'CPU s', 'peak RSS MB', 'SSH conn/host', '× floor'];

function rollbackRows(results) {
  const out = [];
  for (const sc of results.scenarios) {
    const s = summarize(sc.rollback);
    const fl = summarize(sc.deploy).floor?.wall?.median;
    for (const id of Object.keys(s).sort(byOrder)) {
      const x = s[id];
      out.push([
        sc.n,
        `${sc.rtt} ms`,
        'wd rollback, strategy: releases',
        wallCell(x),
        x.wall?.n ?? 0,
        f2(x.cpu?.median),
        f1(x.rss?.median),
        conns(x),
        ratio(fl && x.wall ? x.wall.median / fl : null),
      ]);
    }
  }
  return out;
}

// --------------------------------------------------------------- targets --

export function evaluateTargets(results) {
  const targets = [];
  const sc = (n, rtt) => results.scenarios.find((s) => s.n === n && s.rtt === rtt);
  const med = (scenario, id, bucket = 'deploy') => summarize(scenario?.[bucket])[id]?.wall?.median ?? null;
  const add = (name, measured, met, detail = '') => targets.push({ name, measured, met, detail });

  // 1. wd <= 1.1 x floor, every scenario
  for (const s of results.scenarios) {
    const wd = med(s, 'wd'),
      fl = med(s, 'floor');
    if (wd == null || fl == null) continue;
    add(`N=${s.n} RTT=${s.rtt} ms: wd ≤ 1.1 × floor`, `${f2(wd)} s vs ${f2(fl)} s = ${(wd / fl).toFixed(2)} × floor`, wd <= 1.1 * fl);
  }
  // 2. N=50, RTT=50
  const s50 = sc(50, 50);
  if (s50) {
    const wd = med(s50, 'wd');
    const par = med(s50, 'parallel-ssh'),
      seq = med(s50, 'sequential-ssh'),
      pm2 = med(s50, 'pm2');
    const fl = med(s50, 'floor');
    if (wd != null && par != null)
      add(
        'N=50 RTT=50 ms: wd ≤ 0.5 × parallel OpenSSH',
        `${(wd / par).toFixed(2)} × parallel OpenSSH`,
        wd <= 0.5 * par,
        fl != null ? `the floor: ${(fl / par).toFixed(2)}×` : '',
      );
    if (wd != null && seq != null) add('N=50 RTT=50 ms: wd ≥ 20× faster than sequential OpenSSH', `${(seq / wd).toFixed(1)}× faster`, seq / wd >= 20);
    if (wd != null && pm2 != null)
      add(
        'N=50 RTT=50 ms: wd ≥ 100× faster than pm2 deploy',
        `${(pm2 / wd).toFixed(1)}× faster`,
        pm2 / wd >= 100,
        summarize(s50.deploy).pm2?.single ? 'pm2: one run' : '',
      );
  }
  // 2b. strategy: releases at N=50, RTT=50
  if (s50) {
    const wd = med(s50, 'wd'),
      rel = med(s50, 'wd-releases'),
      fl = med(s50, 'floor'),
      shipit = med(s50, 'shipit');
    const back = med(s50, 'wd-releases', 'rollback');
    if (wd != null && rel != null)
      add('N=50 RTT=50 ms: wd releases deploy ≤ 1.3 × wd in place', `${f2(rel)} s vs ${f2(wd)} s = ${(rel / wd).toFixed(2)}×`, rel <= 1.3 * wd);
    if (back != null && fl != null)
      add(
        'N=50 RTT=50 ms: wd rollback (releases) ≤ 1.1 × floor',
        `${f2(back)} s vs ${f2(fl)} s = ${(back / fl).toFixed(2)}× the floor's deploy`,
        back <= 1.1 * fl,
      );
    if (rel != null && shipit != null)
      add(
        'N=50 RTT=50 ms: shipit (releases) ≥ 10× slower than wd releases',
        `${(shipit / rel).toFixed(1)}× slower`,
        shipit / rel >= 10,
        summarize(s50.deploy).shipit?.single ? 'shipit: one run' : '',
      );
  }
  // 3. flat scaling
  for (const rtt of results.options.rtt) {
    const a = med(sc(1, rtt), 'wd'),
      b = med(sc(50, rtt), 'wd');
    const fa = med(sc(1, rtt), 'floor'),
      fb = med(sc(50, rtt), 'floor');
    if (a != null && b != null)
      add(
        `RTT=${rtt} ms: wd(N=50) ≤ 2 × wd(N=1)`,
        `${f2(b)} s vs ${f2(a)} s = ${(b / a).toFixed(2)}×`,
        b <= 2 * a,
        fa != null && fb != null ? `the floor: ${(fb / fa).toFixed(2)}×` : '',
      );
  }
  // 4. one SSH connection per host per command
  {
    let checked = 0,
      bad = [];
    for (const s of results.scenarios) {
      for (const [bucket, id] of [
        ['deploy', 'wd'],
        ['setup', 'wd'],
        ['deploy', 'wd-releases'],
        ['setup', 'wd-releases'],
        ['rollback', 'wd-releases'],
      ]) {
        const b = s[bucket]?.[id];
        if (!b) continue;
        for (const r of [...b.runs, ...b.failures]) {
          checked++;
          if (!(r.connections === s.n && r.perUserMin === 1 && r.perUserMax === 1 && r.usersSeen === s.n)) {
            bad.push(
              `${id} ${bucket} N=${s.n} RTT=${s.rtt} run ${r.run}: ${r.connections} connections for ${s.n} hosts (per user ${r.perUserMin}–${r.perUserMax})`,
            );
          }
        }
      }
    }
    if (checked)
      add(
        'exactly 1 SSH connection per host per command (sshd log)',
        bad.length ? `${bad.length} of ${checked} runs off` : `1 per host in all ${checked} wd runs`,
        bad.length === 0,
        bad.slice(0, 3).join('; '),
      );
  }
  // 5. cold start (issue 15 §2: --version ≤ 1.1 ×, the 100-host dry run ≤ 1.3 × node -e 0; one host at 0 ms ≤ 1.05 × the floor)
  const cs = results.coldStart;
  for (const [id, what, limit] of [
    ['version', 'wd --version', 1.1],
    ['dryrun', 'wd deploy --dry-run (100 hosts)', 1.3],
  ]) {
    if (!cs?.[id]?.wall || !cs?.node?.wall) continue;
    const r = cs[id].wall.median / cs.node.wall.median;
    add(
      `${what} ≤ ${limit} × node -e 0`,
      `${(cs[id].wall.median * 1000).toFixed(0)} ms vs ${(cs.node.wall.median * 1000).toFixed(0)} ms = ${r.toFixed(2)}×`,
      r <= limit && cs[id].exitCodes.every((c) => c === 0),
      cs[id].exitCodes.some((c) => c !== 0) ? `exit codes ${cs[id].exitCodes.join(',')}` : '',
    );
  }
  {
    const w = med(sc(1, 0), 'wd'),
      f = med(sc(1, 0), 'floor');
    if (w != null && f != null) add('N=1 RTT=0 ms: wd ≤ 1.05 × floor (start-up)', `${f2(w)} s vs ${f2(f)} s = ${(w / f).toFixed(2)} × floor`, w <= 1.05 * f);
  }
  // 6. peak RSS at N=100
  const s100 = results.scenarios.filter((s) => s.n === 100);
  const rss = s100.flatMap((s) => ['deploy', 'setup'].flatMap((b) => (s[b]?.wd?.runs || []).map((r) => r.rssMB))).filter((x) => x != null);
  if (rss.length) {
    const peak = Math.max(...rss);
    add('peak RSS of wd at N=100 ≤ 150 MB', `${peak.toFixed(0)} MB`, peak <= 150);
  }
  return targets;
}

// ---------------------------------------------------------------- render --

export function renderReport(results) {
  const all = rows(results);
  const R = results.options.runs;

  // Plain text for stdout.
  const header = ['N', 'RTT', 'contender', 'wall s median (min–max)', 'runs', 'CPU s', 'machine CPU s', 'peak RSS MB', 'SSH conn/host', '× wd'];
  const body = all.map(deployRow);
  let table = 'Deploy of a new commit (after setup)\n' + textTable(header, body);

  const setupRows = [];
  for (const sc of results.scenarios) {
    const s = summarize(sc.setup);
    for (const id of Object.keys(s).sort(byOrder)) {
      setupRows.push([
        sc.n,
        `${sc.rtt} ms`,
        labelOf(id).replace(' deploy', ' setup'),
        wallCell(s[id]),
        s[id].wall?.n ?? 0,
        f2(s[id].cpu?.median),
        f1(s[id].rss?.median),
        conns(s[id]),
      ]);
    }
  }
  const backRows = rollbackRows(results);
  if (backRows.length) table += "\n\nRollback, strategy: releases (one step back; × the floor's deploy)\n" + textTable(ROLLBACK_HEAD, backRows);
  if (setupRows.length)
    table +=
      '\n\nSetup (fresh hosts)\n' + textTable(['N', 'RTT', 'contender', 'wall s median (min–max)', 'runs', 'CPU s', 'peak RSS MB', 'SSH conn/host'], setupRows);

  const cs = results.coldStart;
  if (cs) {
    table +=
      '\n\nCold start (median of ' +
      cs.runs +
      ')\n' +
      textTable(
        ['command', 'wall ms median (min–max)', 'peak RSS MB', '× node -e 0'],
        ['node', 'version', 'dryrun'].map((k) => [
          cs[k].label + (cs[k].note ? ` (${cs[k].note})` : ''),
          `${(cs[k].wall.median * 1000).toFixed(0)} (${(cs[k].wall.min * 1000).toFixed(0)}–${(cs[k].wall.max * 1000).toFixed(0)})`,
          f1(cs[k].rssMB?.median),
          (cs[k].wall.median / cs.node.wall.median).toFixed(2),
        ]),
      );
  }
  if (results.targets?.length) {
    table +=
      '\n\nTargets\n' +
      textTable(
        ['target', 'measured', 'met'],
        results.targets.map((t) => [t.name, t.measured + (t.detail ? ` (${t.detail})` : ''), t.met ? 'yes' : 'NO']),
      );
  }
  const failures = all.filter((r) => r.s.failures);
  if (failures.length) table += '\n\nFailures\n' + failures.map((r) => `  N=${r.n} RTT=${r.rtt} ${r.label}: ${r.s.failureInfo.join('; ')}`).join('\n');
  table += `\n\n¹ fewer runs (a run takes longer than --slow-after s). Logs: bench/.work/logs/. Raw: bench/.work/results/latest.json`;

  // Markdown for docs/benchmarks.md.
  const m = results.machine;
  const v = results.versions;
  const md = [];
  md.push(`### Results of ${results.started.slice(0, 10)}`, '');
  md.push(`Command: \`${results.command}\` (${Math.round(results.durationS / 60)} min in all; ${R} measured runs after one warm-up unless marked ¹).`, '');
  md.push(
    'Machine: ' +
      [`${m.cores} cores (${m.cpu})`, `${m.memoryGiB} GiB memory`, m.os, `kernel ${m.kernel}`, `node ${m.node}`, m.ssh, m.sshd, m.git].join(', ') +
      '.',
    '',
  );
  md.push(
    'Versions: ' +
      Object.entries(v)
        .filter(([, x]) => x)
        .map(([k, x]) => `${k} ${x.replace(/^wd /, '')}`)
        .join(', ') +
      '.' +
      (results.wdBuild?.distHash
        ? ` wd was run from a snapshot of \`dist/\` (sha256 ${results.wdBuild.distHash}) built from commit ${results.wdBuild.commit ?? '?'}${results.wdBuild.dirty ? ' with uncommitted changes in src/' : ''}.`
        : ''),
    '',
  );
  const loads = results.scenarios.flatMap((s) => s.load);
  if (loads.length) md.push(`Load average (1 min) during the scenarios: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}.`, '');

  // Summary matrix.
  const scen = results.scenarios;
  if (scen.length) {
    md.push('#### Deploy: median wall time in seconds (× wd)', '');
    const ids = [...new Set(all.map((r) => r.id))].sort(byOrder);
    const head = ['contender', ...scen.map((s) => `N=${s.n}, ${s.rtt} ms`)];
    const mbody = ids.map((id) => [
      labelOf(id),
      ...scen.map((s) => {
        const r = all.find((x) => x.n === s.n && x.rtt === s.rtt && x.id === id);
        if (!r) return '–';
        if (r.s.skipped) return `skipped (~${Math.round(r.s.predicted)} s)`;
        if (!r.s.wall) return r.s.failures ? 'failed' : '–';
        return `${f2(r.s.wall.median)}${r.s.single ? '¹' : ''}${r.id !== 'wd' && r.ratio ? ` (${ratio(r.ratio)})` : ''}`;
      }),
    ]);
    md.push(mdTable(head, mbody, ['---', ...scen.map(() => '---:')]), '');
    md.push('#### Deploy: details', '');
    md.push(
      mdTable(
        ['N', 'RTT', 'contender', 'wall s, median (min–max)', 'runs', 'CPU s', 'machine CPU s', 'peak RSS MB', 'SSH conn/host', '× wd'],
        all.map(deployRow),
        ['---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
      ),
      '',
    );
  }
  if (backRows.length) {
    md.push("#### Rollback, strategy: releases (one step back; × the floor's deploy)", '');
    md.push(mdTable(ROLLBACK_HEAD, backRows, ['---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:']), '');
  }
  if (setupRows.length) {
    md.push('#### Setup (fresh hosts)', '');
    md.push(
      mdTable(['N', 'RTT', 'contender', 'wall s, median (min–max)', 'runs', 'CPU s', 'peak RSS MB', 'SSH conn/host'], setupRows, [
        '---:',
        '---:',
        '---',
        '---:',
        '---:',
        '---:',
        '---:',
        '---:',
      ]),
      '',
    );
  }
  if (cs) {
    md.push(`#### Cold start (median of ${cs.runs}, interleaved, after 2 warm-ups)`, '');
    md.push(
      mdTable(
        ['command', 'wall ms, median (min–max)', 'peak RSS MB', '× node -e 0'],
        ['node', 'version', 'dryrun'].map((k) => [
          `\`${cs[k].label}\`${cs[k].note ? ` (${cs[k].note})` : ''}`,
          `${(cs[k].wall.median * 1000).toFixed(0)} (${(cs[k].wall.min * 1000).toFixed(0)}–${(cs[k].wall.max * 1000).toFixed(0)})`,
          f1(cs[k].rssMB?.median),
          (cs[k].wall.median / cs.node.wall.median).toFixed(2),
        ]),
        ['---', '---:', '---:', '---:'],
      ),
      '',
    );
    md.push(`SSH connections opened by the dry runs: ${cs.sshConnections}.`, '');
  }
  if (results.proxyCheck.length) {
    md.push('#### RTT emulation check', '');
    md.push(
      mdTable(
        ['RTT', 'TCP connect → SSH banner, ms', '`ssh host true`, ms (median of 5)', 'SSH connections per `ssh`'],
        results.proxyCheck.map((p) => [`${p.rtt} ms`, f1(p.bannerMs.median), (p.sshTrueS.median * 1000).toFixed(0), p.connectionsPerSsh]),
        ['---:', '---:', '---:', '---:'],
      ),
      '',
    );
    if (results.proxyCheckSummary)
      md.push(
        `The emulated RTT adds ${results.proxyCheckSummary.addedMs.toFixed(0)} ms to one plain \`ssh host true\`, i.e. ${results.proxyCheckSummary.roundTrips.toFixed(1)} round trips.`,
        '',
      );
  }
  if (results.targets?.length) {
    md.push('#### Targets', '');
    md.push(
      mdTable(
        ['target', 'measured', 'met'],
        results.targets.map((t) => [t.name, t.measured + (t.detail ? ` (${t.detail})` : ''), t.met ? 'yes' : '**no**']),
      ),
      '',
    );
  }
  const notes = [...results.notes];
  for (const r of failures) notes.push(`${r.label} at N=${r.n}, RTT=${r.rtt} ms failed: ${r.s.failureInfo.join('; ')} (not counted in the times).`);
  if (all.some((r) => r.s.single))
    notes.push(
      '¹ fewer runs than the others (see the runs column): a run takes longer than `--slow-after` seconds, as predicted from the smaller N (then no warm-up either) or as measured in the warm-up.',
    );
  if (notes.length) md.push('Notes:', '', ...notes.map((x) => `- ${x}`), '');
  return { table, markdown: md.join('\n').trimEnd() };
}

/** One row of the deploy tables (text and markdown share it). */
function deployRow(r) {
  return [r.n, `${r.rtt} ms`, r.label, wallCell(r.s), r.runs, f2(r.s.cpu?.median), f2(r.s.machineCpu?.median), f1(r.s.rss?.median), conns(r.s), ratio(r.ratio)];
}
