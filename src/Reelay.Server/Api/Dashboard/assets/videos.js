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
  const path = encodeURIComponent(id);
  const [task, video, timeline, deliveries] = await Promise.all([
    get('/v1/video/query' + query({ id }), { signal }),
    get(`/v1/videos/${path}`, { signal }),
    get(`/v1/videos/${path}/timeline`, { signal }),
    get(`/v1/videos/${path}/webhooks`, { signal }),
  ]);
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
        h('h2', null, t('Status timeline')),
        h('ol', { class: 'timeline', 'data-testid': 'timeline' }, timeline.data.map(entry =>
          h('li', { dataset: { event: entry.event } },
            h('span', { class: `badge ${entry.status}` }, t(entry.status)), ' ', h('strong', null, t(entry.event)),
            entry.detail ? ` (${entry.detail})` : '', ' ', h('time', null, when(entry.at * 1000))))),
        h('h2', null, t('Webhook deliveries')),
        deliveries.data.length
          ? table([t('Event'), t('Target'), t('State'), t('Attempts'), t('Last status'), t('When')],
            deliveries.data.map(d => h('tr', { dataset: { delivery: d.event_type } },
              h('td', null, d.event_type), h('td', null, d.url), h('td', null, t(d.state)), h('td', null, d.attempt_count),
              h('td', null, d.last_status ?? d.last_error ?? '—'), h('td', null, when(d.delivered_at ?? d.created_at)))))
          : h('p', { class: 'muted' }, t('No webhook deliveries: the task has no callback_url and the account no endpoint for its events.')))));
}

function fact(name, value) {
  return [h('dt', null, name), h('dd', null, value ?? '—')];
}
