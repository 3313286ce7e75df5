import { api } from './api.js';
import { el, replace, problemBox, money } from './ui.js';

/**
 * A run's budget (limit, spent, reserved), its pause with the reason, and the form that sets or raises it through
 * `route` (PUT { limitUsd }; a raise that lifts the pause resumes the run). Facts repaint on every refresh; the form
 * only when what it offers changes, so a refresh never wipes an amount being typed. `testid` prefixes the test ids
 * (`{testid}-paused`, `{testid}-budget`); `subject` names the run in the text ("the job's"); `heading` replaces the
 * card's title and `none` the text without a budget when the budget covers something other than a run (a project's day).
 */
export function renderBudget(area, { active, budget, route, testid, subject, reload, heading = 'Budget', none = `No budget: ${subject} model calls are not limited.` }) {
  const key = `${active}/${Boolean(budget)}/${Boolean(budget?.paused)}`;
  if (!area.facts) {
    area.facts = el('div');
    area.form = el('div');
    area.append(el('h2', {}, heading), area.facts, area.form);
  }
  area.hidden = !budget && !active;
  replace(area.facts,
    budget?.paused
      ? el('div.problem', { 'data-testid': `${testid}-paused`, role: 'status' }, el('strong', {}, 'Paused by its budget'), el('p', {}, budget.pausedReason ?? ''))
      : null,
    budget
      ? el('dl.facts', { 'data-testid': `${testid}-budget` },
        fact('Budget', money(budget.limitUsd)), fact('Spent', money(budget.spentUsd)), fact('Reserved', money(budget.reservedUsd)))
      : el('p', {}, none));
  if (area.dataset.key === key) return;
  area.dataset.key = key;
  if (!active) {
    replace(area.form);
    return;
  }
  const input = el('input', { type: 'number', min: '0.01', step: '0.01', required: true, 'aria-label': 'New budget in USD',
    value: budget ? (budget.limitUsd * 2).toFixed(2) : '' });
  const errors = el('div');
  replace(area.form, el('form.toolbar', { 'data-testid': 'budget-form', onsubmit: async event => {
    event.preventDefault();
    replace(errors);
    try {
      await api(route, { method: 'PUT', json: { limitUsd: Number(input.value) } });
      reload();
    } catch (error) {
      errors.append(problemBox(error));
    }
  } }, el('label', {}, 'Budget (USD) ', input),
  el('button', { type: 'submit' }, budget?.paused ? 'Raise budget and resume' : budget ? 'Change budget' : 'Set budget')), errors);
}

const fact = (name, value) => [el('dt', {}, name), el('dd', {}, value ?? '—')];
