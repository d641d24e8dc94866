// My videos: the key's tasks (GET /v1/videos with filters), and one task's page.
import { h, clear, field, select, table, when, credits } from './dom.js';
import { t } from './i18n.js';
import { get, query, ApiFailure } from './api.js';

export async function videos(main, { signal }) {
  const models = await get('/v1/models', { signal });
  const status = select([['', t('Any status')], ['queued', t('queued')], ['in_progress', t('in_progress')], ['completed', t('completed')], ['failed', t('failed')]], '', { name: 'status' });
  const model = select([['', t('Any model')], ...models.data.map(m => [m.id, m.id])], '', { name: 'model' });
  const from = h('input', { type: 'date', name: 'from' });
  const to = h('input', { type: 'date', name: 'to' });
  const grid = h('ul', { class: 'video-grid', 'aria-live': 'polite' });
  const message = h('p', { class: 'error', role: 'alert', hidden: true });
  const previous = h('button', { type: 'button', class: 'secondary', disabled: true }, t('Previous'));
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, t('Next'));
  const cursors = [null];

  async function load() {
    message.hidden = true;
    try {
      const page = await get('/v1/videos' + query({ limit: 12, after: cursors.at(-1), status: status.value, model: model.value, from: from.value, to: to.value }), { signal });
      clear(grid, page.data.map(card));
      if (!page.data.length) grid.append(h('li', { class: 'muted' }, t('No videos match.')));
      previous.disabled = cursors.length === 1;
      next.disabled = !page.has_more;
      next.onclick = () => { cursors.push(page.last_id); load(); };
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      message.textContent = error.message;
      message.hidden = false;
    }
  }
  previous.onclick = () => { cursors.pop(); load(); };

  const filters = h('form', { class: 'card filters', onchange: () => { cursors.splice(1); load(); }, onsubmit: e => e.preventDefault() },
    field(t('Status'), status), field(t('Model'), model), field(t('From'), from), field(t('To'), to));
  main.append(h('h1', null, t('My videos')), filters, message, grid, h('div', { class: 'actions' }, previous, next));
  await load();
}

function card(video) {
  return h('li', { class: 'video-card', dataset: { status: video.status } },
    h('a', { href: `#/videos/${encodeURIComponent(video.id)}` },
      video.thumbnail_url
        ? h('img', { src: video.thumbnail_url, alt: video.prompt ?? video.id, loading: 'lazy' })
        : h('div', { class: 'placeholder' }, t(video.status)),
      h('span', { class: 'title' }, video.prompt || video.id)),
    h('span', { class: `badge ${video.status}` }, t(video.status)), ' ',
    h('small', { class: 'muted' }, `${video.model} · ${video.size} · ${video.seconds} s · ${when(video.created_at * 1000)}`));
}

export async function videoPage(main, { signal, params: [id] }) {
  const [task, video] = await Promise.all([
    get('/v1/video/query' + query({ id }), { signal }),
    get(`/v1/videos/${encodeURIComponent(id)}`, { signal }),
  ]);
  const timeline = [
    [t('created'), task.created_at],
    [`${t('status')}: ${t(task.status)} (${task.progress}%)`, task.status_update_time],
    task.completed_at ? [t('ended'), task.completed_at] : null,
  ].filter(Boolean);
  main.append(h('p', null, h('a', { href: '#/videos' }, '← ' + t('My videos'))),
    h('h1', null, task.prompt || task.id),
    h('div', { class: 'split' },
      h('section', { class: 'card' },
        task.video_url
          ? [h('video', { src: task.video_url, poster: task.thumbnail_url ?? undefined, controls: true, playsInline: true, preload: 'metadata' }),
            h('p', null, h('a', { href: task.video_url, download: '' }, t('Download MP4')))]
          : h('p', { class: 'muted' }, t('No video yet.')),
        task.error ? h('p', { class: 'error', role: 'alert' }, `${task.error.code}: ${task.error.message}`) : null),
      h('section', { class: 'card' },
        h('h2', null, t('Request')),
        h('dl', { class: 'facts' },
          fact('id', task.id), fact(t('Status'), t(task.status)), fact(t('Model'), task.model),
          fact(t('Aspect ratio'), task.aspect_ratio), fact(t('Size'), `${task.size}${task.width ? ` (${task.width}×${task.height})` : ''}`),
          fact(t('Duration'), `${task.duration} s`), fact(t('Cost'), `${credits(task.cost)} ${t('credits')}`),
          task.enhanced_prompt ? fact(t('Enhanced prompt'), task.enhanced_prompt) : null,
          fact(t('Expires'), video.expires_at ? when(video.expires_at * 1000) : '—')),
        h('h2', null, t('Timeline')),
        h('ol', { class: 'timeline' }, timeline.map(([label, at]) => h('li', null, h('strong', null, label), ' ', h('time', null, when(at))))),
        h('h2', null, t('Webhook deliveries')),
        h('p', { class: 'muted' }, t('Delivery logs are an operator view (GET /admin/tasks/{id}/webhooks); ask the operator, or read your receiver\'s log.')))));
}

function fact(name, value) {
  return [h('dt', null, name), h('dd', null, value ?? '—')];
}
