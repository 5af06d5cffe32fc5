// Audiences: every audience with its active version and open drafts; one audience's history.
import {
  api, audienceHref, audiencePath, cell, get, h, meta, notice, section, showError, table, when,
} from './core.js';

export async function audiencesPage(root) {
  const [policies, status] = await Promise.all([get('/v1/admin/policies'), get('/v1/admin/status')]);
  const byAudience = new Map(policies.map((p) => [p.audience, p]));
  const registered = new Set(status.audiences);
  const all = [...new Set([...registered, ...byAudience.keys()])].sort();
  const rows = all.map((audience) => {
    const p = byAudience.get(audience);
    const served = p && p.active;
    const wildcard = !served && audience.startsWith('customer/') && byAudience.get('customer/*');
    return h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: audienceHref(audience), text: audience })),
      cell(registered.has(audience) ? 'yes' : (audience === 'customer/*' ? 'every customer' : 'no')),
      cell(served ? `v${served.number} · ${served.version}` : (wildcard ? 'served by customer/*' : 'none: nothing is published')),
      cell(served ? served.origin : null),
      cell(served ? (served.approver || 'no approval needed') : null),
      cell(served ? when(served.activated_at) : null),
      cell(p && p.drafts.length ? h('ul', {}, p.drafts.map((d) => h('li', {},
        h('a', { href: `/console/drafts/${d.id}`, text: `Draft ${d.id}` }),
        ` by ${d.authors.join(', ')}`, d.approvals.length ? ` · approved by ${d.approvals.map((a) => a.approver).join(', ')}` : ''))) : 'none'),
      cell(h('a', { href: `/console/drafts/new?audience=${encodeURIComponent(audience)}`, text: 'New draft', 'aria-label': `New draft for ${audience}` })));
  });
  root.replaceChildren(
    h('p', { class: 'muted', text: 'Every registered audience, the policy version that serves it, and the drafts waiting for review. A draft that widens disclosure needs a second staff member’s approval.' }),
    table('Audiences', ['Audience', 'Registered', 'Active version', 'Origin', 'Approved by', 'Activated', 'Open drafts', ''], rows),
  );
}

export async function audiencePage(root, audience) {
  let policy = null;
  let history = [];
  try {
    [policy, history] = await Promise.all([
      get(audiencePath(audience)), get(audiencePath(audience) + '/history'),
    ]);
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const result = h('div', { class: 'alert', role: 'alert', id: 'action-result' });
  const parts = [result];
  const active = policy && policy.active;
  parts.push(section('Active version', active ? [
    meta([
      ['Version', `v${active.number} · ${active.version}`], ['Digest', h('code', { text: active.digest })],
      ['Author', active.author], ['Approved by', active.approver || 'no approval needed'],
      ['Activated by', active.activated_by], ['Activated', when(active.activated_at)], ['Origin', active.origin],
    ]),
    h('p', {}, h('a', { href: `/console/drafts/new?audience=${encodeURIComponent(audience)}`, text: 'Write a draft from this version' })),
    h('pre', { 'aria-label': `Policy text of version ${active.number}`, text: active.text }),
  ] : h('p', { text: `No active policy: nothing is published to ${audience} (default deny).` })));
  const drafts = policy ? policy.drafts : [];
  parts.push(section('Open drafts', drafts.length ? h('ul', {}, drafts.map((d) => h('li', {},
    h('a', { href: `/console/drafts/${d.id}`, text: `Draft ${d.id}` }),
    ` · version ${d.version} by ${d.authors.join(', ')} · ${d.origin}`))) : h('p', { text: 'None.' })));
  const current = active ? active.number : null;
  const rows = history.slice().reverse().map((v) => h('tr', { class: v.widening ? 'widening' : null },
    h('th', { scope: 'row', text: `v${v.number}` }), cell(h('code', { text: v.version })), cell(v.origin),
    cell(v.author), cell(v.approver), cell(v.activated_by), cell(when(v.activated_at)),
    cell(v.widening ? h('span', { class: 'tag widens', text: 'widened' }) : 'no'),
    cell(v.number === current ? 'serving' : h('button', {
      type: 'button', 'data-rollback': v.number, text: `Roll back to v${v.number}`,
      onclick: () => rollback(audience, v.number, result, root),
    }))));
  parts.push(section('History', history.length
    ? table(`Every version of ${audience} ever active, newest first`, ['Version', 'Digest', 'Origin', 'Author', 'Approved by', 'Activated by', 'When', 'Widened', 'Action'], rows)
    : h('p', { text: 'No version yet.' })));
  root.replaceChildren(...parts);
}

async function rollback(audience, number, result, root) {
  result.replaceChildren();
  try {
    const { status, body } = await api('POST', audiencePath(audience) + '/rollback', { to: number });
    if (status === 200) {
      notice(`Rolled back: ${audience} now serves v${body.version.number} (the text of v${number}).`);
      await audiencePage(root, audience);
    } else {
      notice('');
      result.replaceChildren(h('p', {},
        `Rolling back to v${number} widens what serves now, so it waits for another staff member's approval: `,
        h('a', { href: `/console/drafts/${body.draft.id}`, text: `draft ${body.draft.id}` }), '.'));
    }
  } catch (err) {
    showError(result, err);
  }
}
