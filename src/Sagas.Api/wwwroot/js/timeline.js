import { api } from './api.js';
import { el, replace, showProblem, dateTime, number, statusBadge } from './ui.js';

/**
 * A run's timeline from GET /api/runs/{workflow}/{id}/history: each saga event (time, event, state before → after),
 * faults highlighted with their message, and the consumers' activity per minute. A workflow page adds it with one
 * line: main.append(runTimeline('llm-jobs', id)). It refreshes itself while it is on the page and stops once it is not,
 * so the page needs no cleanup for it. The history is bounded by the API; the events it dropped are counted here.
 */
export function runTimeline(workflow, id, { refreshMs = 5000, open = true } = {}) {
  const body = el('div', { 'data-testid': 'timeline-body' }, 'Loading…');
  const card = el('details.card.timeline', { 'data-testid': 'timeline', open },
    el('summary', {}, el('h2', {}, 'Timeline')), body);

  let generation = 0;
  async function load() {
    const mine = ++generation;
    try {
      const history = await api(`/api/runs/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}/history`);
      if (mine === generation) draw(body, history);
    } catch (error) {
      // A run just started is recorded a moment later: its 404 is shown and retried like any other answer.
      if (mine === generation) showProblem(body, error);
    }
  }

  // Polls only while on the page: a card never attached within 10 s, or detached since, stops (no cleanup needed).
  let attached = false;
  const made = Date.now();
  const tick = async () => {
    if (card.isConnected) attached = true;
    else if (attached || Date.now() - made > 10_000) return;
    if (attached && card.open) await load();
    setTimeout(tick, attached ? refreshMs : 100);
  };
  card.addEventListener('toggle', () => { if (card.open && card.isConnected) load(); });
  setTimeout(tick);
  return card;
}

function draw(body, history) {
  const entries = history.entries ?? [];
  const activity = history.activity ?? [];
  replace(body,
    history.dropped > 0
      ? el('p.notice', { 'data-testid': 'timeline-dropped' }, `${number(history.dropped)} events not kept: the history keeps a long run's first and last events.`)
      : null,
    entries.length
      ? el('ol.events', { 'data-testid': 'timeline-events' }, entries.map(entry))
      : el('p.empty', { 'data-testid': 'timeline-empty' }, 'No events recorded for this run yet.'),
    el('h3', {}, 'Activity per minute'),
    activity.length
      ? el('table.activity', { 'data-testid': 'timeline-activity' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Minute'), el('th', {}, 'Activity'), el('th.number', {}, 'Count'), el('th.number', {}, 'Failed'))),
        el('tbody', {}, activity.map(minute => el('tr', {},
          el('td', {}, dateTime(minute.minute)), el('td', {}, minute.activity),
          el('td.number', {}, number(minute.count)),
          el('td.number', { class: minute.failed ? 'number error-text' : 'number' }, number(minute.failed))))))
      : el('p.empty', {}, 'No consumer activity recorded.'));
}

function entry(item) {
  const fault = item.kind === 'fault';
  return el('li', { class: fault ? 'fault' : undefined, 'data-kind': item.kind },
    el('span.at', {}, dateTime(item.at)),
    el('span.what', {},
      el('strong', {}, item.event),
      item.stateBefore || item.stateAfter
        ? el('span.states', {}, ' ', statusBadge(item.stateBefore ?? '—'), ' → ', statusBadge(item.stateAfter ?? '—'))
        : null,
      item.messageType ? el('small', { title: item.messageId ? `message ${item.messageId}` : undefined }, ' ', item.messageType) : null),
    fault
      ? el('div.problem', { 'data-testid': 'timeline-fault' },
        el('strong', {}, item.faultType ?? 'Fault', item.attempts ? ` after ${item.attempts} attempts` : ''),
        item.faultMessage ? el('p', {}, item.faultMessage) : null)
      : null);
}
