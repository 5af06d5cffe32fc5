// The console's entry: pick the page from the shell, render it, say when it is interactive.
import { describe } from './core.js';
import { audiencesPage, audiencePage } from './audiences.js';
import { draftPage } from './editor.js';
import { auditPage } from './audit.js';
import { statusPage } from './status.js';
import { explainPage } from './explain.js';

const PAGES = {
  audiences: audiencesPage,
  audience: audiencePage,
  draft: draftPage,
  audit: auditPage,
  status: statusPage,
  explain: explainPage,
};

async function main() {
  const body = document.body;
  const page = body.dataset.page;
  for (const link of document.querySelectorAll('nav a[data-nav]')) {
    const here = link.dataset.nav === page && !(page === 'draft' && body.dataset.args);
    if (here || (page === 'audience' && link.dataset.nav === 'audiences')) {
      link.setAttribute('aria-current', 'page');
    }
  }
  const root = document.getElementById('page');
  try {
    await PAGES[page](root, body.dataset.args || '');
  } catch (err) {
    root.replaceChildren(h2error(err));
  }
  // for the browser tests: the page has its data and answers input from here on
  body.dataset.readyMs = performance.now().toFixed(1);
  body.dataset.ready = 'true';
}

function h2error(err) {
  const box = document.createElement('div');
  box.className = 'alert';
  box.setAttribute('role', 'alert');
  box.append(describe(err));
  return box;
}

main();
