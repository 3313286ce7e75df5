import { api } from '../api.js';
import { el, replace, problemBox, showProblem, statusBadge, table, dateTime, duration, number, idCell } from '../ui.js';
import { confirmDialog, followOperation } from '../bulk.js';

export const title = 'Runs';
const pageSize = 50;
const filterKeys = ['workflow', 'status', 'project', 'from', 'to', 'text'];

/** The filters live after '?' in the hash (#/runs?workflow=llm-jobs&status=failed), so a link reproduces the view. */
function readHash() {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const filter = Object.fromEntries(filterKeys.map(key => [key, query.get(key) ?? '']));
  return { filter, cursor: query.get('cursor') ?? '' };
}

function writeHash(filter, cursor) {
  const query = new URLSearchParams();
  for (const key of filterKeys) if (filter[key]) query.set(key, filter[key]);
  if (cursor) query.set('cursor', cursor);
  const hash = `#/runs${query.size ? `?${query}` : ''}`;
  // pushState, not location.hash: the page is already drawn for this state, and Back still returns to the last view.
  if (location.hash !== hash) history.pushState(null, '', hash);
}

/** An ISO instant shown in a datetime-local input (local time, minutes). */
function toLocalInput(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  const pad = n => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const fromLocalInput = value => value ? new Date(value).toISOString() : '';

export function render(main) {
  const start = readHash();
  const state = { filter: start.filter, cursor: start.cursor, previous: [], page: null, selected: new Map() };
  let workflows = [];

  const workflowSelect = el('select', { name: 'workflow', id: 'runs-workflow', 'aria-label': 'Workflow' });
  const statusSelect = el('select', { name: 'status', id: 'runs-status', 'aria-label': 'Status' });
  const projectInput = el('input', { name: 'project', id: 'runs-project', placeholder: 'project id', size: 14, spellcheck: false });
  const fromInput = el('input', { type: 'datetime-local', name: 'from', id: 'runs-from', 'aria-label': 'Created from' });
  const toInput = el('input', { type: 'datetime-local', name: 'to', id: 'runs-to', 'aria-label': 'Created before' });
  const textInput = el('input', { type: 'search', name: 'text', id: 'runs-text', placeholder: 'id, title, file name, prompt', size: 24 });
  const listArea = el('div', { 'data-testid': 'runs-list' }, 'Loading…');
  const pagerArea = el('div.pager', { 'data-testid': 'runs-pager' });
  const bulkArea = el('div', { 'data-testid': 'bulk' });
  const selectionInfo = el('span.hint', { 'data-testid': 'selection' });

  const form = el('form.filters', { id: 'runs-filters', onsubmit: event => { event.preventDefault(); apply(); } },
    el('label', {}, 'Workflow', workflowSelect),
    el('label', {}, 'Status', statusSelect),
    el('label', {}, 'Project', projectInput),
    el('label', {}, 'Created from', fromInput),
    el('label', {}, 'Created before', toInput),
    el('label', {}, 'Text', textInput),
    el('div.buttons', {},
      el('button', { type: 'submit' }, 'Apply'),
      el('button.secondary', { type: 'button', onclick: () => { for (const key of filterKeys) state.filter[key] = ''; fill(); apply(); } }, 'Clear')));
  workflowSelect.addEventListener('change', () => { fillStatuses(); apply(); });
  statusSelect.addEventListener('change', () => apply());

  main.append(
    el('h1', {}, 'Runs'),
    el('section.card', {}, form),
    el('section.card', {},
      el('div.toolbar', {}, el('h2', {}, 'Runs of every workflow'), selectionInfo,
        el('button.danger', { type: 'button', id: 'cancel-selected', onclick: () => bulkCancel('selected') }, 'Cancel selected…'),
        el('button.danger', { type: 'button', id: 'cancel-matching', onclick: () => bulkCancel('filter') }, 'Cancel all matching…'),
        el('button.secondary', { type: 'button', onclick: () => load() }, 'Refresh')),
      bulkArea, listArea, pagerArea));

  function fill() {
    workflowSelect.value = state.filter.workflow;
    fillStatuses();
    projectInput.value = state.filter.project;
    fromInput.value = toLocalInput(state.filter.from);
    toInput.value = toLocalInput(state.filter.to);
    textInput.value = state.filter.text;
  }

  function fillStatuses() {
    const chosen = workflows.filter(w => !workflowSelect.value || w.name === workflowSelect.value);
    const statuses = [...new Set(chosen.flatMap(w => w.statuses))];
    const wanted = state.filter.status;
    replace(statusSelect, el('option', { value: '' }, 'All statuses'),
      statuses.map(s => el('option', { value: s, selected: s === wanted }, s)));
    // A status the list does not offer (typed into a link) is kept, so the API's 400 explains it.
    if (wanted && !statuses.includes(wanted)) statusSelect.append(el('option', { value: wanted, selected: true }, wanted));
  }

  function apply() {
    state.filter = {
      workflow: workflowSelect.value,
      status: statusSelect.value,
      project: projectInput.value.trim(),
      from: fromLocalInput(fromInput.value),
      to: fromLocalInput(toInput.value),
      text: textInput.value.trim(),
    };
    state.cursor = '';
    state.previous = [];
    state.selected.clear();
    writeHash(state.filter, '');
    load();
  }

  const query = (extra = {}) => {
    const params = new URLSearchParams();
    for (const key of filterKeys) if (state.filter[key]) params.set(key, state.filter[key]);
    for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
    return params;
  };

  // The latest request wins, as on every list: an older answer never paints over a newer filter's.
  let generation = 0;
  async function load() {
    const mine = ++generation;
    try {
      const page = await api(`/api/runs?${query({ cursor: state.cursor, limit: pageSize })}`);
      if (mine !== generation) return;
      state.page = page;
      drawList();
    } catch (error) {
      if (mine !== generation) return;
      state.page = null;
      showProblem(listArea, error);
      replace(pagerArea);
      drawSelection();
    }
  }

  function drawList() {
    const page = state.page;
    const anyFilter = filterKeys.some(key => state.filter[key]);
    const all = el('input', { type: 'checkbox', 'aria-label': 'Select every run on this page', onchange: () => {
      for (const run of page.items) {
        if (all.checked) state.selected.set(run.id, run); else state.selected.delete(run.id);
      }
      drawList();
    } });
    all.checked = page.items.length > 0 && page.items.every(run => state.selected.has(run.id));
    replace(listArea, table([
      { title: all, render: run => el('input', { type: 'checkbox', 'aria-label': `Select ${run.id}`, checked: state.selected.has(run.id),
        onchange: event => { if (event.target.checked) state.selected.set(run.id, run); else state.selected.delete(run.id); drawSelection(); } }) },
      { title: 'Run', render: run => idCell(run.id, run.link ?? undefined) },
      { title: 'Workflow', render: run => run.workflow },
      { title: 'Status', render: run => statusBadge(run.status) },
      { title: 'Title', className: 'title', render: run => el('span', { title: run.title }, run.title) },
      { title: 'Created', render: run => dateTime(run.createdAt) },
      { title: 'Finished', render: run => dateTime(run.finishedAt) },
      { title: 'Duration', className: 'number', render: run => run.finishedAt ? duration(run.createdAt, run.finishedAt) : '—' },
    ], page.items, { empty: anyFilter ? 'No runs match these filters.' : 'No runs yet.', testid: 'runs-table' }));
    const pageNumber = state.previous.length + 1;
    replace(pagerArea,
      el('button.secondary', { type: 'button', disabled: !state.cursor, onclick: () => {
        state.cursor = state.previous.pop() ?? '';
        writeHash(state.filter, state.cursor);
        load();
      } }, '← Previous'),
      el('span', {}, `Page ${number(pageNumber)} · ${number(page.items.length)} runs${page.next ? '' : ' · the last page'}`),
      el('button.secondary', { type: 'button', disabled: !page.next, onclick: () => {
        state.previous.push(state.cursor);
        state.cursor = page.next;
        writeHash(state.filter, state.cursor);
        load();
      } }, 'Next →'));
    drawSelection();
  }

  function drawSelection() {
    const count = state.selected.size;
    selectionInfo.textContent = count ? `${number(count)} selected` : '';
    main.querySelector('#cancel-selected').disabled = count === 0;
  }

  // Bulk cancel: a preview (dryRun) says how many would be cancelled, a dialog asks for confirmation, and the
  // operation then runs in the background while this card shows its progress.
  async function bulkCancel(scope) {
    const body = scope === 'selected'
      ? { ids: [...state.selected.keys()] }
      : { filter: Object.fromEntries(filterKeys.filter(key => state.filter[key]).map(key => [key, state.filter[key]])) };
    replace(bulkArea, el('p.hint', {}, 'Counting the runs that would be cancelled…'));
    let preview;
    try {
      preview = await api('/api/runs/cancel', { method: 'POST', json: { ...body, dryRun: true } });
    } catch (error) {
      replace(bulkArea, problemBox(error));
      return;
    }
    if (!preview.count) {
      replace(bulkArea, el('p.notice', { 'data-testid': 'bulk-nothing' }, scope === 'selected'
        ? 'None of the selected runs can be cancelled (they have finished).'
        : 'No run matching the filter can be cancelled.'));
      return;
    }
    const what = scope === 'selected' ? `of the ${number(state.selected.size)} selected` : 'matching the filter';
    if (!await confirmDialog(`Cancel ${number(preview.count)} runs?`, `${number(preview.count)} runs ${what} are still running or queued and will be cancelled. This cannot be undone.`, { confirm: 'Cancel the runs' })) {
      replace(bulkArea);
      return;
    }
    // The operation id makes the call idempotent: a retry after a lost answer cannot start a second operation.
    const operationId = crypto.randomUUID();
    try {
      const accepted = await api('/api/runs/cancel', { method: 'POST', json: { ...body, confirm: true, operationId } });
      state.selected.clear();
      follow(accepted.operationId ?? operationId);
    } catch (error) {
      replace(bulkArea, problemBox(error));
    }
  }

  let stopFollowing = null;
  function follow(id) {
    stopFollowing?.();
    stopFollowing = followOperation(bulkArea, id, {
      title: 'Bulk cancel',
      label: operation => `${number(operation.done)} of ${number(operation.total)} cancel commands sent`,
      onDone: () => load(),
    });
  }

  (async () => {
    try {
      workflows = await api('/api/runs/workflows');
    } catch {
      // The list itself shows the problem; the filter then offers no workflow choice.
    }
    replace(workflowSelect, el('option', { value: '' }, 'All workflows'),
      workflows.map(w => el('option', { value: w.name }, w.name)));
    if (state.filter.workflow && !workflows.some(w => w.name === state.filter.workflow))
      workflowSelect.append(el('option', { value: state.filter.workflow }, state.filter.workflow));
    fill();
    load();
  })();

  return () => stopFollowing?.();
}
