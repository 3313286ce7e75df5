import { api } from '../api.js';
import { runTimeline } from '../timeline.js';
import { renderBudget } from '../budget.js';
import { el, replace, problemBox, showProblem, notAvailable, statusBadge, table, dateTime, number, money, every, progressBar, idCell, fullId } from '../ui.js';

export const title = 'Analyses';
const platforms = ['openai', 'claude', 'gemini', 'perplexity'];
const itemsOf = answer => Array.isArray(answer) ? answer : answer?.items ?? [];
const splitList = text => String(text ?? '').split(/[\n,]+/).map(part => part.trim()).filter(Boolean);

export function render(main, [section, runId, analysisId]) {
  if (section === 'runs' && runId) return renderRun(main, runId, analysisId);
  if (section === 'projects' && runId) return renderProject(main, runId);

  const projectsArea = el('div', { 'data-testid': 'projects' }, 'Loading…');
  const promptsArea = el('div', { 'data-testid': 'prompts' }, 'Loading…');
  const runArea = el('div');
  const runsArea = el('div', { 'data-testid': 'runs' });
  const projectSelect = el('select', { name: 'projectId', required: true });
  const runScope = el('select', { name: 'scope' });

  main.append(
    el('h1', {}, 'Prompt analyses'),
    el('div.columns', {},
      el('section.card', {}, el('h2', {}, 'Projects'), projectsArea, projectForm()),
      el('section.card', {}, el('h2', {}, 'Start a run'), runForm(), runArea, el('h3', {}, 'Recent runs'), runsArea)),
    el('section.card', {}, el('h2', {}, 'Tracked prompts'), promptsArea, promptForm()));

  let projects = [];
  async function load() {
    try {
      projects = itemsOf(await api('/api/projects?pageSize=500'));
    } catch (error) {
      if (error.status === 404) notAvailable(projectsArea, 'Projects', error);
      else showProblem(projectsArea, error);
      replace(promptsArea);
      return;
    }
    replace(projectsArea, table([
      { title: 'Name', render: p => el('a', { href: `#/analyses/projects/${encodeURIComponent(p.id)}` }, p.name) },
      { title: 'Brands', render: p => (p.brands ?? p.brandNames ?? []).join(', ') },
      { title: 'Domains', render: p => (p.domains ?? []).join(', ') },
    ], projects, { empty: 'No projects yet: create one below.', testid: 'projects-table' }));
    replace(projectSelect, projects.map(p => el('option', { value: p.id }, p.name)));
    replace(runScope, el('option', { value: '' }, 'All active prompts'), projects.map(p => el('option', { value: `project:${p.id}` }, `Project: ${p.name}`)));

    try {
      const prompts = itemsOf(await api('/api/prompts?pageSize=500'));
      const projectName = id => projects.find(p => p.id === id)?.name ?? id;
      replace(promptsArea, table([
        { title: 'Prompt', render: p => p.text },
        { title: 'Project', render: p => projectName(p.projectId) },
        { title: 'Active', render: p => p.active ? 'yes' : 'no' },
        { title: 'Platforms', render: p => (p.platforms ?? []).join(', ') },
        { title: '', render: p => el('button.secondary', { type: 'button', onclick: () => startRun({ scope: 'prompt', promptId: p.id }) }, 'Run now') },
      ], prompts, { empty: 'No prompts yet.', testid: 'prompts-table' }));
      for (const p of prompts) runScope.append(el('option', { value: `prompt:${p.id}` }, `Prompt: ${p.text.slice(0, 50)}`));
    } catch (error) {
      showProblem(promptsArea, error);
    }
  }

  function projectForm() {
    const message = el('div');
    const form = el('form', { id: 'project-form', onsubmit: async event => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await api('/api/projects', { method: 'POST', json: { name: data.get('name'), brands: splitList(data.get('brands')), domains: splitList(data.get('domains')) } });
        form.reset();
        replace(message);
        load();
      } catch (error) {
        replace(message, problemBox(error));
      }
    } },
    el('h3', {}, 'New project'),
    el('label', {}, 'Name', el('input', { name: 'name', required: true })),
    el('label', {}, 'Brand names (comma separated)', el('input', { name: 'brands' })),
    el('label', {}, 'Domains (comma separated)', el('input', { name: 'domains', placeholder: 'example.com' })),
    el('button', { type: 'submit' }, 'Create project'), message);
    return form;
  }

  function promptForm() {
    const message = el('div');
    const form = el('form', { id: 'prompt-form', onsubmit: async event => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await api('/api/prompts', { method: 'POST', json: {
          projectId: data.get('projectId'), text: data.get('text'), active: data.get('active') === 'on', platforms: data.getAll('platforms'),
        } });
        form.reset();
        replace(message);
        load();
      } catch (error) {
        replace(message, problemBox(error));
      }
    } },
    el('h3', {}, 'New prompt'),
    el('label', {}, 'Project', projectSelect),
    el('label', {}, 'Text', el('textarea', { name: 'text', rows: 2, required: true })),
    el('fieldset', {}, el('legend', {}, 'Platforms'),
      platforms.map(p => el('label.inline', {}, el('input', { type: 'checkbox', name: 'platforms', value: p, checked: true }), ` ${p}`))),
    el('label.inline', {}, el('input', { type: 'checkbox', name: 'active', checked: true }), ' Active'),
    el('button', { type: 'submit' }, 'Add prompt'), message);
    return form;
  }

  function runForm() {
    const force = el('input', { type: 'checkbox', name: 'force' });
    return el('form', { id: 'run-form', onsubmit: event => {
      event.preventDefault();
      const [kind, id] = runScope.value.split(':');
      startRun({ scope: kind || 'all', projectId: kind === 'project' ? id : undefined, promptId: kind === 'prompt' ? id : undefined, force: force.checked });
    } },
    el('label', {}, 'What to analyse', runScope),
    el('label.inline', {}, force, ' Force a re-run (otherwise a run already done for this slot is not repeated)'),
    el('button', { type: 'submit' }, 'Start run'));
  }

  async function startRun(body) {
    replace(runArea, 'Starting…');
    try {
      const accepted = await api('/api/prompt-analyses/runs', { method: 'POST', json: body });
      // created=false: this slot already ran and force was off, so the existing run is shown instead of a new one.
      if (!accepted.created) sessionStorage.setItem('sagas.analyses.notice', 'This run already exists for the current slot; tick "Force a re-run" to analyse again.');
      location.hash = `#/analyses/runs/${accepted.runId}`;
    } catch (error) {
      replace(runArea, problemBox(error));
    }
  }

  async function loadRuns() {
    try {
      const runs = itemsOf(await api('/api/prompt-analyses/runs?pageSize=10'));
      replace(runsArea, table([
        { title: 'Run', render: r => idCell(r.id, `#/analyses/runs/${r.id}`) },
        { title: 'Scope', render: r => `${r.trigger} · ${r.scope}${r.forced ? ' (forced)' : ''}` },
        { title: 'Status', render: r => statusBadge(r.status) },
        { title: 'Done', render: r => `${number(r.completed)} ok · ${number(r.failed)} failed${r.cancelled ? ` · ${number(r.cancelled)} cancelled` : ''} of ${number(r.totalAnalyses)}${r.paused ? ` · ${number(r.paused)} paused` : ''}` },
        { title: 'Created', render: r => dateTime(r.createdAt) },
      ], runs, { empty: 'No runs yet.', testid: 'runs-table' }));
    } catch (error) {
      if (error.status === 404) notAvailable(runsArea, 'The run list', error);
      else showProblem(runsArea, error);
    }
  }

  load();
  loadRuns();
}

function renderRun(main, runId, analysisId) {
  // Each analysis is a run of its own saga: its timeline is made once and kept across refreshes; the one the address
  // names (#/analyses/runs/{run}/{analysis}, as the Runs page links) is open and scrolled to.
  const timelines = new Map();
  const timelineOf = id => timelines.get(id) ?? timelines.set(id, runTimeline('prompt-analyses', id, { open: id === analysisId })).get(id);
  let scrolled = false;
  const area = el('div', { 'data-testid': 'run' }, 'Loading…');
  // Outside the area the refresh rebuilds, so a budget being typed survives it.
  const budgetArea = el('section.card', { 'data-testid': 'run-budget-area', hidden: true });
  main.append(el('p', {}, el('a', { href: '#/analyses' }, '← Projects and prompts')), el('h1', {}, 'Run ', fullId(runId)), budgetArea, area);

  let finished = false;
  // As the job page's: the reason is optional, the answer arrives with the next refresh.
  const cancelButton = (label, route, question) => el('button.danger', { type: 'button', onclick: async () => {
    const reason = prompt(question) ?? undefined;
    try {
      await api(route, { method: 'POST', json: { reason } });
      load();
    } catch (error) {
      area.prepend(problemBox(error));
    }
  } }, label);
  const notice = sessionStorage.getItem('sagas.analyses.notice');
  sessionStorage.removeItem('sagas.analyses.notice');
  async function load() {
    try {
      const detail = await api(`/api/prompt-analyses/runs/${encodeURIComponent(runId)}?analysesPageSize=100`);
      const run = detail.run;
      const jobs = detail.analyses.items;
      finished = run.status === 'finished';
      renderBudget(budgetArea, { active: !finished, budget: detail.budget, route: `/api/prompt-analyses/runs/${encodeURIComponent(runId)}/budget`,
        testid: 'run', subject: 'the run\'s', reload: load });
      // The usage ledger sums the whole run; the page of analyses is only the fallback.
      const usage = detail.usage;
      const totalCost = usage ? usage.costUsd : jobs.reduce((sum, job) => sum + (Number(job.cost) || 0), 0);
      const totalTokens = usage ? usage.inputTokens + usage.outputTokens : jobs.reduce((sum, job) => sum + (Number(job.totalTokens) || 0), 0);
      replace(area,
        notice ? el('div.notice', {}, notice) : null,
        el('section.card', {},
          el('div.toolbar', {}, el('h2', {}, 'Status ', statusBadge(run.status)), el('span', {}, `${run.trigger} run · scope ${run.scope}${run.forced ? ' · forced' : ''}`),
            finished ? null : cancelButton('Cancel run', `/api/prompt-analyses/runs/${encodeURIComponent(runId)}/cancel`, 'Why cancel this run? (optional)')),
          progressBar(run.completed + run.failed + (run.cancelled ?? 0), run.totalAnalyses ?? 0),
          el('dl.facts', {},
            el('dt', {}, 'Analyses'), el('dd', {}, number(run.totalAnalyses)),
            el('dt', {}, 'Completed'), el('dd', {}, number(run.completed)),
            el('dt', {}, 'Failed'), el('dd', {}, number(run.failed)),
            el('dt', {}, 'Cancelled'), el('dd', { 'data-testid': 'run-cancelled' }, number(run.cancelled ?? 0)),
            el('dt', {}, 'Pending / running'), el('dd', {}, `${number(run.pending)} / ${number(run.running)}`),
            el('dt', {}, 'Tokens'), el('dd', { 'data-testid': 'run-tokens' }, usage
              ? `${number(totalTokens)} (${number(usage.inputTokens)} in, ${number(usage.cachedInputTokens)} cached, ${number(usage.outputTokens)} out)`
              : number(totalTokens)),
            el('dt', {}, 'Cost'), el('dd', { 'data-testid': 'run-cost' }, money(totalCost)),
            el('dt', {}, 'Started'), el('dd', {}, dateTime(run.createdAt)),
            el('dt', {}, 'Finished'), el('dd', {}, dateTime(run.finishedAt)),
            el('dt', {}, 'Paused by a budget'), el('dd', { 'data-testid': 'run-paused-count' }, number(run.paused ?? 0))),
          jobs.length ? null : el('p.empty', {}, 'No analyses yet: the run fans out within seconds.'),
          detail.analyses.total > jobs.length ? el('p.hint', {}, `Showing the first ${jobs.length} of ${number(detail.analyses.total)} analyses.`) : null),
        jobs.map(job => el('section.card', { 'data-testid': 'analysis', 'data-id': job.id, class: job.id === analysisId ? 'card current' : undefined },
          // The job row says running; a budget holding the analysis is what the operator needs to see.
          el('div.toolbar', {}, el('h2', {}, job.promptText), statusBadge(job.paused ? 'paused' : job.status),
            el('span', {}, `${number(job.completedPlatforms)} ok · ${number(job.failedPlatforms)} failed of ${number(job.totalPlatforms)} · ${money(job.cost)}`),
            job.status === 'pending' || job.status === 'running'
              ? cancelButton('Cancel analysis', `/api/prompt-analyses/analyses/${encodeURIComponent(job.id)}/cancel`, 'Why cancel this analysis? (optional)')
              : null),
          job.paused
            ? el('div.problem', { 'data-testid': 'analysis-paused', role: 'status' }, el('strong', {}, 'Paused by a budget'),
              el('p', {}, job.pausedReason ?? ''), el('p', {}, 'Raise the run\'s budget above, or the project\'s budget for the day, to ask the platforms it parked.'))
            : null,
          job.responses.map(response => responseView(response)),
          timelineOf(job.id))));
      const current = analysisId && area.querySelector(`[data-id="${CSS.escape(analysisId)}"]`);
      if (current && !scrolled) { scrolled = true; current.scrollIntoView({ block: 'start' }); }
    } catch (error) {
      showProblem(area, error);
      finished = true;
    }
  }
  return every(2000, async () => { if (!finished) await load(); });
}

/** A project: its brands and domains, and its budget for today (UTC), which every run's asks of its prompts reserve on. */
function renderProject(main, projectId) {
  const id = encodeURIComponent(projectId);
  const area = el('div', { 'data-testid': 'project' }, 'Loading…');
  // Outside the area the refresh rebuilds, so a budget being typed survives it.
  const budgetArea = el('section.card', { 'data-testid': 'project-budget-area', hidden: true });
  const heading = el('h1', {}, 'Project');
  main.append(el('p', {}, el('a', { href: '#/analyses' }, '← Projects and prompts')), heading, area, budgetArea);

  let gone = false;
  async function load() {
    let project;
    try {
      project = await api(`/api/projects/${id}`);
    } catch (error) {
      showProblem(area, error);
      budgetArea.hidden = true;
      gone = true;
      return;
    }
    replace(heading, 'Project ', project.name);
    replace(area, el('section.card', {}, el('dl.facts', {},
      el('dt', {}, 'Brands'), el('dd', {}, (project.brands ?? []).join(', ') || '—'),
      el('dt', {}, 'Domains'), el('dd', {}, (project.domains ?? []).join(', ') || '—'),
      el('dt', {}, 'Created'), el('dd', {}, dateTime(project.createdAt)))));
    let budget = null;
    try {
      budget = await api(`/api/projects/${id}/budget`);
    } catch (error) {
      // 404 for a known project means no budget today; anything else is worth showing.
      if (error.status !== 404) {
        showProblem(area, error);
        return;
      }
    }
    const today = new Date().toISOString().slice(0, 10);
    renderBudget(budgetArea, { active: true, budget, route: `/api/projects/${id}/budget`, testid: 'project', reload: load,
      heading: `Budget for today (${today}, UTC)`, none: 'No budget for today: the project\'s model calls are limited only by their runs\' budgets.' });
  }
  return every(3000, async () => { if (!gone) await load(); });
}

function responseView(response) {
  const citations = response.citations ?? [];
  return el('details.response', { open: true },
    el('summary', {}, el('strong', {}, response.platform), ' ', statusBadge(response.status), ' ', response.model ?? '',
      ` · ${number(response.totalTokens ?? ((response.inputTokens ?? 0) + (response.outputTokens ?? 0)))} tokens · ${money(response.cost ?? response.costUsd)}`,
      response.executionTimeMs != null ? ` · ${number(response.executionTimeMs)} ms` : '',
      response.brandMentioned != null ? ` · brand ${response.brandMentioned ? 'mentioned' : 'not mentioned'}` : '',
      response.domainCited != null ? ` · domain ${response.domainCited ? 'cited' : 'not cited'}` : ''),
    response.errorMessage || response.error ? el('div.problem', {}, response.errorMessage ?? response.error) : null,
    response.responseText || response.text ? el('pre.answer', {}, response.responseText ?? response.text) : null,
    citations.length ? el('ol.citations', {}, citations.map(c => el('li', {},
      el('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer' }, c.title || c.url), ' ', el('small', {}, c.domain, c.isProjectDomain ? ' · project domain' : '')))) : null);
}
