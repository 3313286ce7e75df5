import { api } from '../api.js';
import { live } from '../live.js';
import { runTimeline } from '../timeline.js';
import { renderBudget } from '../budget.js';
import { el, replace, problemBox, showProblem, statusBadge, progressBar, table, pager, dateTime, duration, number, money, idCell, fullId, every } from '../ui.js';

export const title = 'LLM jobs';
const statuses = ['queued', 'running', 'completed', 'failed', 'cancelled'];
const itemStatuses = ['queued', 'processing', 'succeeded', 'failed', 'cancelled'];
// Paused: the job's budget stopped it; it is still active (it can be cancelled, and resumes when the budget is raised).
const isActive = status => status === 'queued' || status === 'running' || status === 'paused';

/** A job that finished with failed items says so: "completed" alone would read as every item succeeded. */
function jobBadge(job) {
  if (job.status !== 'completed' || !job.failedItems) return statusBadge(job.status);
  return el('span.badge', { dataset: { status: 'completed-with-failures' }, title: `${job.failedItems} of ${job.totalItems} items failed` },
    `completed · ${number(job.failedItems)} failed`);
}

export function render(main, [id]) {
  return id ? renderDetail(main, id) : renderList(main);
}

function renderList(main) {
  const state = { status: sessionStorage.getItem('sagas.jobs.status') || '', page: 1, pageSize: 20 };
  const listArea = el('div', { 'data-testid': 'jobs-list' });
  const filter = el('select', { id: 'job-status-filter', 'aria-label': 'Status',
    onchange: () => { state.status = filter.value; sessionStorage.setItem('sagas.jobs.status', filter.value); state.page = 1; load(); } },
  el('option', { value: '' }, 'All statuses'), statuses.map(s => el('option', { value: s, selected: s === state.status }, s)));

  // The list takes the page's width: its dates and durations must not wrap or clip beside the form.
  main.append(
    el('h1', {}, 'LLM jobs'),
    el('section.card', {},
      el('div.toolbar', {}, el('h2', {}, 'Jobs'), el('label', {}, 'Status ', filter),
        el('button.secondary', { type: 'button', onclick: () => load() }, 'Refresh')),
      listArea),
    submitForm());

  // The latest request wins: a filter or page change made while a refresh is in flight must not be dropped, and the
  // older answer must not paint over the newer one.
  let generation = 0;
  // Lists refresh on their own only while something on screen is still running.
  let anyActive = false;
  async function load() {
    const mine = ++generation;
    try {
      const query = new URLSearchParams({ page: state.page, pageSize: state.pageSize });
      if (state.status) query.set('status', state.status);
      const page = await api(`/api/llm-jobs?${query}`);
      if (mine !== generation) return;
      replace(listArea,
        table([
          { title: 'Job', render: job => idCell(job.id, `#/jobs/${job.id}`) },
          { title: 'Kind', render: job => job.kind },
          { title: 'Status', render: job => jobBadge(job) },
          { title: 'Progress', render: job => progressBar(job.processedItems, job.totalItems) },
          { title: 'Failed', className: 'number', render: job => number(job.failedItems) },
          { title: 'Model', render: job => `${job.model}${job.simulated ? ' (simulated)' : ''}` },
          { title: 'Created', render: job => dateTime(job.createdAt) },
          { title: 'Finished', render: job => dateTime(job.finishedAt) },
          { title: 'Duration', className: 'number', render: job => job.finishedAt ? duration(job.createdAt, job.finishedAt) : '—' },
        ], page.items, { empty: 'No jobs match.', testid: 'jobs-table' }),
        pager(page.page, page.pageSize, page.total, next => { state.page = next; load(); }));
      anyActive = page.items.some(job => isActive(job.status));
    } catch (error) {
      if (mine === generation) {
        showProblem(listArea, error);
        anyActive = false;
      }
    }
  }

  const stop = every(3000, async () => { if (anyActive || !listArea.childElementCount) await load(); });
  return stop;
}

function submitForm() {
  const result = el('div', { 'data-testid': 'submit-result' });
  const form = el('form', { id: 'job-form', onsubmit: async event => {
    event.preventDefault();
    const data = new FormData(form);
    const lines = String(data.get('items')).split('\n').map(line => line.trim()).filter(Boolean);
    const body = {
      kind: data.get('kind'),
      priority: data.get('priority'),
      mode: data.get('mode'),
      model: data.get('model') || undefined,
      instructions: data.get('instructions') || undefined,
      items: lines.map((input, index) => ({ id: String(index + 1), entityType: data.get('entityType'), entityId: String(index + 1), input })),
    };
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    replace(result, 'Submitting…');
    try {
      const accepted = await api('/api/llm-jobs', { method: 'POST', json: body });
      location.hash = `#/jobs/${accepted.id}`;
    } catch (error) {
      replace(result, problemBox(error));
    } finally {
      button.disabled = false;
    }
  } },
  el('label', {}, 'Kind', el('input', { name: 'kind', value: 'flagging', required: true })),
  el('div.row', {},
    el('label', {}, 'Priority', el('select', { name: 'priority' }, ['normal', 'high', 'low'].map(p => el('option', {}, p)))),
    el('label', {}, 'Mode', el('select', { name: 'mode' }, ['background', 'batch'].map(m => el('option', {}, m)))),
    el('label', {}, 'Entity type', el('input', { name: 'entityType', value: 'post', required: true }))),
  el('label', {}, 'Model (blank: provider default)', el('input', { name: 'model', placeholder: 'default' })),
  el('label', {}, 'Instructions (blank: the kind\'s own)', el('textarea', { name: 'instructions', rows: 2 })),
  el('label', {}, 'Items: one input per line', el('textarea', { name: 'items', id: 'job-items', rows: 6, required: true,
    placeholder: 'Buy cheap watches now!!!\nLovely weather today.' })),
  el('button', { type: 'submit' }, 'Submit job'),
  result);
  return el('section.card', {}, el('h2', {}, 'Submit a job'), form);
}

function renderDetail(main, id) {
  const state = { itemStatus: '', page: 1, pageSize: 25 };
  const header = el('div', { 'data-testid': 'job-header' }, 'Loading…');
  const budgetArea = el('section.card', { 'data-testid': 'job-budget-area', hidden: true });
  const items = el('div', { 'data-testid': 'job-items' });
  const filter = el('select', { 'aria-label': 'Item status', onchange: () => { state.itemStatus = filter.value; state.page = 1; load(); } },
    el('option', { value: '' }, 'All items'), itemStatuses.map(s => el('option', { value: s }, s)));
  main.append(
    el('p', {}, el('a', { href: '#/jobs' }, '← All jobs')),
    el('h1', {}, 'Job ', fullId(id)),
    el('section.card', {}, header),
    budgetArea,
    el('section.card', {}, el('div.toolbar', {}, el('h2', {}, 'Items'), el('label', {}, 'Status ', filter)), items),
    runTimeline('llm-jobs', id));

  let job = null;
  let missingSince = null;
  // Live messages, polling and the filter all reload: only the latest request's answer is painted, so a slow older
  // answer cannot put a finished job back to running.
  let generation = 0;
  async function load() {
    const mine = ++generation;
    try {
      const query = new URLSearchParams({ itemsPage: state.page, itemsPageSize: state.pageSize });
      if (state.itemStatus) query.set('itemStatus', state.itemStatus);
      const detail = await api(`/api/llm-jobs/${encodeURIComponent(id)}?${query}`);
      if (mine !== generation) return;
      job = detail.job;
      missingSince = null;
      renderHeader(header, job, load, detail.usage);
      renderBudget(budgetArea, { active: isActive(job.status), budget: detail.budget, route: `/api/llm-jobs/${job.id}/budget`, testid: 'job', subject: 'the job\'s', reload: load });
      replace(items,
        table([
          { title: 'Item', render: item => item.id },
          { title: 'Entity', render: item => `${item.entityType}/${item.entityId}` },
          { title: 'Status', render: item => statusBadge(item.status) },
          { title: 'Flagged', render: item => item.flagged === null ? '—' : item.flagged ? 'yes' : 'no' },
          { title: 'Category', render: item => item.category ?? '—' },
          { title: 'Confidence', render: item => item.confidence === null ? '—' : item.confidence.toFixed(2) },
          { title: 'Reason / error', render: item => item.error ? el('span.error-text', {}, item.error) : (item.reason ?? '—') },
          { title: 'Tokens in/out', render: item => `${number(item.inputTokens)} / ${number(item.outputTokens)}` },
        ], detail.items.items, { empty: 'No items match.', testid: 'items-table' }),
        pager(detail.items.page, detail.items.pageSize, detail.items.total, next => { state.page = next; load(); }));
    } catch (error) {
      if (mine !== generation) return;
      // A job just submitted is recorded by the saga a moment later: a 404 in the first seconds is expected.
      if (error.status === 404 && !job && (missingSince ??= Date.now()) > Date.now() - 15000) {
        replace(header, 'Waiting for the job to be recorded…');
        return;
      }
      showProblem(header, error);
    }
  }

  // Live messages about this job trigger an immediate refresh; polling carries on slowly in case the socket is down.
  const stopListening = live.listen(message => {
    const about = message.llm_job_id ?? message.job_id ?? message.data?.llm_job_id;
    if (about === id) load();
  });
  const unsubscribe = live.subscribe({ action: 'subscribe', llm_job_id: id });
  const stopPolling = every(2000, async () => { if (!job || isActive(job.status)) await load(); });
  return () => { stopPolling(); unsubscribe(); stopListening(); };
}

function renderHeader(header, job, reload, usage) {
  const cancel = isActive(job.status)
    ? el('button.danger', { type: 'button', onclick: async () => {
      const reason = prompt('Why cancel this job? (optional)') ?? undefined;
      try {
        await api(`/api/llm-jobs/${job.id}/cancel`, { method: 'POST', json: { reason } });
        reload();
      } catch (error) {
        header.append(problemBox(error));
      }
    } }, 'Cancel job')
    : null;
  replace(header,
    el('div.toolbar', {}, el('h2', {}, 'Status ', jobBadge(job)), cancel),
    progressBar(job.processedItems, job.totalItems),
    el('dl.facts', {},
      fact('Kind', job.kind), fact('Model', `${job.model}${job.simulated ? ' (simulated)' : ''}`), fact('Provider', job.provider),
      fact('Priority', job.priority), fact('Mode', job.mode),
      fact('Items', number(job.totalItems)), fact('Succeeded', number(job.succeededItems)), fact('Failed', number(job.failedItems)),
      fact('Cancelled', number(job.cancelledItems)), fact('Created', dateTime(job.createdAt)), fact('Started', dateTime(job.startedAt)),
      fact('Finished', dateTime(job.finishedAt)), fact('Duration', job.finishedAt ? duration(job.createdAt, job.finishedAt) : '—'),
      fact('Expires', dateTime(job.expiresAt)),
      job.nextPollAt && isActive(job.status) ? fact('Next poll', dateTime(job.nextPollAt)) : null,
      job.stopReason ? fact('Stop reason', job.stopReason) : null,
      // From the usage ledger: every item result so far, batch items at the batch discount.
      usage ? fact('Tokens in / cached / out', `${number(usage.inputTokens)} / ${number(usage.cachedInputTokens)} / ${number(usage.outputTokens)}`) : null,
      usage ? el('dt', {}, 'Cost') : null,
      usage ? el('dd', { 'data-testid': 'job-cost', title: usage.unpricedCalls ? `${usage.unpricedCalls} call(s) without a price` : '' }, money(usage.costUsd)) : null),
    job.lastError ? el('div.problem', {}, el('strong', {}, 'Last error'), el('p', {}, job.lastError)) : null);
}

const fact = (name, value) => [el('dt', {}, name), el('dd', {}, value ?? '—')];
