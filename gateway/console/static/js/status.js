// The gateway's state for staff: freshness, refusals, leak-guard events, CRL expiry.
import { cell, get, h, section, table, when } from './core.js';

export async function statusPage(root) {
  const [status, leaks, rejected] = await Promise.all([
    get('/v1/admin/status'),
    get('/v1/admin/audit?kind=leak-withheld&limit=20'),
    get('/v1/admin/audit?kind=rejected&limit=20'),
  ]);
  const lag = status.revision - status.views_revision;
  const card = (label, value, warn) => h('div', { class: `card${warn ? ' warn' : ''}` },
    h('div', { class: 'muted', text: label }), h('div', { class: 'figure', text: String(value) }));
  const cards = h('div', { class: 'cards' },
    card('Data revision', status.revision), card('Revision every view reflects', status.views_revision),
    card('Freshness lag (revisions)', lag, lag > 0), card('Render failures', status.render_failures),
    card('Disclosure records lost', status.disclosures_dropped),
    card('Bodies withheld by the leak guard', Object.values(status.leaks_withheld).reduce((a, b) => a + b, 0)));
  const refusals = Object.entries(status.tls_rejections).sort();
  const crls = status.crls.cas.map((c) => h('tr', { class: c.warning ? 'widening' : null },
    h('th', { scope: 'row', text: c.ca }), cell(when(c.next_update)),
    cell(c.seconds_left === null ? null : `${(c.seconds_left / 86400).toFixed(1)} days`),
    cell(h('span', { class: `tag ${c.warning ? 'warn' : 'ok'}`, text: c.warning ? 'renew now' : 'ok' }))));
  root.replaceChildren(
    section('Freshness', cards),
    section('Active policies', table('Policies serving now', ['Audience', 'Version', 'Source', 'Views'],
      status.policies.map((p) => h('tr', {}, h('th', { scope: 'row', text: p.audience }), cell(p.version), cell(p.source), cell(p.views.join(', ')))))),
    section('Refusals', refusals.length
      ? table('Refused clients and requests, by reason, since start', ['Reason', 'Count'], refusals.map(([r, n]) => h('tr', {}, h('th', { scope: 'row', text: r }), cell(String(n)))))
      : h('p', { text: 'No client refused since start.' }),
    rejected.events.length
      ? table('Policy changes refused (newest first)', ['When', 'Principal', 'Audience', 'Reason'], rejected.events.map((e) => h('tr', {}, cell(when(e.at)), cell(e.principal), cell(e.audience), cell(e.detail && e.detail.reason))))
      : h('p', { text: 'No policy change refused.' })),
    section('Leak guard', Object.keys(status.leaks_withheld).length
      ? table('Bodies withheld, by audience, since start', ['Audience', 'Withheld'], Object.entries(status.leaks_withheld).map(([a, n]) => h('tr', {}, h('th', { scope: 'row', text: a }), cell(String(n)))))
      : h('p', { text: 'Nothing withheld since start.' }),
    leaks.events.length
      ? table('Leak-guard events (newest first; classes of term and digests, never the value)', ['When', 'Audience', 'View', 'Classes'], leaks.events.map((e) => h('tr', {}, cell(when(e.at)), cell(e.audience), cell(e.view), cell(e.detail ? e.detail.classes.join(', ') : null))))
      : h('p', { text: 'No leak-guard event in the trail.' })),
    section('Certificate revocation lists', status.crls.check
      ? table(`CRL expiry per trusted CA (warning ${status.crls.warning_days} days before nextUpdate)`, ['CA', 'Next update', 'Left', 'State'], crls)
      : h('p', { text: 'CRL checking is off (tls_crl_check: false).' })),
    section('Stale references', h('p', { text: `${status.stale_references.services} services, ${status.stale_references.alarms} alarms and ${status.stale_references.maintenance} maintenance windows name resources the topology no longer has.` })),
  );
}
