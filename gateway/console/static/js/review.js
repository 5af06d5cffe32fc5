// Reviewing a draft: the exact views an audience would get, and the disclosure diff.
import { cell, describe, get, h, json, table } from './core.js';

export async function renderPreview(draft, audience, node) {
  node.replaceChildren(h('p', { class: 'muted', text: 'Rendering the preview…' }));
  const query = audience ? `?audience=${encodeURIComponent(audience)}` : '';
  let doc;
  try {
    doc = await get(`/v1/admin/drafts/${draft.id}/preview${query}`);
  } catch (err) {
    node.replaceChildren(h('div', { class: 'alert', role: 'alert' }, describe(err)));
    return;
  }
  const guard = doc.leak_guard.withheld
    ? h('div', { class: 'banner bad' }, 'The leak guard would withhold: ', doc.leak_guard.hits.join('; '))
    : h('div', { class: 'banner ok', text: 'The leak guard passes every view.' });
  const views = Object.entries(doc.views).map(([name, body]) => {
    const count = Array.isArray(body.items) ? `${body.items.length} items` : 'document';
    return h('details', { class: 'view' }, h('summary', { text: `${name} (${count})` }), json(body));
  });
  node.replaceChildren(h('h3', { id: 'preview-heading', text: `Preview: what ${doc.audience} would get (data revision ${doc.revision})` }),
    guard, h('div', { 'aria-labelledby': 'preview-heading' }, views));
}

export async function renderDiff(draft, node) {
  node.replaceChildren(h('p', { class: 'muted', text: 'Working out the diff…' }));
  let doc;
  try {
    doc = await get(`/v1/admin/drafts/${draft.id}/diff`);
  } catch (err) {
    node.replaceChildren(h('div', { class: 'alert', role: 'alert' }, describe(err)));
    return;
  }
  const verdict = doc.widening
    ? h('div', { class: 'banner warn', id: 'diff-verdict' },
      h('strong', { text: 'Widens disclosure: ' }), 'another staff member must approve it before it is activated.',
      h('ul', {}, doc.reasons.map((r) => h('li', { text: r }))))
    : h('div', { class: 'banner ok', id: 'diff-verdict' },
      h('strong', { text: 'Does not widen disclosure: ' }), 'its author may activate it.');
  const problems = doc.problems.length
    ? h('div', { class: 'banner bad' }, h('ul', {}, doc.problems.map((p) => h('li', { text: `${p.where}: ${p.message}` }))))
    : null;
  const changes = doc.policy.changes.map((c) => h('tr', { class: c.widening ? 'widening' : null },
    cell(c.kind), cell(c.aspect), cell(show(c.before)), cell(show(c.after)),
    cell(c.added || c.removed ? `${(c.added || []).map((a) => '+' + a).join(' ')} ${(c.removed || []).map((a) => '−' + a).join(' ')}` : c.note || null),
    cell(tag(c.widening))));
  const live = [];
  for (const aud of doc.audiences) {
    for (const [view, d] of Object.entries(aud.views)) {
      const widening = d.objects.published_count > 0 || (d.fields.published || []).length > 0;
      live.push(h('tr', { class: widening ? 'widening' : null },
        h('th', { scope: 'row', text: aud.audience }), cell(view), cell(d.status),
        cell(`${d.objects.published_count} new, ${d.objects.withdrawn_count} withdrawn, ${d.objects.changed_count} changed`),
        cell(fieldList(d.fields.published)), cell(fieldList(d.fields.withdrawn)), cell(tag(widening))));
    }
  }
  node.replaceChildren(...[
    h('h3', { text: `Disclosure diff: draft version ${doc.draft_version} against ${doc.active_version || 'no policy'}` }),
    verdict, problems,
    table('What the policy text changes', ['Kind', 'Aspect', 'Before', 'After', 'Added / removed', 'Widens?'], changes.length ? changes : [h('tr', {}, h('td', { colspan: 6, text: 'No change to the policy text.' }))]),
    table('What each audience would newly get or lose, from live data', ['Audience', 'View', 'Status', 'Objects', 'Fields newly published', 'Fields withdrawn', 'Widens?'], live),
  ].filter(Boolean));
}

function tag(widening) {
  return h('span', { class: `tag ${widening ? 'widens' : 'narrows'}`, text: widening ? 'widens' : 'no' });
}

function show(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.join(', ');  // wraps on a laptop's screen
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function fieldList(fields) {
  if (!fields || (Array.isArray(fields) && !fields.length)) return null;
  if (Array.isArray(fields)) return fields.join(', ');
  return Object.entries(fields).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; ');
}
