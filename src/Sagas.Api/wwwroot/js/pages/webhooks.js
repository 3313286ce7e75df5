import { api } from '../api.js';
import { el, replace, problemBox, showProblem, statusBadge, table, pager, dateTime, number } from '../ui.js';

export const title = 'Webhooks';
const statuses = ['delivered', 'rejected', 'failed', 'sending', 'queued'];
const pageSize = 50;

export function render(main, [endpoint, status]) {
  return endpoint ? renderEndpoint(main, endpoint, status) : renderEndpoints(main);
}

function renderEndpoints(main) {
  const list = el('div', { 'data-testid': 'webhook-endpoints' }, 'Loading…');
  main.append(
    el('h1', {}, 'Webhook endpoints'),
    el('p.hint', {}, 'Each receiver configured under Notifications:Webhooks, with what happened to its deliveries of the last 24 hours. ',
      'Only the URL\'s origin is shown; its path and the signing secret stay in configuration.'),
    el('section.card', {}, list));
  load();

  async function load() {
    let answer;
    try {
      answer = await api('/api/system/webhooks');
    } catch (error) {
      showProblem(list, error);
      return;
    }
    const counts = e => e.last24Hours;
    replace(list, table([
      { title: 'Endpoint', render: e => el('a', { href: `#/webhooks/${encodeURIComponent(e.name)}` }, e.name) },
      { title: 'Origin', render: e => el('code', {}, e.origin) },
      { title: 'Events', render: e => e.events.length ? e.events.join(', ') : 'all' },
      { title: 'Delivered', render: e => number(counts(e).delivered) },
      { title: 'Rejected', render: e => counts(e).rejected ? el('a', { href: `#/webhooks/${encodeURIComponent(e.name)}/rejected` }, statusBadge(`${counts(e).rejected} rejected`)) : '0' },
      { title: 'Failed', render: e => counts(e).failed ? el('a', { href: `#/webhooks/${encodeURIComponent(e.name)}/failed` }, statusBadge(`${counts(e).failed} failed`)) : '0' },
      { title: 'In flight', render: e => number(counts(e).sending + counts(e).queued) },
      { title: 'Latency avg / max', render: e => e.averageLatencyMs === null ? '—' : `${number(e.averageLatencyMs)} / ${number(e.maxLatencyMs)} ms` },
      { title: 'Last attempt', render: e => dateTime(e.lastAttemptAt) },
    ], answer.endpoints, {
      empty: 'No webhook endpoints are configured (Notifications:Webhooks in the settings; see docs/notifications.md).',
      testid: 'webhook-endpoints-table',
    }));
  }
}

function renderEndpoint(main, endpoint, status) {
  // The status is part of the route, so a link from the endpoint list (or a bookmark) opens the filtered view.
  const state = { status: statuses.includes(status) ? status : '', page: 1 };
  const list = el('div', { 'data-testid': 'webhook-deliveries' }, 'Loading…');
  const message = el('div', { 'data-testid': 'webhook-redelivery-result' });
  const filter = el('select', { 'aria-label': 'Status', id: 'webhook-status-filter',
    onchange: () => { state.status = filter.value; state.page = 1; history.replaceState(null, '', `#/webhooks/${encodeURIComponent(endpoint)}${state.status ? '/' + state.status : ''}`); load(); } },
  el('option', { value: '' }, 'All statuses'), statuses.map(s => el('option', { value: s, selected: s === state.status }, s)));

  // Follows deliveries in flight on screen until they settle; stopped when the page is left.
  let timer = null;
  let stopped = false;
  main.append(
    el('p', {}, el('a', { href: '#/webhooks' }, '← Webhook endpoints')),
    el('h1', {}, 'Deliveries to ', el('code', {}, endpoint)),
    el('section.card', {},
      el('div.toolbar', {}, filter, el('button.secondary', { type: 'button', onclick: () => load() }, 'Refresh')),
      el('p.hint', {}, 'Newest first. Attempts counts every POST, HTTP retries included; latency is the last attempt\'s, from its first POST to the answer. ',
        'A rejected (4xx) or failed delivery can be sent again: same webhook-id and body, so a receiver that saw it can tell.'),
      list,
      message));
  load();
  return () => { stopped = true; clearTimeout(timer); };

  async function load() {
    clearTimeout(timer);
    const query = new URLSearchParams({ page: state.page, pageSize });
    if (state.status) query.set('status', state.status);
    let answer;
    try {
      answer = await api(`/api/system/webhooks/${encodeURIComponent(endpoint)}/deliveries?${query}`);
    } catch (error) {
      showProblem(list, error);
      return;
    }
    const redeliver = delivery => async event => {
      event.target.disabled = true;
      try {
        await api(`/api/system/webhooks/deliveries/${encodeURIComponent(delivery.webhookId)}/redeliver`, { method: 'POST' });
        replace(message, el('p.ok', {}, `Queued ${delivery.webhookId} again.`));
        await load();
      } catch (error) {
        event.target.disabled = false;
        replace(message, problemBox(error));
      }
    };
    replace(list,
      table([
        { title: 'Created', render: d => dateTime(d.createdAt) },
        { title: 'Event', render: d => el('code.id', {}, d.eventType) },
        { title: 'Webhook id', render: d => el('code.id', { title: d.webhookId }, d.webhookId.length > 24 ? `${d.webhookId.slice(0, 12)}…${d.webhookId.slice(-8)}` : d.webhookId) },
        { title: 'Status', render: d => statusBadge(d.status) },
        { title: 'HTTP', render: d => d.statusCode ?? '—' },
        { title: 'Attempts', render: d => number(d.attempts) },
        { title: 'Latency', render: d => d.latencyMs === null ? '—' : `${number(d.latencyMs)} ms` },
        { title: 'Last attempt', render: d => dateTime(d.lastAttemptAt) },
        { title: 'Error', render: d => d.lastError ? el('span.error-text', {}, d.lastError) : '' },
        { title: '', render: d => d.status === 'rejected' || d.status === 'failed'
          ? el('button', { type: 'button', onclick: redeliver(d) }, 'Send again')
          : '' },
      ], answer.items, { empty: state.status ? `No ${state.status} deliveries.` : 'No deliveries yet.', testid: 'webhook-deliveries-table' }),
      answer.total > answer.pageSize ? pager(answer.page, answer.pageSize, answer.total, next => { state.page = next; load(); }) : null);
    if (!stopped && answer.items.some(d => d.status === 'queued' || d.status === 'sending')) timer = setTimeout(load, 2000);
  }
}
