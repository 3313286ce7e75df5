// The failed messages grouped by queue and exception type on the System page, with redelivering a whole group:
// a preview count (dryRun), a confirmation, then the bulk operation's progress.
import { api } from './api.js';
import { el, replace, problemBox, showProblem, notAvailable, table, dateTime, number } from './ui.js';
import { confirmDialog, followOperation } from './bulk.js';

/** Draws the groups into `container`; onRedelivered runs once a group's operation has finished (to reload the list below). */
export async function loadFailureGroups(container, { onRedelivered } = {}) {
  let answer;
  try {
    answer = await api('/api/system/failed-messages/groups');
  } catch (error) {
    if (error.status === 404) notAvailable(container, 'Failed message groups', error);
    else showProblem(container, error);
    return;
  }

  // Kept across reloads: the list is redrawn when an operation finishes, and its card must stay to say so.
  const progress = container.querySelector(':scope > [data-testid="group-redelivery"]') ?? el('div', { 'data-testid': 'group-redelivery' });
  const reload = () => loadFailureGroups(container, { onRedelivered });
  const redeliver = group => async event => {
    const button = event.target;
    button.disabled = true;
    const key = { queue: group.queue, exceptionType: group.exceptionType };
    replace(progress, el('p.hint', {}, 'Counting the messages that would be redelivered…'));
    try {
      const preview = await api('/api/system/failed-messages/redeliver', { method: 'POST', json: { group: key, dryRun: true } });
      if (!preview.count) {
        replace(progress, el('p.notice', { 'data-testid': 'group-nothing' }, 'Nothing left to redeliver in this group: it was redelivered meanwhile.'));
        button.disabled = false;
        return;
      }
      const confirmed = await confirmDialog(
        `Redeliver ${number(preview.count)} messages?`,
        `${number(preview.count)} messages that failed on ${group.queue} with ${group.exceptionType} go back to their queue, each once. Redeliver only once the cause is fixed: those that fail again are listed again.`,
        { confirm: 'Redeliver them', keep: 'Not now' });
      if (!confirmed) {
        replace(progress);
        button.disabled = false;
        return;
      }
      // The operation id makes the call idempotent: a retry after a lost answer cannot start a second operation.
      const operationId = crypto.randomUUID();
      const accepted = await api('/api/system/failed-messages/redeliver', { method: 'POST', json: { group: key, confirm: true, operationId } });
      followOperation(progress, accepted.operationId ?? operationId, {
        title: `Redeliver ${group.queue} · ${shortType(group.exceptionType)}`,
        label: operation => `${number(operation.done)} of ${number(operation.total)} messages redelivered`
          + (operation.skipped ? ` (${number(operation.skipped)} skipped: redelivered by someone else)` : ''),
        onDone: () => { reload(); onRedelivered?.(); },
      });
    } catch (error) {
      replace(progress, problemBox(error));
      button.disabled = false;
    }
  };

  const groups = answer.groups ?? [];
  replace(container,
    progress,
    table([
      { title: 'Queue', render: g => el('code', {}, g.queue) },
      { title: 'Exception', render: g => el('code', { title: g.exceptionType }, shortType(g.exceptionType)) },
      { title: 'Count', className: 'number', render: g => number(g.count) },
      { title: 'Last seen', render: g => dateTime(g.lastSeen) },
      { title: 'Latest error', className: 'title', render: g => el('span.error-text', { title: g.sampleMessage }, g.sampleMessage) },
      { title: '', render: g => el('button', { type: 'button', onclick: redeliver(g) }, 'Redeliver group…') },
    ], groups, { empty: 'No failed message waits for redelivery.', testid: 'failed-groups-table' }),
    answer.truncated ? el('p.hint', {}, 'Only the largest groups are shown.') : null);
}

/** The last segment of a .NET type name; the full name is in the tooltip. */
export function shortType(name) {
  if (!name) return '—';
  const segments = name.split(/[:.]/);
  return segments[segments.length - 1] || name;
}
