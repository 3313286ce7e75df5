import { apiKey } from './api.js';
import * as assistant from './pages/assistant.js';
import * as runs from './pages/runs.js';
import * as system from './pages/system.js';
import * as usage from './pages/usage.js';
import * as webhooks from './pages/webhooks.js';

// The workflows' pages come from the server (each workflow ships its own page script); the assistant and the system
// page belong to the dashboard itself and follow them in the navigation.
const pages = {};
let home = 'assistant';
const main = document.getElementById('page');
let cleanup = null;

async function loadPages() {
  const nav = document.querySelector('nav');
  const first = nav.querySelector('a');
  let listed = [];
  try {
    const response = await fetch('dashboard/pages.json');
    if (response.ok) listed = await response.json();
  } catch {
    // Without the list the dashboard still offers its own pages.
  }
  for (const { id, title } of listed) {
    pages[id] = await import(`./pages/${encodeURIComponent(id)}.js`);
    const link = document.createElement('a');
    link.href = `#/${id}`;
    link.dataset.page = id;
    link.textContent = title;
    nav.insertBefore(link, first);
  }
  Object.assign(pages, { runs, usage, assistant, system, webhooks });
  if (listed.length > 0) home = listed[0].id;
  document.querySelector('a.brand').href = `#/${home}`;
}

function route() {
  // A page may keep its filters after '?' in the hash (#/runs?status=failed): they are the page's, not the route's.
  const [name = home, ...rest] = location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean);
  const known = pages[name] ? name : home;
  const page = pages[known];
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  main.replaceChildren();
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.dataset.page === known);
  }
  document.title = `${page.title} · Sagas`;
  cleanup = page.render(main, known === name ? rest.map(decodeURIComponent) : []);
}

function showKeyState() {
  const state = document.getElementById('key-state');
  state.textContent = apiKey.get() ? 'API key set for this tab' : 'No API key';
}

function setUpKeyDialog() {
  const dialog = document.getElementById('key-dialog');
  const input = document.getElementById('key-input');
  document.getElementById('key-edit').addEventListener('click', () => { input.value = ''; dialog.showModal(); });
  let askedSinceKeyChange = false;
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save' && input.value.trim()) apiKey.set(input.value.trim());
    if (dialog.returnValue === 'clear') apiKey.set('');
    input.value = '';
  });
  window.addEventListener('sagas:key-changed', () => { askedSinceKeyChange = false; showKeyState(); route(); });
  // A 401 means the key is missing or wrong: ask once per key rather than on every failing poll.
  window.addEventListener('sagas:unauthorized', () => {
    if (dialog.open || askedSinceKeyChange) return;
    askedSinceKeyChange = true;
    dialog.showModal();
  });
  showKeyState();
}

setUpKeyDialog();
await loadPages();
window.addEventListener('hashchange', route);
route();
