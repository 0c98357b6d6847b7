// loop's portal: a hash-routed page over loopd's JSON API (same origin,
// the loop_token cookie). Text goes into the page with textContent (via
// el() below), never innerHTML; the only exception is a docs page, whose
// HTML the daemon sanitized.
'use strict';

// ---- DOM helpers -----------------------------------------------------------

// el builds an element; string children become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids.flat()) if (k != null) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

// safeURL returns url when it is http(s), else null: a Loopfile or catalog
// link must not become a javascript: URL.
function safeURL(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch { return null; }
}

function extLink(url, text) {
  const href = safeURL(url);
  return href ? el('a', { href, rel: 'noopener noreferrer', target: '_blank' }, text || url) : el('span', {}, text || url);
}

const enc = encodeURIComponent;

function fmtDur(ns) {
  if (!ns) return '–';
  const ms = ns / 1e6;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

function fmtTime(t) {
  if (!t || t.startsWith('0001-')) return '–';
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

function pct(x) { return `${(100 * (x || 0)).toFixed(1)}%`; }

function table(caption, headers, rows) {
  return el('table', {},
    caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, headers.map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
}

function note(text) { return el('p', { class: 'note' }, text); }

// ---- API -------------------------------------------------------------------

// NotAvailable: the daemon does not serve this endpoint (yet): a 404 that
// is not one of the API's JSON errors.
class NotAvailable extends Error {}

async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', ...opts });
  if (r.ok) return r.status === 204 ? null : r.json();
  const json = (r.headers.get('Content-Type') || '').includes('application/json');
  if (r.status === 404 && !json) throw new NotAvailable(`${path}: not available yet in this loopd`);
  let msg = `${r.status} ${r.statusText}`;
  if (json) {
    try { const j = await r.json(); msg = j.error + (j.hint ? ` (${j.hint})` : ''); } catch { /* keep the status */ }
  }
  if (r.status === 401) msg += ' — run `loop open` to log this browser in again';
  const e = new Error(msg);
  e.status = r.status;
  throw e;
}

function post(path, body) {
  return api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

// failure renders an error, or the "not available yet" note.
function failure(err, what) {
  if (err instanceof NotAvailable) return note(`${what} is not available yet in this loopd.`);
  return el('p', { class: 'error', role: 'alert' }, `${what}: ${err.message}`);
}

// ---- live state ------------------------------------------------------------

const state = {
  projects: new Map(), // name -> api.Project
  seq: 0,
  source: null,
};

function putProject(p) {
  state.projects.set(p.name, p);
  if (p.seq > state.seq) state.seq = p.seq;
}

async function loadProjects() {
  const ps = await api('/v1/projects');
  state.projects.clear();
  for (const p of ps) putProject(p);
}

function connectEvents() {
  if (state.source) state.source.close();
  const live = document.getElementById('live');
  const src = new EventSource(`/v1/events?after=${state.seq}`);
  state.source = src;
  src.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  src.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'live off'; };
  src.addEventListener('gap', async () => { await loadProjects(); render(); });
  src.onmessage = m => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    if (ev.seq > state.seq) state.seq = ev.seq;
    onEvent(ev);
  };
}

function onEvent(ev) {
  const p = state.projects.get(ev.project);
  if (ev.kind === 'removed') {
    state.projects.delete(ev.project);
    if (view.name === 'projects') render();
    return;
  }
  if (!p) { // a new project: read its snapshot
    api(`/v1/projects/${enc(ev.project)}`).then(np => { putProject(np); if (view.name === 'projects') render(); }).catch(() => {});
    return;
  }
  if (ev.resource) {
    const i = p.resources.findIndex(r => r.name === ev.resource.name);
    if (i < 0) {
      p.resources.push(ev.resource);
      if (view.name === 'projects') render();
      return;
    }
    p.resources[i] = ev.resource;
    updateResource(ev.project, ev.resource);
    return;
  }
  if (ev.kind === 'project') {
    // Loopfile errors and recoveries: re-read the snapshot, which says which.
    api(`/v1/projects/${enc(ev.project)}`).then(np => {
      putProject(np);
      for (const b of document.querySelectorAll(`[data-banner="${CSS.escape(np.name)}"]`)) b.replaceWith(banner(np));
      if (view.name === 'projects') render();
    }).catch(() => {});
  }
}

// updateResource refreshes a resource wherever the page shows it, in place.
function updateResource(project, r) {
  const key = `${project}/${r.name}`;
  for (const row of document.querySelectorAll(`[data-key="${CSS.escape(key)}"]`)) {
    for (const cell of row.querySelectorAll('[data-field]')) fill(cell, r);
  }
  for (const h of document.querySelectorAll(`[data-history="${CSS.escape(key)}"]`)) if (h.refresh) h.refresh(r);
  for (const h of document.querySelectorAll(`[data-traces="${CSS.escape(key)}"]`)) if (h.refresh) h.refresh(r);
}

function fill(cell, r) {
  const f = cell.dataset.field;
  switch (f) {
    case 'state':
      cell.textContent = r.state + (r.pending_changes ? ' (changes pending)' : '');
      cell.className = `state state-${r.state}`;
      break;
    case 'since': cell.textContent = fmtTime(r.since); break;
    case 'restarts': cell.textContent = String(r.restarts || 0); break;
    case 'pid': cell.textContent = r.pid ? String(r.pid) : '–'; break;
    case 'last_exit': cell.textContent = r.last_exit || '–'; break;
    case 'last_run': cell.textContent = fmtDur(r.last_run_ns); break;
    case 'save_to_live': cell.textContent = fmtDur(r.save_to_live_ns); break;
    default: cell.textContent = r[f] || '';
  }
}

function field(tag, name, r) {
  const c = el(tag, { 'data-field': name });
  fill(c, r);
  return c;
}

// banner says what is wrong with a project beyond its resources: a broken
// Loopfile, and loop's own problems (logs that cannot be written, ...).
function banner(p) {
  const holder = el('div', { 'data-banner': p.name });
  const e = p.loopfile_error;
  if (e) {
    const where = [e.file, e.line, e.col].filter(Boolean).join(':');
    holder.append(el('div', { class: 'banner', role: 'alert' },
      el('strong', {}, `${p.name}: the Loopfile is broken; the last good configuration keeps running.`),
      el('pre', {}, `${where ? where + ': ' : ''}${e.message}${e.hint ? '\nhint: ' + e.hint : ''}`)));
  }
  for (const pb of p.problems || []) {
    holder.append(el('div', { class: 'banner', role: 'alert', 'data-problem': pb.component },
      el('strong', {}, `${p.name}: ${pb.component}`),
      el('pre', {}, pb.message)));
  }
  // The organisation's policy rules the Loopfile waives (policy_exception()).
  const ex = p.policy_exceptions || [];
  if (ex.length) {
    holder.append(el('div', { class: 'banner note', 'data-exceptions': p.name },
      el('strong', {}, `${p.name}: policy exceptions`),
      el('ul', {}, ex.map(e => el('li', { 'data-rule': e.rule },
        el('code', {}, e.rule), `: ${e.reason} (${e.declared})`)))));
  }
  return holder;
}

function links(r) {
  const ls = (r.links || []).map(l => extLink(l.url, l.name || l.url));
  for (const port of r.ports || []) ls.push(extLink(`http://127.0.0.1:${port}/`, `:${port}`));
  if (!ls.length) return '–';
  return ls.flatMap((a, i) => (i ? [' ', a] : [a]));
}

// ---- views -----------------------------------------------------------------

const view = { name: '', abort: null };

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case '': return { name: 'projects' };
    case 'p': return parts[2] === 'r' ? { name: 'resource', project: parts[1], resource: parts[3] } : { name: 'projects' };
    case 'catalog': return { name: 'catalog' };
    case 'docs': return { name: 'docs', project: parts[1], page: parts[2] };
    case 'api': return { name: 'apispec', project: parts[1], resource: parts[2] };
    case 'metrics': return { name: 'metrics' };
    case 'trace': return { name: 'trace', trace: parts[1] };
    default: return { name: 'notfound' };
  }
}

async function render() {
  if (view.abort) view.abort.abort();
  view.abort = new AbortController();
  const rt = route();
  view.name = rt.name;
  const nav = { projects: 'projects', resource: 'projects', catalog: 'catalog', apispec: 'catalog', docs: 'docs', metrics: 'metrics', trace: 'projects' }[rt.name];
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('main');
  const views = { projects: projectsView, resource: resourceView, catalog: catalogView, docs: docsView, apispec: apiView, metrics: metricsView, trace: traceView };
  const fn = views[rt.name] || (() => el('p', {}, 'No such page. ', el('a', { href: '#/' }, 'Back to the projects.')));
  let content;
  try {
    content = await fn(rt, view.abort.signal);
  } catch (err) {
    content = failure(err, 'Loading this page');
  }
  if (route().name !== rt.name) return; // navigated away meanwhile
  main.replaceChildren(content);
}

// labelFilter is the label the projects view shows (#/?label=NAME), or ''.
function labelFilter() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q).get('label') || '';
}

// labelLinks shows a resource's labels; each one filters the projects
// view by that label (a resource matches when it has the label).
function labelLinks(r) {
  const ls = (r.labels || []).map(l => el('a', { class: 'label', href: `#/?label=${enc(l)}`, 'data-label': l, title: `only resources labelled ${l}` }, l));
  if (!ls.length) return '–';
  return ls.flatMap((a, i) => (i ? [' ', a] : [a]));
}

function projectsView() {
  const out = el('section', { 'aria-labelledby': 'h-projects' }, el('h2', { id: 'h-projects' }, 'Projects'));
  if (!state.projects.size) {
    out.append(note('No project is up. Run `loop up` in a directory with a Loopfile.'));
    return out;
  }
  const want = labelFilter();
  const all = [...new Set([...state.projects.values()].flatMap(p => p.resources.flatMap(r => r.labels || [])))].sort();
  if (all.length || want) {
    const pick = el('select', { id: 'label-filter', name: 'label' }, el('option', { value: '' }, 'all resources'),
      [...new Set([...all, want].filter(Boolean))].sort().map(l => el('option', { value: l, selected: l === want }, l)));
    pick.addEventListener('change', () => { location.hash = pick.value ? `#/?label=${enc(pick.value)}` : '#/'; });
    out.append(el('form', { class: 'filters', role: 'search', onsubmit: e => e.preventDefault() },
      el('label', { for: 'label-filter' }, 'Label', pick),
      want ? el('a', { href: '#/', id: 'label-clear' }, 'Show every resource') : null));
  }
  for (const p of state.projects.values()) {
    const shown = want ? p.resources.filter(r => (r.labels || []).includes(want)) : p.resources;
    const rows = shown.map(r => el('tr', { 'data-key': `${p.name}/${r.name}` },
      el('th', { scope: 'row' }, el('a', { href: `#/p/${enc(p.name)}/r/${enc(r.name)}` }, r.name)),
      el('td', {}, r.kind),
      field('td', 'state', r),
      field('td', 'reason', r),
      field('td', 'since', r),
      field('td', 'restarts', r),
      el('td', {}, labelLinks(r)),
      el('td', {}, links(r))));
    out.append(el('section', { 'aria-label': p.name },
      el('h3', {}, p.name),
      el('p', { class: 'note' }, p.dir),
      banner(p),
      rows.length ? table(null, ['Resource', 'Kind', 'State', 'Reason', 'Since', 'Restarts', 'Labels', 'Endpoints'], rows)
        : note(`No resource of ${p.name} has the label ${want}.`)));
  }
  return out;
}

async function resourceView(rt, signal) {
  const p = state.projects.get(rt.project) || await api(`/v1/projects/${enc(rt.project)}`);
  putProject(p);
  const r = p.resources.find(x => x.name === rt.resource);
  if (!r) return el('p', { class: 'error' }, `No resource ${rt.resource} in ${rt.project}.`);
  const key = `${p.name}/${r.name}`;
  const base = `/v1/projects/${enc(p.name)}`;
  const status = el('p', { role: 'status', 'aria-live': 'polite', class: 'note' });
  const action = a => el('button', { type: 'button', 'data-action': a, onclick: async () => {
    status.textContent = `${a}…`;
    try {
      await post(`${base}/resources/${enc(r.name)}/${a}`);
      status.textContent = `${a}: done`;
    } catch (err) { status.textContent = `${a}: ${err.message}`; }
  } }, a[0].toUpperCase() + a.slice(1));

  const facts = el('dl', { class: 'facts', 'data-key': key },
    el('dt', {}, 'State'), field('dd', 'state', r),
    el('dt', {}, 'Reason'), field('dd', 'reason', r),
    el('dt', {}, 'Since'), field('dd', 'since', r),
    el('dt', {}, 'Kind'), el('dd', {}, `${r.kind}, trigger ${r.trigger || 'auto'}`),
    el('dt', {}, 'Pid'), field('dd', 'pid', r),
    el('dt', {}, 'Restarts'), field('dd', 'restarts', r),
    el('dt', {}, 'Last exit'), field('dd', 'last_exit', r),
    el('dt', {}, 'Last run'), field('dd', 'last_run', r),
    el('dt', {}, 'Save to live'), field('dd', 'save_to_live', r),
    el('dt', {}, 'Endpoints'), el('dd', {}, links(r)),
    el('dt', {}, 'Labels'), el('dd', {}, labelLinks(r)),
    el('dt', {}, 'Command'), el('dd', {}, el('code', {}, (r.cmd || []).join(' '))),
    el('dt', {}, 'Directory'), el('dd', {}, r.dir || ''),
    el('dt', {}, 'Declared'), el('dd', {}, r.declared || '–'),
    r.resource_deps && r.resource_deps.length ? [el('dt', {}, 'Depends on'), el('dd', {}, r.resource_deps.join(', '))] : null);

  const diags = (r.diagnostics || []).map(d => el('tr', {},
    el('td', {}, el('code', {}, [d.file, d.line, d.col].filter(Boolean).join(':') || '–')),
    el('td', {}, d.severity), el('td', {}, d.message), el('td', {}, d.source || '')));

  const history = historyView(p.name, r, signal);

  return el('section', { 'aria-labelledby': 'h-res' },
    el('p', {}, el('a', { href: '#/' }, '← Projects')),
    el('h2', { id: 'h-res' }, `${p.name} / ${r.name}`),
    banner(p),
    facts,
    el('div', { class: 'actions' }, ['trigger', 'restart', 'enable', 'disable'].map(action), status),
    el('h3', {}, 'Diagnostics'),
    diags.length ? table(null, ['Where', 'Severity', 'Message', 'Source'], diags) : note('No current diagnostics.'),
    el('h3', {}, 'Build and restart history'),
    history,
    el('h3', {}, 'Traces'),
    tracesSection(p.name, r, signal),
    el('h3', {}, 'Logs'),
    logView(p.name, r.name, signal));
}

// historyView is the resource's build and restart history. It reloads
// (debounced) whenever the resource reaches a new state, so a restart
// shows up without reloading the page.
function historyView(project, r, signal) {
  const box = el('div', { id: 'history', 'data-history': `${project}/${r.name}` }, note('Loading history…'));
  const load = () => api(`/v1/history?project=${enc(project)}&resource=${enc(r.name)}&limit=50`, { signal }).then(hs => {
    if (!hs || !hs.length) { box.replaceChildren(note('No runs recorded yet.')); return; }
    box.replaceChildren(table(null, ['Started', 'Kind', 'Outcome', 'Duration', 'Reason'], hs.map(h => el('tr', {},
      el('td', {}, fmtTime(h.start)), el('td', {}, h.kind), el('td', {}, h.outcome), el('td', {}, fmtDur(h.duration_ns)), el('td', {}, h.reason || '')))));
  }).catch(err => { if (err.name !== 'AbortError') box.replaceChildren(failure(err, 'Build and restart history')); });
  return reloadOnChange(box, r, load);
}

// reloadOnChange gives box a refresh(resource) hook that calls load
// (shortly, once) when the resource's state or since changes, loads it
// now, and returns box.
function reloadOnChange(box, r, load) {
  let last = `${r.state}|${r.since}`;
  let timer = null;
  box.refresh = nr => {
    const mark = `${nr.state}|${nr.since}`;
    if (mark === last) return;
    last = mark;
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  };
  load();
  return box;
}

// logView streams the resource's logs (NDJSON, follow=1), read
// incrementally; the search is the server's grep, the stream filter is
// applied here.
function logView(project, resource, viewSignal) {
  const grep = el('input', { type: 'search', id: 'log-grep', name: 'grep', placeholder: 'regular expression', autocomplete: 'off' });
  const stream = el('select', { id: 'log-stream', name: 'stream' },
    ['all', 'stdout', 'stderr', 'loop'].map(s => el('option', { value: s === 'all' ? '' : s }, s)));
  const follow = el('input', { type: 'checkbox', id: 'log-follow', checked: true });
  const list = el('ol', { class: 'log', id: 'log', 'aria-label': 'Log lines', tabindex: '0' });
  const msg = el('p', { class: 'note', role: 'status', id: 'log-status' });
  let lines = [];
  let ctl = null;
  const MAX = 2000;

  const show = l => el('li', { class: `s-${l.stream}`, 'data-stream': l.stream, hidden: !!stream.value && l.stream !== stream.value },
    el('span', { class: 'time' }, new Date(l.time).toLocaleTimeString()),
    el('span', { class: 'stream' }, l.stream),
    el('span', { class: 'text' }, l.text),
    l.trace_id ? [' ', traceLink(l.trace_id)] : null);

  function add(batch) {
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    lines.push(...batch);
    list.append(...batch.map(show));
    while (lines.length > MAX) { lines.shift(); list.firstChild.remove(); }
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  async function start() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    viewSignal.addEventListener('abort', () => ctl.abort(), { once: true });
    lines = [];
    list.replaceChildren();
    msg.textContent = follow.checked ? 'following…' : '';
    const q = new URLSearchParams({ resource, tail: '500' });
    if (grep.value) q.set('grep', grep.value);
    if (follow.checked) q.set('follow', '1');
    let r;
    try {
      r = await fetch(`/v1/projects/${enc(project)}/logs?${q}`, { credentials: 'same-origin', signal });
      if (!r.ok) {
        let m = `${r.status}`;
        try { const j = await r.json(); m = j.error; } catch { /* keep the status */ }
        msg.textContent = `Logs: ${m}`;
        return;
      }
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        const parts = buf.split('\n');
        buf = parts.pop();
        const batch = [];
        for (const s of parts) {
          if (!s.trim()) continue;
          try { batch.push(JSON.parse(s)); } catch { /* a torn line: skip */ }
        }
        if (batch.length) add(batch);
      }
      if (!signal.aborted) msg.textContent = follow.checked ? 'the stream ended (the project went down?)' : `${lines.length} lines`;
    } catch (err) {
      if (err.name !== 'AbortError') msg.textContent = `Logs: ${err.message}`;
    }
  }

  let timer = 0;
  grep.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(start, 250); });
  stream.addEventListener('change', () => {
    for (const li of list.children) li.hidden = !!stream.value && li.dataset.stream !== stream.value;
  });
  follow.addEventListener('change', start);
  start();

  return el('div', {},
    el('form', { class: 'filters', role: 'search', onsubmit: e => { e.preventDefault(); start(); } },
      el('label', { for: 'log-grep' }, 'Search', grep),
      el('label', { for: 'log-stream' }, 'Stream', stream),
      el('label', { for: 'log-follow', class: 'checkbox' }, follow, ' Follow')),
    msg, list);
}

async function catalogView(rt, signal) {
  const q = el('input', { type: 'search', id: 'cat-q', name: 'q', placeholder: 'name, owner, description…' });
  const team = el('select', { id: 'cat-team', name: 'team' }, el('option', { value: '' }, 'any'));
  const life = el('select', { id: 'cat-lifecycle', name: 'lifecycle' },
    ['', 'experimental', 'production', 'deprecated'].map(v => el('option', { value: v }, v || 'any')));
  const results = el('div', { 'aria-live': 'polite' });

  let all;
  try {
    all = await api('/v1/catalog', { signal });
  } catch (err) {
    return el('section', {}, el('h2', {}, 'Catalog'), failure(err, 'The service catalog'));
  }
  for (const t of [...new Set((all || []).map(e => e.team).filter(Boolean))].sort()) team.append(el('option', { value: t }, t));

  function rows(entries) {
    if (!entries || !entries.length) return note('No catalog entries match. Add catalog() metadata to a Loopfile.');
    return table(null, ['Service', 'Owner', 'Team', 'Tier', 'Lifecycle', 'Description', 'Links'], entries.map(e => {
      const ls = [];
      if (e.docs) ls.push(safeURL(e.docs) && /^https?:/.test(e.docs) ? extLink(e.docs, 'docs') : el('a', { href: `#/docs/${enc(e.project)}` }, 'docs'));
      if (e.runbook) ls.push(/^https?:/.test(e.runbook) ? extLink(e.runbook, 'runbook') : el('a', { href: `#/docs/${enc(e.project)}/${enc(e.runbook.split('/').pop())}` }, 'runbook'));
      if (e.api_spec && e.resource) ls.push(el('a', { href: `#/api/${enc(e.project)}/${enc(e.resource)}` }, 'API'));
      if (e.repository) ls.push(extLink(e.repository, 'repository'));
      return el('tr', {},
        el('th', { scope: 'row' }, e.resource ? `${e.project} / ${e.resource}` : e.project),
        el('td', {}, e.owner || ''), el('td', {}, e.team || ''), el('td', {}, e.tier || ''),
        el('td', {}, e.lifecycle || ''), el('td', {}, e.description || ''),
        el('td', {}, ls.flatMap((a, i) => (i ? [' · ', a] : [a]))));
    }));
  }
  async function search() {
    const p = new URLSearchParams();
    if (q.value) p.set('q', q.value);
    if (team.value) p.set('team', team.value);
    if (life.value) p.set('lifecycle', life.value);
    try { results.replaceChildren(rows(await api(`/v1/catalog?${p}`, { signal }))); } catch (err) { results.replaceChildren(failure(err, 'The service catalog')); }
  }
  let timer = 0;
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  team.addEventListener('change', search);
  life.addEventListener('change', search);
  results.append(rows(all));
  return el('section', { 'aria-labelledby': 'h-cat' },
    el('h2', { id: 'h-cat' }, 'Catalog'),
    el('form', { class: 'filters', role: 'search', onsubmit: e => { e.preventDefault(); search(); } },
      el('label', { for: 'cat-q' }, 'Search', q),
      el('label', { for: 'cat-team' }, 'Team', team),
      el('label', { for: 'cat-lifecycle' }, 'Lifecycle', life)),
    results);
}

async function docsView(rt, signal) {
  const out = el('section', { 'aria-labelledby': 'h-docs' });
  if (rt.project && rt.page) {
    out.append(el('p', {}, el('a', { href: `#/docs/${enc(rt.project)}` }, `← ${rt.project} docs`)));
    try {
      const d = await api(`/v1/projects/${enc(rt.project)}/docs/${enc(rt.page)}`, { signal });
      const body = el('article', { class: 'docbody' });
      body.innerHTML = d.html || ''; // sanitized by loopd (the only innerHTML in the portal)
      out.append(el('h2', { id: 'h-docs', class: 'sr-only' }, d.title || d.name), body);
    } catch (err) { out.append(el('h2', { id: 'h-docs' }, rt.page), failure(err, 'This page')); }
    return out;
  }
  out.append(el('h2', { id: 'h-docs' }, rt.project ? `${rt.project} docs` : 'Docs'));
  const names = rt.project ? [rt.project] : [...state.projects.keys()];
  if (!names.length) out.append(note('No project is up.'));
  for (const name of names) {
    try {
      const pages = await api(`/v1/projects/${enc(name)}/docs`, { signal });
      out.append(el('h3', {}, name), pages && pages.length
        ? el('ul', {}, pages.map(d => el('li', {}, el('a', { href: `#/docs/${enc(name)}/${enc(d.name)}` }, d.title || d.name))))
        : note('No pages in docs/.'));
    } catch (err) { out.append(el('h3', {}, name), failure(err, 'Docs')); }
  }
  return out;
}

async function apiView(rt, signal) {
  const out = el('section', { 'aria-labelledby': 'h-api' },
    el('p', {}, el('a', { href: '#/catalog' }, '← Catalog')),
    el('h2', { id: 'h-api' }, `API of ${rt.project} / ${rt.resource}`));
  try {
    const s = await api(`/v1/projects/${enc(rt.project)}/openapi/${enc(rt.resource)}`, { signal });
    out.append(el('p', {}, `${s.title || ''} ${s.version ? 'v' + s.version : ''}`, ' — ', el('code', {}, s.file)),
      (s.operations || []).length
        ? table(null, ['Method', 'Path', 'Operation', 'Summary'], s.operations.map(o => el('tr', {},
          el('td', {}, el('code', {}, o.method.toUpperCase())), el('th', { scope: 'row' }, el('code', {}, o.path)),
          el('td', {}, o.operation_id || ''), el('td', {}, o.summary || o.description || ''))))
        : note('The spec has no operations.'));
  } catch (err) { out.append(failure(err, 'The API spec')); }
  return out;
}

// ---- metrics ---------------------------------------------------------------

// barChart draws grouped horizontal bars: series [{label, cls}], rows
// [{label, values: [..]}], fmt for the value labels.
function barChart(title, series, rows, max, fmt) {
  const rowH = 14 * series.length + 10, left = 120, width = 420, top = series.length > 1 ? 18 : 4;
  const h = top + rows.length * rowH + 4;
  const scale = v => (max > 0 ? Math.max(0, Math.min(1, v / max)) * (width - left - 70) : 0);
  const g = [svg('title', {}, title)];
  if (series.length > 1) series.forEach((s, i) => g.push(
    svg('rect', { x: left + i * 90, y: 4, width: 10, height: 10, class: s.cls }),
    svg('text', { x: left + i * 90 + 14, y: 13 }, s.label)));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    g.push(svg('text', { x: left - 6, y: y + rowH / 2 + 3, 'text-anchor': 'end' }, r.label.length > 18 ? r.label.slice(0, 17) + '…' : r.label));
    r.values.forEach((v, j) => {
      const cls = typeof r.cls === 'function' ? r.cls(v) : series[j].cls;
      const bw = scale(v);
      g.push(svg('rect', { x: left, y: y + 4 + j * 14, width: Math.max(bw, 1), height: 12, class: cls }),
        svg('text', { x: left + bw + 4, y: y + 14 + j * 14 }, fmt(v)));
    });
  });
  g.push(svg('line', { x1: left, y1: 0, x2: left, y2: h, class: 'axis' }));
  return svg('svg', { viewBox: `0 0 ${width} ${h}`, width: '100%', role: 'img', 'aria-label': title }, g);
}

function figure(title, chart, extra) {
  return el('figure', {}, el('figcaption', {}, title), chart, extra);
}

async function metricsView(rt, signal) {
  const since = new URLSearchParams(location.hash.split('?')[1] || '').get('since') || '7d';
  const pick = el('select', { id: 'metrics-since', onchange: e => { location.hash = `#/metrics?since=${e.target.value}`; } },
    ['24h', '7d', '30d'].map(v => el('option', { value: v, selected: v === since }, v)));
  const out = el('section', { 'aria-labelledby': 'h-metrics' },
    el('h2', { id: 'h-metrics' }, 'Metrics'),
    el('form', { class: 'filters', onsubmit: e => e.preventDefault() }, el('label', { for: 'metrics-since' }, 'Window', pick)));
  let s;
  try {
    s = await api(`/v1/stats?since=${enc(since === '24h' ? '1d' : since)}`, { signal });
  } catch (err) {
    out.append(failure(err, 'Platform metrics'), feedbackForm());
    return out;
  }
  const res = s.resources || [];
  const sec = ns => ns / 1e9;
  const charts = el('div', { class: 'charts' });
  if (res.length) {
    const maxLat = Math.max(...res.map(r => sec(r.save_to_live.p95_ns || 0)), 0.001);
    charts.append(
      figure('Save-to-live latency (p50, p95)', barChart('Save-to-live latency per resource, p50 and p95',
        [{ label: 'p50', cls: 'bar-a' }, { label: 'p95', cls: 'bar-b' }],
        res.map(r => ({ label: `${r.project}/${r.resource}`, values: [sec(r.save_to_live.p50_ns || 0), sec(r.save_to_live.p95_ns || 0)] })),
        maxLat, v => `${v.toFixed(2)} s`)),
      figure('Build and run success rate', barChart('Success rate per resource',
        [{ label: 'success', cls: 'bar-ok' }],
        res.map(r => ({ label: `${r.project}/${r.resource}`, values: [r.success_rate || 0], cls: v => (v >= 0.95 ? 'bar-ok' : v >= 0.8 ? 'bar-b' : 'bar-bad') })),
        1, v => pct(v))),
      figure('Restarts and crashes', barChart('Restarts and crashes per resource',
        [{ label: 'restarts', cls: 'bar-a' }, { label: 'crashes', cls: 'bar-bad' }],
        res.map(r => ({ label: `${r.project}/${r.resource}`, values: [r.restarts || 0, r.crashes || 0] })),
        Math.max(1, ...res.map(r => Math.max(r.restarts || 0, r.crashes || 0))), v => String(v))));
  } else {
    charts.append(note('No resource metrics in this window yet.'));
  }
  const slos = s.slos || [];
  charts.append(figure('SLO error budgets', slos.length
    ? barChart('Error budget left per SLO', [{ label: 'budget left', cls: 'bar-ok' }],
      slos.map(o => ({ label: o.name, values: [Math.max(0, o.budget_left)], cls: v => (v > 0.25 ? 'bar-ok' : v > 0 ? 'bar-b' : 'bar-bad') })),
      1, v => pct(v))
    : note('No SLOs reported.'),
    slos.length ? table(null, ['SLO', 'Target', 'Actual', 'Met'], slos.map(o => el('tr', {},
      el('th', { scope: 'row' }, o.name),
      el('td', {}, o.unit === 'seconds' ? `${o.target} s` : pct(o.target)),
      el('td', {}, o.unit === 'seconds' ? `${(o.actual || 0).toFixed(3)} s` : pct(o.actual)),
      el('td', {}, o.met ? 'yes' : 'no')))) : null));
  charts.append(figure('Delivery (DORA)', barChart('Deploys per week', [{ label: 'deploys/week', cls: 'bar-a' }],
    [{ label: 'deploys/week', values: [s.deploys_per_week || 0] }], Math.max(1, s.deploys_per_week || 0), v => v.toFixed(1)),
  el('dl', { class: 'facts' },
    el('dt', {}, 'Deploys'), el('dd', {}, String(s.deploys || 0)),
    el('dt', {}, 'Lead time p50 / p95'), el('dd', {}, `${fmtDur(s.lead_time?.p50_ns)} / ${fmtDur(s.lead_time?.p95_ns)}`),
    el('dt', {}, 'Change failure rate'), el('dd', {}, pct(s.change_failure_rate)),
    el('dt', {}, 'Time to first ready p50 / p95'), el('dd', {}, `${fmtDur(s.time_to_first_ready?.p50_ns)} / ${fmtDur(s.time_to_first_ready?.p95_ns)}`))));
  const n = s.nps;
  charts.append(figure('Developer satisfaction (NPS)', n && n.responses
    ? barChart(`NPS ${n.score.toFixed(0)} from ${n.responses} responses`, [{ label: 'responses', cls: 'bar-a' }], [
      { label: 'promoters', values: [n.promoters], cls: () => 'bar-ok' },
      { label: 'passives', values: [n.passives], cls: () => 'bar-mid' },
      { label: 'detractors', values: [n.detractors], cls: () => 'bar-bad' }], Math.max(1, n.promoters, n.passives, n.detractors), v => String(v))
    : note('No feedback yet.'),
  n && n.responses ? el('p', {}, `NPS: ${n.score.toFixed(0)} (${n.responses} responses)`) : null));
  out.append(el('p', { class: 'note' }, `${fmtTime(s.since)} – ${fmtTime(s.until)}`), charts, feedbackForm());
  return out;
}

function feedbackForm() {
  const score = el('input', { type: 'number', id: 'fb-score', name: 'score', min: 0, max: 10, step: 1, required: true });
  const comment = el('textarea', { id: 'fb-comment', name: 'comment', rows: 3 });
  const status = el('p', { role: 'status', 'aria-live': 'polite', class: 'note' });
  return el('section', { 'aria-labelledby': 'h-fb' },
    el('h3', { id: 'h-fb' }, 'Feedback'),
    el('form', { class: 'stack', onsubmit: async e => {
      e.preventDefault();
      const n = Number(score.value);
      if (!Number.isInteger(n) || n < 0 || n > 10) { status.textContent = 'Give a score from 0 to 10.'; return; }
      try {
        await post('/v1/feedback', { score: n, comment: comment.value });
        status.textContent = 'Thanks: your feedback was recorded.';
        e.target.reset();
      } catch (err) {
        status.textContent = err instanceof NotAvailable ? 'Feedback is not available yet in this loopd.' : `Feedback: ${err.message}`;
      }
    } },
    el('label', { for: 'fb-score' }, 'How likely are you to recommend loop to a colleague? (0–10)', score),
    el('label', { for: 'fb-comment' }, 'Comment (optional)', comment),
    el('div', {}, el('button', { type: 'submit' }, 'Send feedback'))),
    status);
}

// ---- start -----------------------------------------------------------------

window.addEventListener('hashchange', () => { render().then(() => document.getElementById('main').focus({ preventScroll: true })); });

(async () => {
  try {
    await loadProjects();
  } catch (err) {
    document.getElementById('main').replaceChildren(failure(err, 'loopd'));
    return;
  }
  connectEvents();
  render();
})();
