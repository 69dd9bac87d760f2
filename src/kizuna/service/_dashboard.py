"""The web dashboard: one static page served by the service app, talking to its JSON API.

Sign in with an API token (kept in the browser tab's ``sessionStorage`` only, sent as
``Authorization: Bearer``); the job list refreshes every two seconds; a completed circuit job
shows a histogram of its counts (SVG, drawn in the page) and its provenance; other kinds show
their result document; a form submits OpenQASM 2 text. No build step, no external assets: the
page works on a machine with no internet (the service's usual home).

The page itself is public (it holds no data); every request it makes carries the token, so the
API's authorisation rules are the dashboard's too. Text from the server is inserted with
``textContent`` only (never ``innerHTML``), so job errors or register names cannot inject
markup.
"""

from __future__ import annotations

__all__ = ["DASHBOARD_PATHS", "mount"]

#: Paths the dashboard serves without a token (static assets only).
DASHBOARD_PATHS = ("/", "/dashboard", "/dashboard/app.js", "/dashboard/style.css")

_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kizuna service</title>
<link rel="stylesheet" href="/dashboard/style.css">
</head>
<body>
<header><h1>Kizuna <span lang="ja">絆</span> service</h1><span id="who"></span>
<button id="signout" hidden>Sign out</button></header>
<main>
<section id="signin">
  <h2>Sign in</h2>
  <form id="signin-form">
    <label for="token">API token</label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button type="submit" id="signin-button">Sign in</button>
  </form>
  <p id="signin-error" class="error" role="alert"></p>
</section>
<section id="app" hidden>
  <div class="columns">
    <div>
      <h2>Jobs</h2>
      <table id="jobs"><thead><tr><th>id</th><th>kind</th><th>state</th><th>queue</th>
        <th>submitted (UTC)</th><th></th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Submit a circuit</h2>
      <form id="submit-form">
        <label for="qasm">OpenQASM 2</label>
        <textarea id="qasm" rows="10" spellcheck="false">OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;</textarea>
        <label for="shots">shots</label><input id="shots" type="number" min="1" value="1000">
        <label for="backend">backend</label>
        <select id="backend"><option>auto</option><option>statevector</option>
          <option>density_matrix</option><option>stabilizer</option><option>mps</option></select>
        <label for="seed">seed (optional)</label><input id="seed" type="number" min="0">
        <button type="submit" id="submit-button">Submit</button>
      </form>
      <p id="submit-status" role="status"></p>
    </div>
  </div>
  <section id="detail" hidden>
    <h2>Job <span id="detail-id"></span> <span id="detail-state" class="state"></span></h2>
    <p id="detail-error" class="error"></p>
    <div id="histogram"></div>
    <h3>Provenance</h3>
    <table id="provenance"><tbody></tbody></table>
    <details><summary>Result document</summary><pre id="document"></pre></details>
  </section>
</section>
</main>
<script src="/dashboard/app.js"></script>
</body>
</html>
"""

_CSS = """body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header h1{font-size:1.2em;margin:0;flex:1}main{padding:1em 1.2em}
.columns{display:grid;grid-template-columns:2fr 1fr;gap:2em}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.3em .5em;border-bottom:1px solid #dde}
th{text-align:left}label{display:block;margin-top:.5em}textarea,input,select{width:100%;box-sizing:border-box;
font-family:ui-monospace,monospace}button{margin-top:.6em}.error{color:#b00020}
.state{font-weight:600}.QUEUED{color:#8a6d00}.RUNNING{color:#0050b3}.COMPLETED{color:#1a7f37}
.FAILED{color:#b00020}.CANCELLED{color:#666}svg text{font-size:11px;font-family:ui-monospace,monospace}
pre{background:#fff;padding:.5em;overflow:auto;max-height:30em}
"""

_JS = r"""'use strict';
const store = window.sessionStorage;
const $ = (id) => document.getElementById(id);
let timer = null;
let shown = null;

async function api(path, options = {}) {
  const headers = Object.assign({'Authorization': 'Bearer ' + store.getItem('kizuna-token')},
                                options.body ? {'Content-Type': 'application/json'} : {});
  const response = await fetch(path, Object.assign({}, options, {headers}));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === 'string' ? body.detail
                                          : JSON.stringify(body.detail)) : response.statusText;
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return body;
}

function cell(row, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function utc(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19) : '';
}

async function refreshJobs() {
  let jobs;
  try { jobs = await api('/api/v1/jobs?limit=200'); } catch (e) {
    if (e.status === 401) { signOut(e.message); }
    return;
  }
  const body = $('jobs').tBodies[0];
  body.replaceChildren();
  for (const job of jobs) {
    const row = document.createElement('tr');
    row.dataset.jobId = job.id;
    cell(row, job.id);
    cell(row, job.kind);
    cell(row, job.state, 'state ' + job.state);
    cell(row, job.queue_position);
    cell(row, utc(job.submitted_at));
    const td = cell(row, '');
    const view = document.createElement('button');
    view.textContent = 'view';
    view.className = 'view';
    view.addEventListener('click', () => showJob(job.id));
    td.appendChild(view);
    body.appendChild(row);
  }
  if (shown) { showJob(shown, true); }
}

function histogram(counts) {
  const keys = Object.keys(counts).sort();
  const total = keys.reduce((s, k) => s + counts[k], 0);
  const max = Math.max(...keys.map((k) => counts[k]), 1);
  const ns = 'http://www.w3.org/2000/svg';
  const barW = 28, gap = 8, height = 180, labelH = 60;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(Math.max(200, keys.length * (barW + gap) + gap)));
  svg.setAttribute('height', String(height + labelH));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'counts histogram');
  keys.forEach((k, i) => {
    const h = Math.round((counts[k] / max) * (height - 20));
    const x = gap + i * (barW + gap);
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', String(x)); rect.setAttribute('y', String(height - h));
    rect.setAttribute('width', String(barW)); rect.setAttribute('height', String(h));
    rect.setAttribute('fill', '#3b6fd8'); rect.setAttribute('class', 'bar');
    rect.dataset.outcome = k; rect.dataset.count = String(counts[k]);
    const title = document.createElementNS(ns, 'title');
    title.textContent = k + ': ' + counts[k] + ' (' + (100 * counts[k] / total).toFixed(1) + '%)';
    rect.appendChild(title);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('transform', 'translate(' + (x + barW / 2) + ',' + (height + 6) + ') rotate(60)');
    label.textContent = k;
    svg.appendChild(rect); svg.appendChild(label);
  });
  return svg;
}

async function showJob(id, quiet) {
  shown = id;
  $('detail').hidden = false;
  $('detail-id').textContent = id;
  let job;
  try { job = await api('/api/v1/jobs/' + encodeURIComponent(id)); } catch (e) {
    $('detail-error').textContent = e.message; return;
  }
  $('detail-state').textContent = job.state;
  $('detail-state').className = 'state ' + job.state;
  $('detail-error').textContent = job.error || '';
  if (job.state !== 'COMPLETED') {
    $('histogram').replaceChildren(); $('provenance').tBodies[0].replaceChildren();
    $('document').textContent = '';
    return;
  }
  if (quiet && $('histogram').dataset.jobId === id) { return; }
  const doc = await api('/api/v1/jobs/' + encodeURIComponent(id) + '/result');
  const counts = doc.result && doc.result.counts;
  $('histogram').replaceChildren(counts ? histogram(counts) : document.createTextNode(''));
  $('histogram').dataset.jobId = id;
  const body = $('provenance').tBodies[0];
  body.replaceChildren();
  for (const [k, v] of Object.entries(doc.provenance || {})) {
    const row = document.createElement('tr');
    cell(row, k);
    cell(row, typeof v === 'object' && v !== null ? JSON.stringify(v) : v);
    body.appendChild(row);
  }
  $('document').textContent = JSON.stringify(doc.result, null, 2);
}

async function signIn(token) {
  store.setItem('kizuna-token', token);
  try {
    const me = await api('/api/v1/whoami');
    $('who').textContent = me.user;
    $('signin').hidden = true; $('app').hidden = false; $('signout').hidden = false;
    $('signin-error').textContent = '';
    await refreshJobs();
    timer = window.setInterval(refreshJobs, 2000);
  } catch (e) {
    signOut(e.status === 401 ? 'That token was not accepted: ' + e.message : e.message);
  }
}

function signOut(message) {
  store.removeItem('kizuna-token');
  if (timer) { window.clearInterval(timer); timer = null; }
  shown = null;
  $('app').hidden = true; $('signin').hidden = false; $('signout').hidden = true;
  $('who').textContent = '';
  $('signin-error').textContent = message || '';
}

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  $('token').value = '';
  signIn(token);
});
$('signout').addEventListener('click', () => signOut(''));
$('submit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const spec = {kind: 'circuit', qasm: $('qasm').value, shots: Number($('shots').value),
                backend: $('backend').value};
  if ($('seed').value !== '') { spec.seed = Number($('seed').value); }
  try {
    const job = await api('/api/v1/jobs', {method: 'POST', body: JSON.stringify({spec})});
    $('submit-status').textContent = 'submitted ' + job.id;
    $('submit-status').dataset.jobId = job.id;
    await refreshJobs();
  } catch (e) {
    $('submit-status').textContent = 'error: ' + e.message;
  }
});
if (store.getItem('kizuna-token')) { signIn(store.getItem('kizuna-token')); }
"""


def mount(app) -> None:
    """Add the dashboard's routes to a FastAPI ``app``: ``/`` redirects to ``/dashboard``."""
    from fastapi.responses import HTMLResponse, RedirectResponse, Response

    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                                          "img-src 'self' data:; frame-ancestors 'none'"}

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    @app.get("/dashboard", include_in_schema=False)
    def _page() -> HTMLResponse:
        return HTMLResponse(_HTML, headers=headers)

    @app.get("/dashboard/app.js", include_in_schema=False)
    def _script() -> Response:
        return Response(_JS, media_type="text/javascript", headers=headers)

    @app.get("/dashboard/style.css", include_in_schema=False)
    def _style() -> Response:
        return Response(_CSS, media_type="text/css", headers=headers)
