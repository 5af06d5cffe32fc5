// Explain: for one item of one audience's view, which rule at which line published each field.
import { cell, describe, get, h, section, table } from './core.js';

export async function explainPage(root) {
  const params = new URLSearchParams(location.search);
  const status = await get('/v1/admin/status');
  const served = new Map(status.policies.map((p) => [p.audience, p.views]));
  const viewsFor = (a) => served.get(a) || (a.startsWith('customer/') && served.get('customer/*')) || [];
  const audiences = status.audiences.filter((a) => viewsFor(a).length).sort();
  const audience = select('x-audience', 'Audience', audiences, params.get('audience'));
  const view = select('x-view', 'View', [], null);
  const item = select('x-item', 'Item', [], null);
  const out = h('div', { id: 'explanation' });
  const fillViews = (wanted) => setOptions(view.select, viewsFor(audience.select.value).map((v) => [v, v]), wanted);
  let wantedItem = params.get('item');
  const load = async (keepItem) => {
    const query = new URLSearchParams({ audience: audience.select.value, view: view.select.value });
    const chosen = keepItem ? (wantedItem ?? (item.select.value || '0')) : '0';
    wantedItem = null;
    if (chosen !== '' && chosen !== null) query.set('item', chosen);
    history.replaceState(null, '', `${location.pathname}?${query}`);
    let doc;
    try {
      doc = await get(`/v1/admin/explain?${query}`);
    } catch (err) {
      if (err.status === 404 && query.has('item')) {
        query.delete('item');
        doc = await get(`/v1/admin/explain?${query}`).catch(() => null);
      }
      if (!doc) {
        out.replaceChildren(h('div', { class: 'alert', role: 'alert' }, describe(err)));
        return;
      }
    }
    setOptions(item.select, doc.items.map((i) => [String(i.index), `#${i.index} ${i.section === 'items' ? '' : i.section + ' '}${i.id || '(no id published)'}`]),
      doc.item ? String(doc.item.index) : null);
    render(doc, out);
  };
  audience.select.addEventListener('change', () => { fillViews(null); load(false); });
  view.select.addEventListener('change', () => load(false));
  item.select.addEventListener('change', () => load(true));
  fillViews(params.get('view'));
  root.replaceChildren(
    h('p', { class: 'muted', text: 'Pick an item of a view as it is served now: each field shows the rule that published it, with its line in the policy version that rendered the view, or why it is withheld.' }),
    h('form', { class: 'filters', 'aria-label': 'Which item to explain' }, audience.node, view.node, item.node),
    out);
  await load(true);
}

function select(id, label, options, wanted) {
  const el = h('select', { id });
  setOptions(el, options.map((o) => [o, o]), wanted);
  return { select: el, node: h('div', {}, h('label', { for: id, text: label }), el) };
}

function setOptions(el, pairs, wanted) {
  el.replaceChildren(...pairs.map(([value, text]) => h('option', { value, text })));
  if (wanted !== null && wanted !== undefined && pairs.some(([v]) => v === wanted)) el.value = wanted;
}

function render(doc, out) {
  const p = doc.policy;
  const lines = p.text.split('\n');
  const source = h('ol', { class: 'source', id: 'policy-source', 'aria-label': `Policy text, version ${p.number ?? '?'}` },
    lines.map((line, i) => h('li', { id: `line-${i + 1}`, text: line || ' ' })));
  const mark = (line, scroll = true) => {
    for (const li of source.querySelectorAll('li.hit')) li.classList.remove('hit');
    const li = source.querySelector(`#line-${line}`);
    if (!li) return;
    li.classList.add('hit');
    if (scroll) li.scrollIntoView({ block: 'nearest' });
  };
  const ref = (where) => (where ? h('button', {
    type: 'button', class: 'link', text: `line ${where.line}, column ${where.column}: ${where.path}`,
    onclick: () => mark(where.line),
  }) : null);
  const head = h('p', {}, `Explained against v${p.number ?? '?'} (${p.version}) of the policy for ${p.audience}`,
    doc.revision !== null ? `; the view was published at data revision ${doc.revision}.` : '.');
  const parts = [head];
  if (!doc.published) parts.push(h('div', { class: 'banner warn', text: doc.reason }));
  if (doc.item) {
    const rows = doc.item.fields.map((f) => h('tr', { class: f.status === 'disclosed' ? null : 'withheld', 'data-field': f.field },
      h('th', { scope: 'row', text: f.field }),
      cell(h('span', { class: `tag ${f.status}`, text: f.status === 'empty' ? 'no value' : f.status })),
      cell(ref(f.rule)),
      cell(f.status === 'disclosed' ? h('code', { text: short(f.value) }) : null),
      cell(h('div', {}, h('p', { text: f.reason }),
        f.notes.length ? h('ul', {}, f.notes.map((n) => h('li', {}, n.says, n.where ? [' (', ref(n.where), ')'] : ''))) : null))));
    parts.push(section(`Item #${doc.item.index}${doc.item.id ? ' · ' + doc.item.id : ''}`,
      h('ul', { 'aria-label': 'Why this item is in the view' }, doc.item.included.map((n) => h('li', {}, n.says, n.where ? [' (', ref(n.where), ')'] : ''))),
      table(`Fields of item #${doc.item.index} in ${doc.view} for ${doc.audience}`, ['Field', 'Status', 'Rule', 'Published value', 'Why'], rows)));
  } else if (doc.published && doc.total === 0) {
    parts.push(h('p', { text: 'The view has no items.' }));
  }
  parts.push(section('Policy text', source));
  out.replaceChildren(...parts);
  const first = doc.item && doc.item.fields.find((f) => f.status === 'disclosed' && f.rule);
  if (first) mark(first.rule.line, false);
}

function short(value) {
  const text = JSON.stringify(value);
  return text.length > 160 ? text.slice(0, 157) + '…' : text;
}
