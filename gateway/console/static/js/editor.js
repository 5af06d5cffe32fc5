// A draft: the policy editor (checked as you type), its preview, its diff, and the four-eyes steps.
import {
  api, audienceHref, audiencePath, get, h, meta, notice, position, section, showError, when,
} from './core.js';
import { renderDiff, renderPreview } from './review.js';

const TEMPLATE = `# yaml-language-server: $schema=../schemas/policy.schema.json
audience: AUDIENCE
disclose:
  interconnect:
    fields: [id, status]
`;

export async function draftPage(root, args) {
  const id = args ? Number(args) : null;
  let draft = null;
  let audience = new URLSearchParams(location.search).get('audience');
  let text;
  if (id) {
    draft = await get(`/v1/admin/drafts/${id}`);
    audience = draft.audience;
    text = draft.text;
  } else if (audience) {
    const active = await get(audiencePath(audience)).catch(() => null);
    text = active && active.active ? active.active.text : TEMPLATE.replace('AUDIENCE', audience);
  } else {
    text = TEMPLATE.replace('AUDIENCE', 'peer/<name>');
  }
  const open = !draft || draft.state === 'open';
  const result = h('div', { class: 'alert', role: 'alert', id: 'action-result' });
  const editor = policyEditor(text, !open);
  const save = h('button', {
    type: 'button', class: 'primary', id: 'save', disabled: !open,
    text: draft ? 'Save changes' : 'Save as draft',
    onclick: () => saveDraft(draft, editor.area.value, result, root),
  });
  const parts = [result];
  if (draft) parts.push(section('Draft', draftMeta(draft), open ? actions(draft, result, root) : null));
  parts.push(section(draft ? 'Policy text' : `Policy text${audience ? ` for ${audience}` : ''}`,
    editor.node, h('div', { class: 'actions' }, save)));
  root.replaceChildren(...parts);
  const checks = [editor.validate()];
  if (draft) {
    const review = h('div', {});
    root.append(section('Review', review));
    checks.push(reviewDraft(draft, review));
  }
  await Promise.all(checks);
}

function draftMeta(d) {
  return meta([
    ['Audience', h('a', { href: audienceHref(d.audience), text: d.audience })],
    ['Version', h('code', { text: d.version })], ['Digest', h('code', { text: d.digest })],
    ['Written by', d.authors.join(', ')],
    ['Written against', d.base ? `v${d.base}` : 'no policy (a first one)'],
    ['State', d.state], ['Origin', d.source ? `${d.origin} (${d.source})` : d.origin],
    ['Updated', when(d.updated_at)],
    ['Approvals', d.approvals.length ? d.approvals.map((a) => `${a.approver} (version ${a.digest.slice(0, 12)}, ${when(a.at)})`).join('; ') : 'none yet'],
  ]);
}

function actions(draft, result, root) {
  const act = (label, cls, run) => h('button', {
    type: 'button', class: cls, text: label,
    onclick: async () => {
      result.replaceChildren();
      notice('');
      try {
        notice(await run());
        await draftPage(root, String(draft.id));
      } catch (err) {
        showError(result, err);
      }
    },
  });
  const base = `/v1/admin/drafts/${draft.id}`;
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Four-eyes steps' },
    act(`Approve version ${draft.version}`, 'primary', async () => {
      await api('POST', `${base}/approve`, { digest: draft.digest });
      return `Approved draft ${draft.id} (version ${draft.version}).`;
    }),
    act('Activate', '', async () => {
      const { body } = await api('POST', `${base}/activate`, { digest: draft.digest });
      return `Activated: ${body.audience} now serves v${body.number} (${body.version}), approved by ${body.approver || 'nobody: it does not widen'}.`;
    }),
    act('Withdraw', 'danger', async () => {
      await api('DELETE', base);
      return `Withdrew draft ${draft.id}: it is kept, closed.`;
    }));
}

async function saveDraft(draft, text, result, root) {
  result.replaceChildren();
  try {
    if (draft) {
      const { body } = await api('PUT', `/v1/admin/drafts/${draft.id}`, { text });
      notice(`Saved draft ${body.id}: now version ${body.version}. Review its diff again.`);
      await draftPage(root, String(draft.id));
    } else {
      const { body } = await api('POST', '/v1/admin/drafts', { text });
      location.assign(`/console/drafts/${body.id}`);
    }
  } catch (err) {
    showError(result, err);
  }
}

// The textarea, the caret's line and column, and the problems the gateway finds as you type.
function policyEditor(text, readOnly) {
  const area = h('textarea', {
    id: 'policy-text', spellcheck: 'false', autocomplete: 'off', readonly: readOnly,
    'aria-describedby': 'caret validation', 'aria-invalid': 'false',
  });
  area.value = text;
  const caret = h('p', { id: 'caret', class: 'muted', text: 'Line 1, column 1' });
  const report = h('div', { id: 'validation', role: 'status', 'aria-live': 'polite' });
  let timer = null;
  let asked = 0;
  const validate = async () => {
    const mine = ++asked;
    let body;
    try {
      body = (await api('POST', '/v1/admin/policies/validate', { text: area.value })).body;
    } catch (err) {
      if (mine === asked) showError(report, err);
      return;
    }
    if (mine !== asked) return; // a newer text was sent meanwhile
    area.setAttribute('aria-invalid', body.valid ? 'false' : 'true');
    report.replaceChildren(body.valid ? validMessage(body) : problemList(body.problems, area, where));
  };
  area.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 250);
  });
  function where() {
    const before = area.value.slice(0, area.selectionStart).split('\n');
    caret.textContent = `Line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  for (const ev of ['keyup', 'click', 'focus', 'input']) area.addEventListener(ev, where);
  const node = h('div', {}, h('label', { for: 'policy-text', text: 'Policy (YAML, checked against schemas/policy.schema.json as you type)' }),
    area, caret, report);
  return { node, area, validate };
}

function validMessage(body) {
  const box = h('div', { class: 'banner ok' },
    `Valid: a policy for ${body.audience}, version ${body.version}.`);
  if (body.activation_problems.length) {
    return h('div', {}, box, h('div', { class: 'banner warn' }, 'It could not be activated yet: ',
      h('ul', {}, body.activation_problems.map((p) => h('li', { text: `${p.where}: ${p.message}` })))));
  }
  return box;
}

function problemList(problems, area, moved) {
  return h('div', { class: 'banner bad' },
    h('p', { text: `${problems.length} problem${problems.length === 1 ? '' : 's'}:` }),
    h('ul', { class: 'problems' }, problems.map((p) => {
      const at = position(p.where);
      const label = at ? `Line ${at.line}, column ${at.column}: ${p.message}` : `${p.where}: ${p.message}`;
      return h('li', {}, at ? h('button', {
        type: 'button', class: 'link', text: label, 'data-line': at.line, 'data-column': at.column,
        onclick: () => { goTo(area, at.line, at.column); moved(); },
      }) : label);
    })));
}

function goTo(area, line, column) {
  const lines = area.value.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
  offset += column - 1;
  area.focus();
  area.setSelectionRange(offset, offset);
}

async function reviewDraft(draft, box) {
  let target = null;
  if (draft.audience === 'customer/*') {
    const status = await get('/v1/admin/status');
    const own = new Set((await get('/v1/admin/policies')).map((p) => p.audience));
    const customers = status.audiences.filter((a) => a.startsWith('customer/') && !own.has(a));
    target = customers[0] || null;
    if (target) {
      const select = h('select', { id: 'preview-audience' },
        customers.map((c) => h('option', { value: c, text: c })));
      const preview = h('div', {});
      select.addEventListener('change', () => renderPreview(draft, select.value, preview));
      box.append(h('label', { for: 'preview-audience', text: 'Preview as' }), select, preview);
      await Promise.all([renderPreview(draft, target, preview), diffInto(draft, box)]);
      return;
    }
  }
  const preview = h('div', {});
  box.append(preview);
  await Promise.all([renderPreview(draft, target, preview), diffInto(draft, box)]);
}

async function diffInto(draft, box) {
  const node = h('div', {});
  box.append(node);
  await renderDiff(draft, node);
}
