// The audit trail, newest first, with filters kept in the address (a filtered view is a link).
import { cell, describe, get, h, table, when } from './core.js';

const FILTERS = [
  ['principal', 'Principal', 'staff/alice'],
  ['kind', 'Kind', 'approve'],
  ['audience', 'Audience', 'peer/acme'],
  ['since', 'Since (RFC 3339)', '2026-12-01T00:00:00Z'],
  ['until', 'Until (RFC 3339)', ''],
];
const KINDS = ['draft', 'approve', 'activate', 'rollback', 'rejected', 'disclosure', 'leak-withheld', 'disclosures_dropped'];

export async function auditPage(root) {
  const params = new URLSearchParams(location.search);
  const inputs = {};
  const fields = FILTERS.map(([name, label, example]) => {
    const input = h('input', {
      id: `f-${name}`, name, value: params.get(name) || '', placeholder: example,
      list: name === 'kind' ? 'kinds' : null, autocomplete: 'off',
    });
    inputs[name] = input;
    return h('div', {}, h('label', { for: `f-${name}`, text: label }), input);
  });
  const rows = h('tbody', {});
  const region = h('div', { class: 'alert', role: 'alert' });
  const more = h('button', { type: 'button', id: 'older', text: 'Older events', hidden: true });
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  let cursor = null;
  let shown = 0;
  const load = async (reset) => {
    region.replaceChildren();
    const query = new URLSearchParams();
    for (const [name, input] of Object.entries(inputs)) if (input.value.trim()) query.set(name, input.value.trim());
    if (reset) {
      history.replaceState(null, '', `${location.pathname}${query.toString() ? '?' + query : ''}`);
      rows.replaceChildren();
      shown = 0;
      cursor = null;
    }
    query.set('limit', '50');
    if (cursor) query.set('cursor', cursor);
    let page;
    try {
      page = await get(`/v1/admin/audit?${query}`);
    } catch (err) {
      region.replaceChildren(describe(err));
      return;
    }
    for (const e of page.events) rows.append(row(e));
    shown += page.events.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = `${shown} event${shown === 1 ? '' : 's'} shown${cursor ? ', more are older' : ''}; ${page.disclosures_dropped} disclosure records lost since start.`;
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit trail' },
    fields, h('datalist', { id: 'kinds' }, KINDS.map((k) => h('option', { value: k }))),
    h('div', {}, h('button', { type: 'submit', class: 'primary', text: 'Apply filters' })));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  const headers = ['When', 'Kind', 'Principal', 'Audience', 'View', 'Policy version', 'Detail'];
  const grid = table('Audit events, newest first', headers, []);
  grid.querySelector('tbody').replaceWith(rows);
  root.replaceChildren(form, region, count, grid, more);
  await load(true);
}

function row(e) {
  const detail = e.detail ? detailText(e) : null;
  return h('tr', { class: e.kind === 'rejected' || e.kind === 'leak-withheld' ? 'widening' : null },
    cell(when(e.at)), cell(e.kind), cell(e.principal), cell(e.audience), cell(e.view),
    cell(e.policy_version), cell(detail));
}

function detailText(e) {
  const d = e.detail;
  if (typeof d !== 'object') return String(d);
  const parts = [];
  if (d.action) parts.push(d.action);
  if (d.draft) parts.push(`draft ${d.draft}`);
  if (d.widening !== undefined) parts.push(d.widening ? 'widening' : 'not widening');
  if (d.reason) parts.push(d.reason);
  if (d.classes) parts.push(`classes: ${d.classes.join(', ')}`);
  const known = new Set(['action', 'draft', 'widening', 'reason', 'classes', 'reasons', 'digests', 'origin']);
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length) parts.push(JSON.stringify(rest));
  return parts.join(' · ');
}
