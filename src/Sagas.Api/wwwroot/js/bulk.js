// The pieces every bulk action shares (Runs: cancel; System: redeliver a failed-message group): a confirmation dialog
// and a card that follows the operation's progress until it has finished.
import { api } from './api.js';
import { el, replace, statusBadge, progressBar, dateTime, number, every } from './ui.js';

/** Resolves true when the operator chose the confirming button. */
export function confirmDialog(heading, text, { confirm = 'Confirm', keep = 'Keep them' } = {}) {
  return new Promise(resolve => {
    const dialog = el('dialog', { 'data-testid': 'confirm-dialog' },
      el('form', { method: 'dialog' },
        el('h2', {}, heading),
        el('p', {}, text),
        el('div.actions', {},
          el('button.danger', { value: 'confirm' }, confirm),
          el('button.secondary', { value: 'keep' }, keep))));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(dialog.returnValue === 'confirm'); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Polls GET /api/bulk-operations/{id} every second into `area` until the operation is no longer running, then calls
 * onDone. `label(operation)` words the progress ("3 of 3 cancel commands sent"). Returns a function that stops it.
 */
export function followOperation(area, id, { title, label, onDone }) {
  const stop = every(1000, async () => {
    const operation = await api(`/api/bulk-operations/${encodeURIComponent(id)}`);
    replace(area, el('div.bulk', { 'data-testid': 'bulk-progress', 'data-status': operation.status },
      el('div.toolbar', {}, el('strong', {}, `${title} `), statusBadge(operation.status),
        el('span.hint', {}, `by ${operation.requestedBy ?? 'unknown'} · `, dateTime(operation.createdAt))),
      progressBar(operation.done, operation.total, label(operation)),
      operation.error ? el('div.problem', {}, operation.error) : null));
    if (operation.status !== 'running') {
      stop();
      onDone?.(operation);
    }
  });
  return stop;
}
