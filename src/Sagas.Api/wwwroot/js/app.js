import { apiKey } from './api.js';
import * as jobs from './pages/jobs.js';
import * as scan from './pages/scan.js';
import * as analyses from './pages/analyses.js';
import * as assistant from './pages/assistant.js';
import * as system from './pages/system.js';

const pages = { jobs, scan, analyses, assistant, system };
const main = document.getElementById('page');
let cleanup = null;

function route() {
  const [name = 'jobs', ...rest] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const page = pages[name] ?? jobs;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  main.replaceChildren();
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.dataset.page === (pages[name] ? name : 'jobs'));
  }
  document.title = `${page.title} · Sagas`;
  cleanup = page.render(main, rest.map(decodeURIComponent));
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
window.addEventListener('hashchange', route);
route();
