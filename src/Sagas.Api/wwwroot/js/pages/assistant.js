import { api } from '../api.js';
import { el, replace, problemBox } from '../ui.js';

export const title = 'Assistant';

export function render(main) {
  const answerArea = el('div', { 'data-testid': 'assistant-answer', 'aria-live': 'polite' });
  const question = el('textarea', { name: 'prompt', id: 'assistant-prompt', rows: 3, required: true,
    placeholder: 'How many LLM jobs failed this week? Which scan sessions are still running?' });
  const form = el('form', { id: 'assistant-form', onsubmit: async event => {
    event.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    replace(answerArea, el('p', {}, 'Thinking…'));
    try {
      const reply = await api('/ai/ask', { method: 'POST', json: { prompt: question.value } });
      replace(answerArea,
        el('div.answer', { 'data-testid': 'assistant-text' }, reply.answer ?? ''),
        el('p.hint', {}, reply.simulated ? 'Simulated assistant (no language model configured): the answer is composed from the tool results.' : `Model ${reply.model}`,
          reply.rounds ? ` · ${reply.rounds} round${reply.rounds === 1 ? '' : 's'}` : ''),
        toolCalls(reply.toolCalls ?? []));
    } catch (error) {
      replace(answerArea, problemBox(error));
    } finally {
      button.disabled = false;
    }
  } },
  el('label', {}, 'Ask about jobs, scan sessions, analyses, costs and brand visibility', question),
  el('button', { type: 'submit' }, 'Ask'));

  main.append(
    el('h1', {}, 'Assistant'),
    el('section.card', {}, el('p.hint', {}, 'The assistant answers from this system\'s own data through read-only tools; every tool it called is listed under its answer.'), form),
    el('section.card', {}, answerArea));
}

function toolCalls(calls) {
  if (!calls.length) return el('p.hint', {}, 'No tools were called for this answer.');
  return el('div', {}, el('h3', {}, `Tool calls (${calls.length})`),
    calls.map(call => el('details.tool-call', { 'data-testid': 'tool-call' },
      el('summary', {}, el('code', {}, call.name), ' ', el('small', {}, JSON.stringify(call.arguments ?? {})),
        call.error ? el('span.error-text', {}, ' · ', call.error) : null),
      call.error ? null : el('pre', {}, JSON.stringify(call.result ?? null, null, 2)))));
}
