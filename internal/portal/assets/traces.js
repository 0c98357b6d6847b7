// loop's portal: traces. A resource's recent traces (GET
// /v1/projects/{p}/traces?resource=R) and one trace as a waterfall (GET
// /v1/traces/{id}): a row per span, nested by parent, a bar placed on the
// trace's time line. Loaded before app.js; its functions use app.js's
// helpers (el, api, enc, failure, note, fmtDur, fmtTime, table) only when
// called, after both have loaded.
'use strict';

// traceTime is an RFC 3339 time in milliseconds since the epoch, keeping
// the fraction Date.parse drops (spans are often microseconds long).
function traceTime(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(t || '');
  if (!m) return Date.parse(t);
  return Date.parse(m[1] + m[3]) + (m[2] ? Number(m[2]) * 1000 : 0);
}

// fmtSpan prints a span's duration (ns), down to nanoseconds.
function fmtSpan(ns) {
  if (ns <= 0) return '0';
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
  return fmtDur(ns);
}

// traceLink links a log line, or anything else that names a trace, to
// its waterfall.
function traceLink(id, text) {
  return el('a', { class: 'trace-link', href: `#/trace/${enc(id)}`, 'data-trace': id, title: `trace ${id}` }, text || 'trace');
}

// tracesSection lists a resource's recent traces, newest first. It
// reloads every few seconds while the page is shown (services' traces
// come with no event) and, debounced, when the resource changes state
// (loopd's save-to-live trace ends at ready).
function tracesSection(project, r, signal) {
  const box = el('div', { id: 'traces', 'data-traces': `${project}/${r.name}` }, note('Loading traces…'));
  let shown = '';
  const load = () => api(`/v1/projects/${enc(project)}/traces?resource=${enc(r.name)}&limit=20`, { signal }).then(ts => {
    const mark = JSON.stringify(ts);
    if (mark === shown) return; // unchanged: keep focus and selection
    shown = mark;
    if (!ts || !ts.length) {
      box.replaceChildren(note('No traces yet. Services instrumented with OpenTelemetry send theirs to loopd; a file change is one of loopd\'s own.'));
      return;
    }
    box.replaceChildren(table(null, ['Trace', 'Started', 'Duration', 'Spans', 'Status'], ts.map(s => el('tr', { 'data-trace': s.trace_id, class: s.error ? 'trace-error' : null },
      el('th', { scope: 'row' }, traceLink(s.trace_id, s.root || `(no root span yet) ${s.trace_id.slice(0, 8)}`)),
      el('td', {}, fmtTime(s.start)),
      el('td', {}, fmtSpan(s.duration_ns)),
      el('td', {}, String(s.spans)),
      el('td', {}, s.error ? el('span', { class: 'error' }, '✖ error') : 'ok')))));
  }).catch(err => {
    if (err.name === 'AbortError') return;
    shown = '';
    box.replaceChildren(failure(err, 'Traces'));
  });
  const every = setInterval(load, 3000);
  signal.addEventListener('abort', () => clearInterval(every), { once: true });
  return reloadOnChange(box, r, load);
}

// spanTree orders a trace's spans depth first, children by start time,
// each with its depth. A span whose parent was not kept (or has not
// arrived) is drawn as a root.
function spanTree(spans) {
  const ids = new Set(spans.map(s => s.span_id));
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_id && ids.has(s.parent_id) && s.parent_id !== s.span_id) {
      if (!kids.has(s.parent_id)) kids.set(s.parent_id, []);
      kids.get(s.parent_id).push(s);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a, b) => a._start - b._start;
  const out = [];
  const seen = new Set();
  const walk = (s, depth) => {
    if (seen.has(s.span_id)) return; // a parent cycle in bad input
    seen.add(s.span_id);
    out.push({ span: s, depth });
    for (const c of (kids.get(s.span_id) || []).sort(byStart)) walk(c, depth + 1);
  };
  for (const s of roots.sort(byStart)) walk(s, 0);
  for (const s of spans) if (!seen.has(s.span_id)) walk(s, 0); // cycles: still shown
  return out;
}

// spanDetail is a span's attributes, status and events.
function spanDetail(s, t0) {
  const at = t => `+${fmtSpan((traceTime(t) - t0) * 1e6)}`;
  const attrs = Object.entries(s.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  return el('div', { class: 'span-detail', id: 'span-detail', 'data-span': s.span_id, role: 'region', 'aria-label': `Span ${s.name}` },
    el('h3', {}, s.name),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Service'), el('dd', {}, s.service || '–'),
      el('dt', {}, 'Resource'), el('dd', {}, s.project && s.resource ? el('a', { href: `#/p/${enc(s.project)}/r/${enc(s.resource)}` }, `${s.project} / ${s.resource}`) : (s.resource || '–')),
      el('dt', {}, 'Kind'), el('dd', {}, s.kind || '–'),
      el('dt', {}, 'Start'), el('dd', {}, `${at(s.start)} (${fmtTime(s.start)})`),
      el('dt', {}, 'Duration'), el('dd', {}, fmtSpan((s._end - s._start) * 1e6)),
      el('dt', {}, 'Status'), el('dd', { class: s.status === 'error' ? 'error' : null }, (s.status || 'unset') + (s.message ? `: ${s.message}` : '')),
      el('dt', {}, 'Span ID'), el('dd', {}, el('code', {}, s.span_id)),
      el('dt', {}, 'Parent'), el('dd', {}, s.parent_id ? el('code', {}, s.parent_id) : '–')),
    attrs.length
      ? table('Attributes', ['Key', 'Value'], attrs.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, el('code', {}, k)), el('td', {}, v))))
      : note('No attributes.'),
    (s.events || []).length
      ? table('Events', ['At', 'Event', 'Attributes'], s.events.map(ev => el('tr', {},
        el('td', {}, at(ev.time)), el('th', { scope: 'row' }, ev.name),
        el('td', {}, Object.entries(ev.attributes || {}).map(([k, v]) => `${k}=${v}`).join(' ')))))
      : note('No events.'));
}

// traceView draws one trace as a waterfall: a row per span, indented by
// depth, its bar placed at (start - trace start) / trace duration and as
// wide as its share of the trace (a few pixels at least).
async function traceView(rt, signal) {
  const out = el('section', { 'aria-labelledby': 'h-trace' });
  let tr;
  try {
    tr = await api(`/v1/traces/${enc(rt.trace)}`, { signal });
  } catch (err) {
    out.append(el('p', {}, el('a', { href: '#/' }, '← Projects')), el('h2', { id: 'h-trace' }, `Trace ${rt.trace}`), failure(err, 'This trace'));
    return out;
  }
  const spans = tr.spans || [];
  for (const s of spans) {
    s._start = traceTime(s.start);
    s._end = Math.max(traceTime(s.end), s._start);
  }
  const rows = spanTree(spans);
  const t0 = Math.min(...spans.map(s => s._start));
  const t1 = Math.max(...spans.map(s => s._end));
  const total = Math.max(t1 - t0, 1e-6); // ms
  const root = rows.length ? rows[0].span : null;
  const home = spans.find(s => s.project && s.resource);
  const services = [...new Set(spans.map(s => s.service).filter(Boolean))];

  out.append(
    el('p', {}, home ? el('a', { href: `#/p/${enc(home.project)}/r/${enc(home.resource)}` }, `← ${home.project} / ${home.resource}`) : el('a', { href: '#/' }, '← Projects')),
    el('h2', { id: 'h-trace' }, root ? root.name : 'Trace'),
    el('p', { class: 'note' }, el('code', {}, tr.trace_id), ` — ${spans.length} spans${tr.dropped ? ` (${tr.dropped} more dropped)` : ''}, `,
      `${fmtSpan(total * 1e6)}, from ${spans.length ? fmtTime(spans.find(s => s._start === t0).start) : '–'}; `,
      `services: ${services.join(', ') || '–'}`));
  if (!rows.length) {
    out.append(note('This trace has no spans.'));
    return out;
  }

  const detail = el('div', { id: 'span-detail-box' }, note('Click a span to see its attributes and events.'));
  let selected = null;
  const pick = (btn, s) => {
    if (selected) selected.setAttribute('aria-pressed', 'false');
    selected = btn;
    btn.setAttribute('aria-pressed', 'true');
    detail.replaceChildren(spanDetail(s, t0));
  };
  const body = rows.map(({ span: s, depth }) => {
    const left = (s._start - t0) / total;
    const width = (s._end - s._start) / total;
    const bar = el('div', { class: `span-bar${s.status === 'error' ? ' span-error' : ''}${s.service === 'loopd' ? ' span-loopd' : ''}` });
    // CSSOM, not a style attribute: the CSP allows no inline styles.
    bar.style.left = `${(left * 100).toFixed(3)}%`;
    bar.style.width = `max(3px, ${(width * 100).toFixed(3)}%)`;
    const dur = el('span', { class: 'span-dur' }, fmtSpan((s._end - s._start) * 1e6));
    // The duration beside the bar: after it, or before it near the end.
    if (left + width > 0.8) dur.style.right = `calc(${((1 - left) * 100).toFixed(3)}% + 6px)`;
    else dur.style.left = `calc(${((left + width) * 100).toFixed(3)}% + 6px)`;
    const name = el('button', { type: 'button', class: 'span-name', 'aria-pressed': 'false', 'aria-controls': 'span-detail-box', title: `${s.name} (${s.service || 'unknown service'})` },
      s.status === 'error' ? el('span', { class: 'error', 'aria-label': 'error' }, '✖ ') : null, s.name);
    name.style.paddingLeft = `${depth * 1.1}rem`;
    const row = el('tr', { class: s.status === 'error' ? 'span-row trace-error' : 'span-row', 'data-span': s.span_id, 'data-depth': depth, 'data-name': s.name },
      el('th', { scope: 'row' }, name),
      el('td', { class: 'span-svc' }, s.service || ''),
      el('td', { class: 'span-track' }, el('div', { class: 'span-lane' }, bar, dur)));
    name.addEventListener('click', () => pick(name, s));
    return row;
  });
  out.append(el('table', { class: 'waterfall', id: 'waterfall' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Span'), el('th', { scope: 'col' }, 'Service'),
      el('th', { scope: 'col' }, el('span', { class: 'span-axis' }, el('span', {}, '0'), el('span', {}, fmtSpan(total * 1e6)))))),
    el('tbody', {}, body)),
  el('p', { class: 'legend' }, el('span', { class: 'swatch span-loopd' }), ' loopd\'s own work ',
    el('span', { class: 'swatch' }), ' the services\' spans ', el('span', { class: 'swatch span-error' }), ' an error'),
  detail);
  return out;
}
