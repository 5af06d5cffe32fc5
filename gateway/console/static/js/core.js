// Shared by every console page: building DOM safely, calling the admin API, showing results.
// Every text from the server goes in through textContent, never as HTML: policy text, audit
// details and reasons are written by other people.

export const token = document.querySelector('meta[name="demarc-csrf"]').content;
export const me = document.querySelector('meta[name="demarc-principal"]').content;

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'error';
    this.problems = error.problems || [];
  }
}

// One call of the admin API. Changes carry the console's token (the gateway refuses a
// browser's change without it, or from another origin).
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (method !== 'GET') headers['x-demarc-csrf'] = token;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
  if (!response.ok) throw new ApiError(response.status, doc);
  return { status: response.status, body: doc };
}

export async function get(path) { return (await api('GET', path)).body; }

// An error as words: what was refused, why, and every problem with where it is.
export function describe(err) {
  if (!(err instanceof ApiError)) return h('p', { text: `Error: ${err.message || err}` });
  return h('div', {},
    h('p', {}, h('strong', { text: `Refused (${err.status} ${err.code}): ` }), err.message),
    err.problems.length ? h('ul', { class: 'problems' },
      err.problems.map((p) => h('li', { text: `${p.where}: ${p.message}` }))) : null);
}

export function showError(region, err) {
  region.replaceChildren(describe(err));
}

export function notice(text) {
  document.getElementById('notice').textContent = text;
}

// "<draft>:4:18" → {line: 4, column: 18}; null when a problem names no position
export function position(where) {
  const m = /:(\d+):(\d+)$/.exec(where || '');
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

export function table(caption, headers, rows) {
  return h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', {}, rows));
}

export function cell(content) {
  return h('td', {}, content === null || content === undefined ? '—' : content);
}

export function when(iso) {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+/, '').replace('+00:00', 'Z');
}

export function audienceHref(audience) {
  const [role, name] = audience.split('/');
  return `/console/audiences/${role}/${encodeURIComponent(name)}`;
}

export function audiencePath(audience) {
  const [role, name] = audience.split('/');
  return `/v1/admin/policies/${role}/${encodeURIComponent(name)}`;
}

export function meta(pairs) {
  return h('dl', { class: 'meta' },
    pairs.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v === null || v === undefined ? '—' : v)]));
}

export function json(value) {
  return h('pre', { text: JSON.stringify(value, null, 2) });
}

export function section(title, ...children) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { 'aria-labelledby': id }, h('h2', { id, text: title }), ...children);
}
