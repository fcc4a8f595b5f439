/**
 * The dashboard page: one static HTML document, its stylesheet and its
 * script, served as they are (no build step). The script fetches
 * /api/grid every few seconds and redraws; every value from the grid is
 * set as text (textContent), never parsed as HTML.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stdchk grid</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>stdchk grid</h1>
  <span id="health" class="badge" data-health="">loading</span>
  <span id="updated" class="muted"></span>
</header>
<main>
  <section id="storage-section">
    <h2>Storage</h2>
    <p id="storage-error" class="error" hidden></p>
    <div id="cards" class="cards"></div>
  </section>
  <section>
    <h2>Benefactors</h2>
    <table id="benefactors">
      <thead><tr><th>benefactor</th><th>host</th><th>address</th><th>state</th><th class="wide">disk used / donated</th><th>chunks</th><th>corrupt</th><th>scrub</th><th>last heartbeat</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="scheduler-section">
    <h2>Workers</h2>
    <table id="workers">
      <thead><tr><th>worker</th><th>host</th><th>state</th><th>slots</th><th>jobs</th><th>last heard</th></tr></thead>
      <tbody></tbody>
    </table>
    <h2>Jobs</h2>
    <table id="jobs">
      <thead><tr><th>job</th><th>name</th><th>kind</th><th>state</th><th>worker</th><th>checkpoints</th><th>last checkpoint</th><th>interval</th><th>restores</th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="timelines"></div>
  </section>
  <p id="no-scheduler" class="muted" hidden>No scheduler: this page is served by the manager (storage only).</p>
</main>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --line: #d0d7de; --muted: #57606a; --bar: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { display: flex; align-items: baseline; gap: 1em; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 16px; margin: 20px 0 8px; }
main { padding: 0 20px 20px; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.badge { padding: 2px 10px; border-radius: 10px; color: #fff; background: var(--muted); font-weight: bold; }
.badge[data-health="ok"] { background: var(--ok); }
.badge[data-health="degraded"] { background: var(--warn); }
.badge[data-health="unavailable"], .badge[data-health="unreachable"] { background: var(--bad); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.card .v { font-size: 18px; font-weight: bold; }
.card .k { color: var(--muted); font-size: 12px; }
.card.bad .v { color: var(--bad); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { background: #eaeef2; font-weight: 600; }
th.wide { width: 30%; }
td.state { font-weight: bold; }
tr[data-state="alive"] td.state, tr[data-state="running"] td.state, tr[data-state="done"] td.state { color: var(--ok); }
tr[data-state="lost"] td.state, tr[data-state="failed"] td.state { color: var(--bad); }
tr[data-state="lost"] { background: #fff0f0; }
tr[data-state="restoring"] td.state, tr[data-state="queued"] td.state { color: var(--warn); }
.bar { position: relative; height: 16px; background: #eaeef2; border-radius: 3px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--bar); }
.bar > em { position: absolute; left: 6px; top: 0; font-size: 11px; font-style: normal; line-height: 16px; }
.timeline { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-top: 12px; padding: 8px 12px; }
.timeline h3 { font-size: 14px; margin: 0 0 4px; }
.timeline svg { width: 100%; height: 90px; display: block; }
.timeline svg text { font-size: 10px; fill: var(--muted); }
.timeline .cp { fill: var(--bar); }
.timeline .restore { stroke: var(--bad); stroke-width: 2; }
.timeline .axis { stroke: var(--line); }
.timeline table { margin-top: 6px; }
`;

export const PAGE_JS = String.raw`'use strict';
(function () {
  var REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh')) || 2000;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function size(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function ago(ms, now) {
    if (!ms) return 'never';
    var s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }
  function secs(s) { return s < 10 ? s.toFixed(2) + ' s' : s.toFixed(0) + ' s'; }
  function clock(ms) { return new Date(ms).toLocaleTimeString(); }
  function replaceRows(table, rows) {
    var body = table.tBodies[0];
    body.replaceChildren.apply(body, rows);
  }
  function card(k, v, bad) {
    return el('div', { 'class': 'card' + (bad ? ' bad' : ''), 'data-card': k }, [el('div', { 'class': 'v' }, [v]), el('div', { 'class': 'k' }, [k])]);
  }
  function bar(used, total) {
    var pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
    var fill = el('span');
    fill.style.width = pct.toFixed(1) + '%';
    return el('div', { 'class': 'bar', title: pct.toFixed(1) + '%' }, [fill, el('em', {}, [size(used) + ' / ' + size(total)])]);
  }

  function drawStorage(g, now) {
    var health = document.getElementById('health');
    var err = document.getElementById('storage-error');
    var cards = document.getElementById('cards');
    if (!g.storage) {
      health.textContent = 'no storage';
      health.dataset.health = '';
      return [];
    }
    if (!g.storage.ok) {
      health.textContent = 'storage unreachable';
      health.dataset.health = 'unreachable';
      err.hidden = false;
      err.textContent = 'cannot read the storage status: ' + g.storage.error;
      return null;
    }
    err.hidden = true;
    var s = g.storage.status;
    health.textContent = s.health;
    health.dataset.health = s.health;
    var saved = s.logicalBytes > 0 ? Math.max(0, 1 - s.storedBytes / s.logicalBytes) : 0;
    cards.replaceChildren(
      card('files', s.files),
      card('logical', size(s.logicalBytes)),
      card('stored once', size(s.storedBytes)),
      card('dedup savings', (100 * saved).toFixed(1) + '% (' + size(Math.max(0, s.logicalBytes - s.storedBytes)) + ')'),
      card('chunks', s.chunks),
      card('under-replicated', s.underReplicatedChunks, s.underReplicatedChunks > 0),
      card('unavailable', s.unavailableChunks, s.unavailableChunks > 0),
      card('repairs in progress', s.repairsInProgress),
      card('pending deletions', s.pendingDeletions),
      card('benefactors', s.benefactorsAlive + ' alive, ' + s.benefactorsLost + ' lost', s.benefactorsLost > 0),
      card('free', size(s.freeBytes) + ' of ' + size(s.capacityBytes))
    );
    return s.benefactors.map(function (b) {
      var state = b.alive ? 'alive' : 'lost';
      var scrub = b.scrub.progress > 0 ? Math.floor(b.scrub.progress * 100) + '%' : 'last ' + ago(b.scrub.lastCompletedMs, now);
      return el('tr', { 'data-benefactor': b.id, 'data-state': state }, [
        el('td', { title: b.id }, [b.id.slice(0, 8)]),
        el('td', {}, [b.host]),
        el('td', {}, [b.address]),
        el('td', { 'class': 'state' }, [state]),
        el('td', {}, [bar(b.usedBytes, b.capacityBytes)]),
        el('td', {}, [b.chunks]),
        el('td', { 'class': b.corruptChunks > 0 ? 'error' : '' }, [b.corruptChunks]),
        el('td', {}, [scrub]),
        el('td', {}, [ago(b.lastHeartbeatMs, now)])
      ]);
    });
  }

  function timeline(j, now) {
    var box = el('div', { 'class': 'timeline', 'data-timeline': j.id });
    function count(n, what) { return n + ' ' + what + (n === 1 ? '' : 's'); }
    box.appendChild(el('h3', {}, [j.name + ' (' + j.id + '): ' + count(j.checkpointsTaken, 'checkpoint') + ' taken' +
      (j.checkpointsDeleted > 0 ? ' (' + j.checkpointsDeleted + ' older deleted by retention)' : '') +
      (j.restores.length > 0 ? ', ' + count(j.restores.length, 'restore') : '')]));
    var start = j.startedAtMs || j.submittedAtMs;
    var end = j.finishedAtMs || now;
    j.checkpoints.forEach(function (c) { start = Math.min(start, c.completedAtMs - c.seconds * 1000); });
    var span = Math.max(1000, end - start);
    var W = 1000, H = 90, L = 10, R = 10;
    var x = function (t) { return L + ((t - start) / span) * (W - L - R); };
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img' });
    s.appendChild(svg('line', { 'class': 'axis', x1: L, x2: W - R, y1: 60, y2: 60 }));
    s.appendChild(svg('text', { x: L, y: 80 }, clock(start)));
    s.appendChild(svg('text', { x: W - R - 60, y: 80 }, clock(end)));
    var maxBytes = 1;
    j.checkpoints.forEach(function (c) { maxBytes = Math.max(maxBytes, c.bytes); });
    j.checkpoints.forEach(function (c) {
      var x1 = x(c.completedAtMs - c.seconds * 1000), x2 = x(c.completedAtMs);
      var h = 8 + 40 * (c.bytes / maxBytes);
      var r = svg('rect', { 'class': 'cp', x: x1, y: 60 - h, width: Math.max(3, x2 - x1), height: h, 'data-seq': c.seq });
      r.appendChild(svg('title', {}, '#' + c.seq + ': ' + size(c.bytes) + ', ' + size(c.newBytes) + ' new, ' + secs(c.seconds) + ' on ' + c.worker));
      s.appendChild(r);
    });
    j.restores.forEach(function (r) {
      var xr = x(r.atMs);
      var l = svg('line', { 'class': 'restore', x1: xr, x2: xr, y1: 5, y2: 65 });
      l.appendChild(svg('title', {}, (r.fromSeq > 0 ? 'restored from #' + r.fromSeq : 'restarted') + ' on ' + r.worker + ' in ' + secs(r.seconds) + ': ' + r.reason));
      s.appendChild(l);
      s.appendChild(svg('text', { x: xr + 3, y: 14 }, (r.fromSeq > 0 ? 'restore #' + r.fromSeq : 'restart') + ' on ' + r.worker));
    });
    box.appendChild(s);
    var rows = j.checkpoints.map(function (c) {
      return { at: c.completedAtMs, row: el('tr', { 'data-checkpoint': c.seq }, [
        el('td', {}, ['#' + c.seq]), el('td', {}, [clock(c.completedAtMs)]), el('td', {}, [size(c.bytes)]),
        el('td', {}, [size(c.newBytes)]), el('td', {}, [secs(c.seconds)]), el('td', {}, [c.worker])
      ]) };
    });
    var restoreRows = j.restores.map(function (r) {
      return { at: r.atMs, row: el('tr', { 'data-restore': r.atMs }, [
        el('td', {}, [r.fromSeq > 0 ? 'restore from #' + r.fromSeq : 'restart']), el('td', {}, [clock(r.atMs)]),
        el('td', { colspan: 2 }, [(r.fromWorker || '?') + ' \u2192 ' + r.worker + ': ' + r.reason]),
        el('td', {}, [secs(r.seconds)]), el('td', {}, [r.worker])
      ]) };
    });
    // Newest first, checkpoints and restores in the order they happened.
    var all = rows.concat(restoreRows).sort(function (a, b) { return b.at - a.at; }).map(function (x) { return x.row; });
    var t = el('table', { 'class': 'checkpoints' }, [
      el('thead', {}, [el('tr', {}, ['checkpoint', 'completed', 'size', 'new bytes', 'time', 'worker'].map(function (h) { return el('th', {}, [h]); }))]),
      el('tbody', {}, all)
    ]);
    box.appendChild(t);
    return box;
  }

  function drawScheduler(g, now) {
    var section = document.getElementById('scheduler-section');
    document.getElementById('no-scheduler').hidden = !!g.scheduler;
    section.hidden = !g.scheduler;
    if (!g.scheduler) return;
    var sc = g.scheduler;
    replaceRows(document.getElementById('workers'), sc.workers.map(function (w) {
      var state = w.alive ? 'alive' : 'lost';
      return el('tr', { 'data-worker': w.id, 'data-state': state }, [
        el('td', {}, [w.id]), el('td', {}, [w.host]), el('td', { 'class': 'state' }, [state]),
        el('td', {}, [w.slots]), el('td', {}, [w.jobs.join(', ')]), el('td', {}, [ago(w.lastSeenMs, now)])
      ]);
    }));
    replaceRows(document.getElementById('jobs'), sc.jobs.map(function (j) {
      var last = j.checkpoints.length ? j.checkpoints[j.checkpoints.length - 1] : null;
      return el('tr', { 'data-job': j.id, 'data-state': j.state }, [
        el('td', {}, [j.id]), el('td', {}, [j.name]), el('td', {}, [j.kind]),
        el('td', { 'class': 'state', title: j.error || j.lastCheckpointError || '' }, [j.state + (j.activity ? ' (' + j.activity + ')' : '')]),
        el('td', { 'class': 'worker' }, [j.worker || '\u2013']),
        el('td', { 'class': 'taken' }, [j.checkpointsTaken]),
        el('td', {}, [last ? '#' + last.seq + ', ' + size(last.bytes) + ' (' + size(last.newBytes) + ' new), ' + ago(last.completedAtMs, now) : '\u2013']),
        el('td', {}, [j.intervalSeconds ? secs(j.intervalSeconds) : '\u2013']),
        el('td', {}, [j.restores.length])
      ]);
    }));
    var tl = document.getElementById('timelines');
    tl.replaceChildren.apply(tl, sc.jobs.map(function (j) { return timeline(j, now); }));
  }

  function draw(g) {
    var now = g.generatedAtMs;
    var rows = drawStorage(g, now);
    if (rows) replaceRows(document.getElementById('benefactors'), rows);
    drawScheduler(g, now);
    document.getElementById('updated').textContent = 'updated ' + clock(now) + ' (every ' + REFRESH_MS / 1000 + ' s), served by the ' + g.servedBy;
    document.body.dataset.loaded = String(now);
  }

  function refresh() {
    fetch('api/grid', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(draw, function (e) {
        var health = document.getElementById('health');
        health.textContent = 'dashboard unreachable';
        health.dataset.health = 'unreachable';
        document.getElementById('updated').textContent = String(e && e.message || e);
      })
      .finally(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();
`;
