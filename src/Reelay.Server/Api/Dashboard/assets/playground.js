// Playground: build a unified create request from the key's models, price it, send it, watch it live.
import { h, clear, field, select, credits } from './dom.js';
import { t } from './i18n.js';
import { get, post, query, watchTask, ApiFailure } from './api.js';
import { snippets } from './snippets.js';

export async function playground(main, { signal }) {
  const [models, pricing] = await Promise.all([get('/v1/models', { signal }), get('/v1/pricing', { signal })]);
  const prices = new Map(pricing.data.map(p => [p.model, p]));
  if (!models.data.length) {
    main.append(h('p', { class: 'muted' }, t('This key may use no model. Ask the operator to allow one.')));
    return;
  }

  const images = [];
  const prompt = h('textarea', { name: 'prompt', rows: 4, required: true, maxlength: 8000, placeholder: t('A red kite over a beach at sunset') });
  // The local preview renderer first when the key may use it: it answers in seconds, at no cost.
  const preferred = models.data.find(m => m.id === 'reelay-preview') ?? models.data[0];
  const model = select(models.data.map(m => [m.id, m.id]), preferred.id, { name: 'model' });
  const aspect = h('select', { name: 'aspect_ratio' });
  const orientation = select([['', t('Any (use the aspect ratio)')], ['landscape', t('Landscape')], ['portrait', t('Portrait')], ['square', t('Square')]], '', { name: 'orientation' });
  const size = h('select', { name: 'size' });
  const duration = h('select', { name: 'duration' });
  const priceLine = h('p', { class: 'muted', 'data-testid': 'model-price' });
  const describe = h('p', { class: 'muted' });
  const imageUrl = h('input', { type: 'url', name: 'image_url', placeholder: 'https://…/first-frame.png' });
  const imageList = h('ul', { class: 'thumbs', 'aria-label': t('Reference images') });
  const drop = h('div', { class: 'drop', tabindex: 0, role: 'button', 'aria-label': t('Add reference images: drop, paste or choose files') },
    t('Drop or paste images here, or press Enter to choose files'));
  const picker = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', multiple: true, hidden: true });
  const quote = h('p', { 'data-testid': 'quote', role: 'status' });
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const progress = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': t('Progress') });
  const result = h('div', { class: 'result' });
  // Each state the task went through, as the stream reported it: the person sees it move, not just its latest.
  const log = h('ol', { class: 'live-log', 'aria-label': t('Status timeline') });
  const code = h('div', { class: 'code' });

  const entry = () => models.data.find(m => m.id === model.value);

  function fillOptions() {
    const m = entry();
    clear(aspect, m.aspect_ratios.map(r => h('option', { value: r, selected: r === m.default_aspect_ratio }, r)));
    clear(size, m.sizes.map(x => h('option', { value: x, selected: x === m.default_size }, x)));
    fillDurations();
    const p = prices.get(m.id);
    priceLine.textContent = !p || p.free
      ? (pricing.test_mode ? t('Test-mode key: never charged.') : t('Free model.'))
      : `${credits(p.price)} ${t('credits per')} ${p.unit === 'second' ? t('second') : t('video')}`;
    describe.textContent = [m.description, m.aliases.length ? `${t('Aliases')}: ${m.aliases.join(', ')}` : null,
      `${t('Up to')} ${m.max_images} ${t('reference images')}`].filter(Boolean).join(' · ');
    update();
  }

  function fillDurations() {
    const m = entry();
    const allowed = m.durations_by_size?.[size.value] ?? m.durations;
    const keep = Number(duration.value) || m.default_duration;
    clear(duration, allowed.map(d => h('option', { value: d, selected: d === (allowed.includes(keep) ? keep : m.default_duration) }, `${d} s`)));
  }

  function request() {
    const body = { model: model.value, prompt: prompt.value };
    if (orientation.value) body.orientation = orientation.value;
    else body.aspect_ratio = aspect.value;
    body.size = size.value;
    body.duration = Number(duration.value);
    if (images.length) body.images = images.map(i => i.src);
    return body;
  }

  function update() {
    clear(code, snippets(request(), location.origin));
  }

  function addImage(src, label) {
    const max = entry().max_images;
    if (images.length >= max) {
      status.textContent = `${model.value}: ${t('at most')} ${max} ${t('reference images')}`;
      return;
    }
    images.push({ src, label });
    renderImages();
  }

  function renderImages() {
    clear(imageList, images.map((image, index) => h('li', null,
      h('img', { src: image.src, alt: image.label }),
      h('button', { type: 'button', class: 'ghost', onclick: () => { images.splice(index, 1); renderImages(); } }, `${t('Remove')} ${index + 1}`))));
    update();
  }

  function readFiles(files) {
    for (const file of files) {
      if (!file.type.startsWith('image/')) continue;
      const reader = new FileReader();
      reader.onload = () => addImage(reader.result, file.name);
      reader.readAsDataURL(file);
    }
  }

  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); readFiles(e.dataTransfer.files); });
  drop.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picker.click(); } });
  drop.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => readFiles(picker.files));
  document.addEventListener('paste', e => {
    if (!main.contains(form)) return;
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) { e.preventDefault(); readFiles(files); }
  }, { signal });

  let running = null;
  async function send(dryRun) {
    for (const b of [dryButton, goButton]) b.disabled = true;
    try {
      if (dryRun) {
        const q = await post('/v1/video/create', { ...request(), dry_run: true });
        quote.className = q.sufficient ? '' : 'error';
        quote.textContent = `${t('Price')}: ${credits(q.price)} ${t('credits')} (${q.size}, ${q.duration} s)` +
          (q.test_mode ? ` · ${t('test mode: not charged')}` : ` · ${t('available')}: ${credits(q.available)}`) +
          (q.sufficient ? '' : ` · ${t('not enough credits')}`);
        return;
      }
      running?.abort();
      running = new AbortController();
      signal.addEventListener('abort', () => running.abort());
      clear(result);
      clear(log);
      const created = await post('/v1/video/create', request());
      status.dataset.taskId = created.id;
      show({ ...created, progress: 0 }, 'create');
      const final = await watchTask(created.id, show, running.signal);
      if (final?.status === 'completed') play(final);
    } catch (error) {
      if (error instanceof ApiFailure) {
        status.className = 'status error';
        status.textContent = error.message;
      } else if (!signal.aborted) {
        throw error;
      }
    } finally {
      for (const b of [dryButton, goButton]) b.disabled = false;
    }
  }

  function show(task, via) {
    const last = log.lastElementChild;
    if (!last || last.dataset.status !== task.status || last.dataset.progress !== String(task.progress ?? 0)) {
      log.append(h('li', { dataset: { status: task.status, progress: String(task.progress ?? 0) } },
        h('time', null, new Date().toLocaleTimeString()), ` ${t(task.status)} ${task.progress ?? 0}% (${via === 'sse' ? 'SSE' : t(via)})`));
    }
    status.className = 'status';
    progress.hidden = false;
    progress.value = task.progress ?? 0;
    status.dataset.status = task.status;
    status.dataset.progress = String(task.progress ?? 0);
    status.textContent = `${task.id} · ${t(task.status)} · ${task.progress ?? 0}%` + (via === 'long-poll' ? ` (${t('long-poll')})` : '');
    if (task.error) {
      status.className = 'status error';
      status.textContent += ` · ${task.error.code}: ${task.error.message}`;
    }
  }

  function play(task) {
    const video = h('video', { src: task.video_url, poster: task.thumbnail_url ?? undefined, controls: true, playsInline: true, muted: true, preload: 'auto' });
    clear(result,
      video,
      h('p', null,
        h('a', { href: task.video_url, download: `${task.id.replace(/[^\w.-]+/g, '_')}.mp4` }, t('Download MP4')), ' · ',
        h('a', { href: `#/videos/${encodeURIComponent(task.id)}` }, t('Task page')), ' · ',
        `${task.width}×${task.height}, ${task.duration} s`));
    video.play().catch(() => {});
  }

  const dryButton = h('button', { type: 'button', class: 'secondary', onclick: () => send(true) }, t('Price it (dry run)'));
  const goButton = h('button', { type: 'submit' }, t('Generate'));
  const form = h('form', { class: 'card', onsubmit: e => { e.preventDefault(); send(false); }, oninput: update, onchange: update },
    field(t('Prompt'), prompt),
    h('div', { class: 'grid' },
      field(t('Model'), model, priceLine),
      field(t('Aspect ratio'), aspect),
      field(t('Orientation'), orientation),
      field(t('Size'), size),
      field(t('Duration'), duration)),
    describe,
    h('fieldset', null, h('legend', null, t('Reference images')),
      drop, picker,
      h('div', { class: 'row' }, field(t('Image URL'), imageUrl),
        h('button', { type: 'button', class: 'secondary', onclick: () => { if (imageUrl.value) { addImage(imageUrl.value, imageUrl.value); imageUrl.value = ''; } } }, t('Add URL'))),
      h('small', { class: 'muted' }, t('Pasted and dropped images are sent inline as data: URLs; URLs are fetched by the server.')),
      imageList),
    h('div', { class: 'actions' }, dryButton, goButton),
    quote);
  model.addEventListener('change', fillOptions);
  size.addEventListener('change', fillDurations);

  main.append(h('h1', null, t('Playground')),
    h('div', { class: 'split' }, form,
      h('section', { class: 'card', 'aria-label': t('Result') }, h('h2', null, t('Result')), status, progress, log, result)),
    h('section', { class: 'card' }, h('h2', null, t('The same request in code')), code));
  fillOptions();
}
