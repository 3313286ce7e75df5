import { api } from '../api.js';
import { el, replace, showProblem, table, number, money } from '../ui.js';

export const title = 'Usage';

const groupings = [
  { groupBy: 'day', heading: 'Per day', key: 'Day', testid: 'usage-by-day' },
  { groupBy: 'project', heading: 'Per project', key: 'Project', testid: 'usage-by-project' },
  { groupBy: 'model', heading: 'Per model', key: 'Provider / model', testid: 'usage-by-model' },
  { groupBy: 'workflow', heading: 'Per workflow', key: 'Workflow', testid: 'usage-by-workflow' },
];

const isoDay = date => date.toISOString().slice(0, 10);

// Filters live in the hash (#/usage?from=…&to=…&workflow=…&project=…), so a view can be bookmarked or linked.
function readFilters() {
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86_400_000);
  return {
    from: query.get('from') ?? isoDay(monthAgo),
    to: query.get('to') ?? isoDay(today),
    workflow: query.get('workflow') ?? '',
    project: query.get('project') ?? '',
  };
}

export function render(main) {
  const filters = readFilters();
  const summary = el('div', { 'data-testid': 'usage-total' }, 'Loading…');
  const sections = groupings.map(g => ({ ...g, body: el('div', { 'data-testid': g.testid }, 'Loading…') }));
  const from = el('input', { type: 'date', id: 'usage-from', 'aria-label': 'From', value: filters.from });
  const to = el('input', { type: 'date', id: 'usage-to', 'aria-label': 'To', value: filters.to });
  const workflow = el('select', { id: 'usage-workflow', 'aria-label': 'Workflow' }, el('option', { value: '' }, 'All workflows'));
  // The workflows come from the server, as on the Runs page; the assistant is the dashboard's own.
  const addWorkflow = name => workflow.append(el('option', { value: name, selected: name === filters.workflow }, name));
  api('/api/runs/workflows').then(list => { list.forEach(w => addWorkflow(w.name)); addWorkflow('assistant'); }, () => addWorkflow('assistant'));
  const project = el('input', { type: 'text', id: 'usage-project', 'aria-label': 'Project id', placeholder: 'Project id (optional)', value: filters.project, size: 36 });
  const apply = () => {
    const query = new URLSearchParams({ from: from.value, to: to.value });
    if (workflow.value) query.set('workflow', workflow.value);
    if (project.value.trim()) query.set('project', project.value.trim());
    history.replaceState(null, '', `#/usage?${query}`);
    Object.assign(filters, { from: from.value, to: to.value, workflow: workflow.value, project: project.value.trim() });
    load();
  };

  main.append(
    el('h1', {}, 'Model usage'),
    el('p.hint', {}, 'Tokens and cost of every model call: LLM job items (batch items at the batch discount), prompt-analysis platform answers and the assistant\'s turns, ',
      'priced by the shared price table (Prices) when the call was recorded. Scan sessions make no model calls. Days are UTC.'),
    el('section.card', {},
      el('div.toolbar', {}, from, to, workflow, project,
        el('button', { type: 'button', onclick: apply }, 'Apply')),
      summary),
    ...sections.map(s => el('section.card', {}, el('h2', {}, s.heading), s.body)));
  load();

  async function load() {
    const base = new URLSearchParams({ from: filters.from, to: filters.to });
    if (filters.workflow) base.set('workflow', filters.workflow);
    if (filters.project) base.set('project', filters.project);
    await Promise.all(sections.map(async (section, index) => {
      let answer;
      try {
        answer = await api(`/api/usage?groupBy=${section.groupBy}&${base}`);
      } catch (error) {
        showProblem(section.body, error);
        if (index === 0) replace(summary, '');
        return;
      }
      if (index === 0) replace(summary, totals(answer));
      replace(section.body, table([
        { title: section.key, render: g => keyCell(section.groupBy, g.key) },
        { title: 'Calls', render: g => number(g.totals.calls) },
        { title: 'Input tokens', render: g => number(g.totals.inputTokens) },
        { title: 'Cached', render: g => number(g.totals.cachedInputTokens) },
        { title: 'Output tokens', render: g => number(g.totals.outputTokens) },
        { title: 'Cost', render: g => money(g.totals.costUsd) },
        { title: 'Unpriced', render: g => g.totals.unpricedCalls ? el('span.error-text', { title: 'Calls of a model the price table has no price for' }, number(g.totals.unpricedCalls)) : '0' },
      ], answer.groups, { empty: 'No model calls in this range.', testid: `${section.testid}-table` }));
    }));
  }
}

function totals(answer) {
  const t = answer.total;
  return el('dl.facts', {},
    el('dt', {}, 'Range'), el('dd', {}, `${answer.from} – ${answer.to}`),
    el('dt', {}, 'Calls'), el('dd', { 'data-testid': 'usage-total-calls' }, number(t.calls)),
    el('dt', {}, 'Tokens in / cached / out'), el('dd', {}, `${number(t.inputTokens)} / ${number(t.cachedInputTokens)} / ${number(t.outputTokens)}`),
    el('dt', {}, 'Cost'), el('dd', { 'data-testid': 'usage-total-cost' }, money(t.costUsd)),
    t.unpricedCalls ? [el('dt', {}, 'Unpriced calls'), el('dd.error-text', {}, number(t.unpricedCalls))] : []);
}

function keyCell(groupBy, key) {
  if (groupBy === 'project' && key !== 'none') return el('a', { href: `#/usage?project=${encodeURIComponent(key)}` }, el('code.id', {}, key));
  if (groupBy === 'workflow') return el('a', { href: `#/usage?workflow=${encodeURIComponent(key)}` }, key);
  return key === 'none' ? 'no project' : key;
}
