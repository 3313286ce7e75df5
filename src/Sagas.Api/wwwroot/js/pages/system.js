import { api } from '../api.js';
import { el, replace, problemBox, showProblem, notAvailable, statusBadge, table, pager, dateTime, number } from '../ui.js';
import { loadFailureGroups } from '../failed-groups.js';
import { confirmDialog } from '../bulk.js';

export const title = 'System';
const jobStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'];

export function render(main) {
  const health = el('div', { 'data-testid': 'health' }, 'Loading…');
  const worker = el('div', { 'data-testid': 'worker-check' });
  const sagas = el('div', { 'data-testid': 'sagas-by-state' }, 'Loading…');
  const schedules = el('div', { 'data-testid': 'schedules' }, 'Loading…');
  const failures = el('div', { 'data-testid': 'failed-messages' }, 'Loading…');
  const failureGroups = el('div', { 'data-testid': 'failed-groups' }, 'Loading…');
  const breakers = el('div', { 'data-testid': 'breakers' }, 'Loading…');

  main.append(
    el('h1', {}, 'System'),
    el('div.columns', {},
      el('section.card', {},
        el('div.toolbar', {}, el('h2', {}, 'Health'), el('button.secondary', { type: 'button', onclick: () => loadHealth(health) }, 'Refresh')),
        health,
        el('button.secondary', { type: 'button', onclick: () => checkWorker(worker) }, 'Round-trip a message to a worker'),
        worker),
      el('section.card', {}, el('h2', {}, 'Sagas by state'), sagas)),
    el('section.card', { 'data-testid': 'breakers-card' },
      el('div.toolbar', {}, el('h2', {}, 'Provider circuit breakers'), el('button.secondary', { type: 'button', onclick: () => loadBreakers(breakers) }, 'Refresh')),
      breakers),
    el('section.card', {}, el('h2', {}, 'Schedules'), schedules),
    el('section.card', {}, el('h2', {}, 'Failed messages'), el('h3', {}, 'Groups'), failureGroups, el('h3', {}, 'Messages'), failures));

  loadHealth(health);
  loadSagas(sagas);
  loadSchedules(schedules);
  loadBreakers(breakers);
  loadFailures(failures);
  loadFailureGroups(failureGroups, { onRedelivered: () => loadFailures(failures) });
}

async function loadHealth(container) {
  try {
    // /health answers 503 with the same JSON body when a check fails; read it either way.
    const response = await fetch('/health', { headers: { Accept: 'application/json' } });
    const report = await response.json();
    replace(container,
      el('p', {}, 'Overall ', statusBadge(report.status), ` in ${report.durationMs} ms`),
      table([
        { title: 'Check', render: ([name]) => name },
        { title: 'Status', render: ([, check]) => statusBadge(check.status) },
        { title: 'Description', render: ([, check]) => check.description ?? '' },
      ], Object.entries(report.checks ?? {}), { testid: 'health-table' }));
  } catch (error) {
    replace(container, problemBox({ problem: { title: 'Health could not be read', detail: error.message } }));
  }
}

async function checkWorker(container) {
  replace(container, 'Waiting for a worker (up to 10 s)…');
  try {
    const answer = await api('/api/system/worker-check', { method: 'POST' });
    replace(container, el('p.ok', {}, 'A worker answered: ', el('code', {}, JSON.stringify(answer))));
  } catch (error) {
    replace(container, problemBox(error));
  }
}

async function loadSagas(container) {
  // A dedicated endpoint is used when the server has one; otherwise the LLM job counts come from the list's totals.
  try {
    const report = await api('/api/system/sagas');
    const rows = report.sagas ?? [];
    replace(container, table([
      { title: 'Saga', render: row => row.name },
      { title: 'States', render: row => row.states.length ? row.states.map(({ state, count }) => el('span.pair', {}, statusBadge(state), ' ', number(count))) : 'none' },
      { title: 'Total', render: row => number(row.total) },
    ], rows, { testid: 'sagas-table' }));
    return;
  } catch (error) {
    if (error.status !== 404) { showProblem(container, error); return; }
  }

  try {
    const counts = await Promise.all(jobStatuses.map(async status => [status, (await api(`/api/llm-jobs?status=${status}&pageSize=1`)).total]));
    replace(container,
      table([
        { title: 'LLM job state', render: ([state]) => statusBadge(state) },
        { title: 'Jobs', render: ([, count]) => number(count) },
      ], counts, { testid: 'sagas-table' }),
      el('p.hint', {}, 'Counted from /api/llm-jobs; this server has no /api/system/sagas for scan sessions and analyses.'));
  } catch (error) {
    showProblem(container, error);
  }
}

async function loadSchedules(container) {
  let list;
  try {
    const answer = await api('/api/schedules');
    list = Array.isArray(answer) ? answer : answer.items ?? [];
  } catch (error) {
    if (error.status === 404) notAvailable(container, 'Schedules', error);
    else showProblem(container, error);
    return;
  }

  const message = el('div');
  const act = (schedule, action) => async () => {
    try {
      await api(`/api/schedules/${encodeURIComponent(schedule.name)}/${action}`, { method: 'POST' });
      await loadSchedules(container);
    } catch (error) {
      replace(message, problemBox(error));
    }
  };
  replace(container,
    table([
      { title: 'Name', render: s => el('code', {}, s.name) },
      { title: 'Cron', render: s => `${s.cron} (${s.timeZone ?? 'UTC'})` },
      { title: 'State', render: s => statusBadge(s.enabled === false ? 'disabled' : s.paused ? 'paused' : 'active') },
      { title: 'Next', render: s => dateTime(s.nextFireTime) },
      { title: 'Previous', render: s => dateTime(s.previousFireTime) },
      { title: '', render: s => s.paused
        ? el('button', { type: 'button', onclick: act(s, 'resume') }, 'Resume')
        : el('button.secondary', { type: 'button', onclick: act(s, 'pause'), disabled: s.enabled === false }, 'Pause') },
    ], list, { empty: 'No recurring schedules.', testid: 'schedules-table' }),
    message);
}

/** A breaker's model as the API names it: empty is the provider's own breaker, '-' in the reset route. */
const breakerName = b => b.model ? `${b.provider} / ${b.model}` : `${b.provider} (every model)`;

async function loadBreakers(container, notice = null) {
  let view;
  try {
    view = await api('/api/system/breakers');
  } catch (error) {
    if (error.status === 404) notAvailable(container, 'Provider circuit breakers', error);
    else showProblem(container, error);
    return;
  }

  if (!view.enabled) {
    replace(container, el('p.hint', { 'data-testid': 'breakers-off' },
      'Breakers are off (Breakers:Enabled is false): every provider call goes straight to its provider and nothing is counted.'));
    return;
  }

  const message = el('div', { 'data-testid': 'breaker-result' }, notice ?? '');
  const reset = breaker => async event => {
    const confirmed = await confirmDialog(
      `Reset the breaker of ${breakerName(breaker)}?`,
      `It is ${breaker.state.replace('_', '-')}. Resetting closes it at once for the whole cluster: calls to this provider go again (every process within ${view.reportIntervalMs} ms), and a provider that is still down opens it again after fresh failures.`,
      { confirm: 'Reset it', keep: 'Not now' });
    if (!confirmed) return;
    event.target.disabled = true;
    try {
      await api(`/api/system/breakers/${encodeURIComponent(breaker.provider)}/${encodeURIComponent(breaker.model || '-')}/reset`, { method: 'POST' });
      await loadBreakers(container, el('p.ok', {}, `The breaker of ${breakerName(breaker)} is closed.`));
    } catch (error) {
      event.target.disabled = false;
      replace(message, problemBox(error));
    }
  };
  const state = name => statusBadge(name.replace('_', '-'));
  replace(container,
    el('p.hint', {}, 'One breaker per provider and model, shared by every process: it opens after repeated failures, turns calls away (the work waits, no retry is spent), and after its break lets a probe through that closes it.'),
    table([
      { title: 'Provider / model', render: b => el('code', {}, breakerName(b)) },
      { title: 'State', render: b => state(b.state) },
      { title: 'Failures in a row', render: b => number(b.consecutiveFailures) },
      { title: 'Window', render: b => `${number(b.windowFailures)} of ${number(b.windowCalls)} failed` },
      { title: 'Total', render: b => `${number(b.totalFailures)} of ${number(b.totalCalls)} failed` },
      { title: 'Opened', render: b => dateTime(b.openedAt) },
      { title: 'Next probe', render: b => b.state === 'half_open' ? `probing (${b.probesClaimed} of ${b.probeCount} out)` : dateTime(b.nextProbeAt) },
      { title: '', render: b => el(b.state === 'closed' ? 'button.secondary' : 'button', { type: 'button', onclick: reset(b), disabled: b.state === 'closed' }, 'Reset') },
    ], view.breakers, { empty: 'No breaker yet: none of this cluster\'s providers has been called since the breakers were switched on.', testid: 'breakers-table' }),
    el('h3', {}, 'Recent transitions'),
    table([
      { title: 'Time', render: t => dateTime(t.at) },
      { title: 'Provider / model', render: t => el('code', {}, breakerName(t)) },
      { title: 'Change', render: t => el('span.pair', {}, state(t.from), ' → ', state(t.to)) },
      { title: 'Why', render: t => t.reason },
    ], view.transitions, { empty: 'No transitions yet.', testid: 'breaker-transitions-table' }),
    message);
}

async function loadFailures(container, page = 1) {
  let answer;
  try {
    answer = await api(`/api/system/failed-messages?page=${page}&pageSize=${failurePageSize}`);
  } catch (error) {
    if (error.status === 404) notAvailable(container, 'Failed messages', error);
    else showProblem(container, error);
    return;
  }

  const message = el('div', { 'data-testid': 'failed-message-result' });
  const redeliver = failure => async event => {
    event.target.disabled = true;
    try {
      await api(`/api/system/failed-messages/${failure.id}/redeliver`, { method: 'POST' });
      await loadFailures(container, page);
    } catch (error) {
      event.target.disabled = false;
      replace(message, problemBox(error));
    }
  };
  const list = answer.items ?? [];
  replace(container,
    el('p.hint', {}, 'Messages whose retries ran out; each is also in its queue\'s _error queue. Redeliver sends it back to the queue it failed on.'),
    table([
      { title: 'Time', render: f => dateTime(f.faultedAt) },
      { title: 'Queue', render: f => el('code', {}, f.queue) },
      { title: 'Type', render: f => f.messageTypes.length ? el('code', { title: f.messageTypes.join('\n') }, shortType(f.messageTypes[0])) : '—' },
      { title: 'Error', render: f => el('span.error-text', { title: f.stackTrace ?? '' }, `${shortType(f.exceptionType)}: ${f.exceptionMessage}`) },
      { title: 'State', render: f => f.redeliveredAt
        ? el('span', {}, statusBadge('redelivered'), ' ', dateTime(f.redeliveredAt))
        : statusBadge(f.redeliveryCount ? 'failed again' : 'failed') },
      { title: '', render: f => el('button', { type: 'button', onclick: redeliver(f), disabled: Boolean(f.redeliveredAt) }, 'Redeliver') },
    ], list, { empty: 'No failed messages: nothing has ended in an _error queue.', testid: 'failed-table' }),
    answer.total > answer.pageSize ? pager(answer.page, answer.pageSize, answer.total, next => loadFailures(container, next)) : null,
    message);
}

const failurePageSize = 20;

/** The last segment of a message URN or a .NET type name: enough to recognise it, the full name is in the tooltip. */
function shortType(name) {
  if (!name) return '—';
  const segments = name.split(/[:.]/);
  return segments[segments.length - 1] || name;
}
