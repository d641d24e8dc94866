// Operator views (admin key): overview, accounts and keys, channels, catalog and prices, usage, audit, webhooks.
import { h, clear, field, select, table, when, credits } from './dom.js';
import { t } from './i18n.js';
import { get, post, patch, put, del, query, ApiFailure } from './api.js';
import { lineChart, barChart } from './chart.js';

const day = ms => new Date(ms).toISOString().slice(0, 10);

function alertBox() {
  return h('p', { class: 'error', role: 'alert', hidden: true });
}

// Runs an admin action; its API error is shown where the person acted, never swallowed.
async function act(box, action) {
  box.hidden = true;
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiFailure)) throw error;
    box.textContent = error.message;
    box.hidden = false;
    return undefined;
  }
}

function breakerBadge(state) {
  return h('span', { class: `badge breaker-${state}`, 'data-breaker': state }, t(`breaker ${state}`));
}

async function usageRows(params, signal) {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 86400000);
  return get('/admin/usage' + query({ from: day(from), to: day(to), by_day: true, ...params }), { signal });
}

function byDay(rows, from, to) {
  const days = [];
  for (let d = new Date(from); d <= to; d = new Date(d.getTime() + 86400000)) days.push(day(d));
  const groups = [...new Set(rows.map(r => r.group ?? '—'))];
  return { days, groups };
}

function seriesOf(rows, days, groups, pick) {
  return groups.map(group => ({
    name: group,
    values: days.map(d => rows.filter(r => (r.group ?? '—') === group && r.day === d).reduce((sum, r) => sum + pick(r), 0)),
  }));
}

export async function overview(main, { signal }) {
  const [accounts, channels, usage] = await Promise.all([
    get('/admin/accounts' + query({ limit: 1000 }), { signal }),
    get('/admin/channels', { signal }),
    usageRows({ group_by: 'model' }, signal),
  ]);
  const tasks = usage.data.reduce((n, r) => n + r.tasks, 0);
  const failed = usage.data.reduce((n, r) => n + r.failed, 0);
  const open = channels.data.filter(c => c.breaker !== 'closed').length;
  const { days, groups } = byDay(usage.data, new Date(usage.from), new Date(usage.to));
  main.append(h('h1', null, t('Overview')),
    h('div', { class: 'stats' },
      stat(t('Accounts'), accounts.data.filter(a => !a.revoked_at).length),
      stat(t('Channels'), `${channels.data.filter(c => c.enabled).length} / ${channels.data.length}`),
      stat(t('Breakers not closed'), open),
      stat(t('Tasks, 30 days'), tasks),
      stat(t('Failed, 30 days'), failed),
      stat(t('Revenue, 30 days'), credits(usage.total_charged))),
    h('div', { class: 'split' },
      h('section', { class: 'card' }, lineChart(t('Tasks per day by model'), days, seriesOf(usage.data, days, groups, r => r.tasks))),
      h('section', { class: 'card' }, h('h2', null, t('Channels')),
        table([t('Channel'), t('Provider'), t('Enabled'), t('Breaker'), t('Failures in a row'), t('In flight')],
          channels.data.map(c => h('tr', null, h('td', null, c.name), h('td', null, c.provider), h('td', null, c.enabled ? t('yes') : t('no')),
            h('td', null, breakerBadge(c.breaker)), h('td', null, c.consecutive_failures), h('td', null, c.in_flight)))))));
}

function stat(label, value) {
  return h('div', { class: 'stat card' }, h('span', { class: 'muted' }, label), h('strong', null, String(value)));
}

export async function accounts(main, { signal }) {
  const list = h('div');
  const box = alertBox();
  const name = h('input', { name: 'name', required: true, maxlength: 200 });
  const credit = h('input', { name: 'credits', type: 'number', min: 0, step: 'any', value: '0' });
  const unlimited = h('input', { name: 'unlimited', type: 'checkbox' });
  async function load() {
    const page = await get('/admin/accounts' + query({ limit: 1000 }), { signal });
    clear(list, table([t('Name'), t('Balance'), t('Held'), t('Available'), t('Created'), t('State')],
      page.data.map(a => h('tr', null,
        h('td', null, h('a', { href: `#/accounts/${encodeURIComponent(a.id)}` }, a.name)),
        h('td', null, a.unlimited ? t('unlimited') : credits(a.balance)), h('td', null, credits(a.held)),
        h('td', null, a.unlimited ? '∞' : credits(a.available)), h('td', null, when(a.created_at)),
        h('td', null, a.revoked_at ? t('revoked') : t('active'))))));
  }
  const form = h('form', { class: 'card row', onsubmit: async e => {
    e.preventDefault();
    const created = await act(box, () => post('/admin/accounts', { name: name.value, credits: Number(credit.value || 0), unlimited: unlimited.checked }));
    if (created) location.hash = `#/accounts/${encodeURIComponent(created.id)}`;
  } }, field(t('Name'), name), field(t('Credits'), credit), field(t('Unlimited'), unlimited), h('button', { type: 'submit' }, t('Open account')));
  main.append(h('h1', null, t('Accounts & keys')), h('h2', null, t('Open an account')), form, box, h('h2', null, t('Accounts')), list);
  await load();
}

export async function accountPage(main, { signal, params: [id] }) {
  const path = `/admin/accounts/${encodeURIComponent(id)}`;
  const summary = h('dl', { class: 'facts', 'data-testid': 'account-summary' });
  const keys = h('div');
  const ledger = h('div', { 'data-testid': 'ledger' });
  const secret = h('div', { 'aria-live': 'polite' });
  const box = alertBox();

  async function load() {
    const [account, keyList, entries] = await Promise.all([
      get(path, { signal }),
      get('/admin/keys' + query({ account_id: id, limit: 1000 }), { signal }),
      ledgerTail(path, signal),
    ]);
    clear(summary,
      fact(t('Name'), account.name), fact('id', account.id),
      fact(t('Balance'), account.unlimited ? t('unlimited') : credits(account.balance), 'balance'),
      fact(t('Held'), credits(account.held)), fact(t('Available'), account.unlimited ? '∞' : credits(account.available), 'available'),
      fact(t('Limits'), limitsText(account.limits), 'limits'), fact(t('State'), account.revoked_at ? t('revoked') : t('active')));
    clear(keys, table([t('Name'), t('Mode'), t('Prefix'), t('Created'), t('State'), ''],
      keyList.data.map(k => h('tr', { dataset: { keyId: k.id } },
        h('td', null, k.name), h('td', null, k.mode), h('td', null, h('code', null, k.prefix)), h('td', null, when(k.created_at)),
        h('td', null, k.revoked_at ? `${t('revoked')} ${when(k.revoked_at)}` : t('active')),
        h('td', null, k.revoked_at ? null : h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`${t('Revoke key')} ${k.name}?`)) return;
          if (await act(box, () => del(`/admin/keys/${encodeURIComponent(k.id)}`)) !== undefined) await load();
        } }, `${t('Revoke')} ${k.name}`))))));
    clear(ledger, table([t('When'), t('Kind'), t('Amount'), t('Balance after'), t('Held after'), t('Task'), t('Reason')],
      [...entries].reverse().map(e => h('tr', null, h('td', null, when(e.at)), h('td', null, t(e.kind)), h('td', { class: 'num' }, credits(e.amount)),
        h('td', { class: 'num' }, credits(e.balance_after)), h('td', { class: 'num' }, credits(e.held_after)),
        h('td', null, e.task_id ?? ''), h('td', null, e.reason ?? '')))));
  }

  const amount = h('input', { name: 'amount', type: 'number', step: 'any', required: true });
  const reason = h('input', { name: 'reason', required: true, maxlength: 500 });
  const moveKind = select([['top-ups', t('Top up')], ['adjustments', t('Adjust (±)')]], 'top-ups', { name: 'kind' });
  const moves = h('form', { class: 'card row', onsubmit: async e => {
    e.preventDefault();
    const moved = await act(box, () => post(`${path}/${moveKind.value}`, { amount: Number(amount.value), reason: reason.value }));
    if (moved) { amount.value = ''; reason.value = ''; await load(); }
  } }, field(t('Movement'), moveKind), field(t('Amount'), amount), field(t('Reason'), reason), h('button', { type: 'submit' }, t('Apply')));

  const keyName = h('input', { name: 'key_name', required: true, maxlength: 200 });
  const keyMode = select([['test', t('test (local renders, never charged)')], ['live', t('live')]], 'test', { name: 'mode' });
  const newKey = h('form', { class: 'card row', onsubmit: async e => {
    e.preventDefault();
    const created = await act(box, () => post(`${path}/keys`, { name: keyName.value, mode: keyMode.value }));
    if (!created) return;
    keyName.value = '';
    // The only time the secret exists outside the client's hands: Reelay keeps its hash.
    const code = h('code', { 'data-testid': 'new-secret' }, created.key);
    clear(secret, h('div', { class: 'card notice', role: 'status' },
      h('strong', null, t('Copy this key now: it is shown once.')), ' ', code, ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => navigator.clipboard?.writeText(created.key) }, t('Copy')),
      h('button', { type: 'button', class: 'ghost', onclick: () => clear(secret) }, t('Done'))));
    await load();
  } }, field(t('Key name'), keyName), field(t('Mode'), keyMode), h('button', { type: 'submit' }, t('Create key')));

  const limitsForm = limitsEditor(async limits => {
    if (await act(box, () => patch(path, { limits })) !== undefined) await load();
  });

  main.append(h('p', null, h('a', { href: '#/accounts' }, '← ' + t('Accounts & keys'))),
    h('h1', null, t('Account')), box,
    h('section', { class: 'card' }, summary),
    h('h2', null, t('Credits')), moves,
    h('h2', null, t('Keys')), newKey, secret, keys,
    h('h2', null, t('Limits')), limitsForm,
    h('h2', null, t('Ledger')), ledger);
  await load();
}

// The ledger is paged oldest first; the page shows its newest 200 rows.
async function ledgerTail(path, signal) {
  let rows = [];
  let after;
  for (;;) {
    const page = await get(`${path}/ledger` + query({ limit: 1000, after }), { signal });
    rows = rows.concat(page.data).slice(-200);
    if (!page.has_more) return rows;
    after = page.last_sequence;
  }
}

function limitsEditor(save) {
  const inputs = {
    max_in_flight: h('input', { type: 'number', min: 1, name: 'max_in_flight' }),
    requests_per_minute: h('input', { type: 'number', min: 1, name: 'requests_per_minute' }),
    max_spend_per_day: h('input', { type: 'number', min: 0, step: 'any', name: 'max_spend_per_day' }),
    allowed_models: h('input', { name: 'allowed_models', placeholder: 'grok-*, veo3.1-fast' }),
  };
  return h('form', { class: 'card row', onsubmit: e => {
    e.preventDefault();
    const limits = {};
    for (const [name, input] of Object.entries(inputs)) {
      if (input.value === '') continue;
      limits[name] = name === 'allowed_models' ? input.value.split(',').map(x => x.trim()).filter(Boolean) : Number(input.value);
    }
    save(limits);
  } },
  field(t('Max in flight'), inputs.max_in_flight), field(t('Requests per minute'), inputs.requests_per_minute),
  field(t('Max spend per day'), inputs.max_spend_per_day), field(t('Allowed models'), inputs.allowed_models),
  h('button', { type: 'submit' }, t('Set limits')));
}

function limitsText(limits) {
  const parts = Object.entries(limits ?? {}).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
  return parts.length ? parts.join(' · ') : t('none');
}

function fact(name, value, testid) {
  return [h('dt', null, name), h('dd', { 'data-testid': testid }, value ?? '—')];
}

export async function channels(main, { signal }) {
  const box = alertBox();
  const list = h('div');
  async function load() {
    const [channelList, usage] = await Promise.all([get('/admin/channels', { signal }), usageRows({ group_by: 'channel', by_day: false }, signal)]);
    const stats = new Map(usage.data.map(r => [r.group, r]));
    clear(list, table([t('Channel'), t('Provider'), t('Models'), t('Priority'), t('Enabled'), t('Breaker'), t('Failures in a row'), t('In flight'), t('Latency (p50 / p95)'), t('Tasks, 30 days'), t('Error rate'), ''],
      channelList.data.map(c => {
        const u = stats.get(c.name);
        const rate = u && u.tasks ? `${Math.round(100 * u.failed / u.tasks)}%` : '—';
        return h('tr', { dataset: { channel: c.name } },
          h('td', null, c.name), h('td', null, c.provider), h('td', null, c.models.join(', ') || t('all of its provider')),
          h('td', null, c.priority), h('td', null, c.enabled ? t('yes') : `${t('no')}${c.disabled_reason ? ` (${c.disabled_reason})` : ''}`),
          h('td', null, breakerBadge(c.breaker)), h('td', null, c.consecutive_failures), h('td', null, c.in_flight),
          h('td', { 'data-testid': 'latency' }, latencyText(c.latency)), h('td', null, u?.tasks ?? 0), h('td', null, rate),
          h('td', null, c.source === 'admin'
            ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
              if (await act(box, () => patch(`/admin/channels/${encodeURIComponent(c.name)}`, { enabled: !c.enabled })) !== undefined) await load();
            } }, `${c.enabled ? t('Disable') : t('Enable')} ${c.name}`)
            : h('small', { class: 'muted' }, t('set in configuration'))));
      })));
  }
  main.append(h('h1', null, t('Channels')),
    h('p', { class: 'muted' }, t('Breaker: closed lets work through; open skips the channel until its cool-down ends; half-open lets one trial through.')),
    box, list, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: load }, t('Refresh'))));
  await load();
}

// Recent upstream calls on this instance, per operation: "submit 320 / 410 ms · poll 12 / 30 ms".
function latencyText(latency) {
  const parts = ['submit', 'poll', 'download'].filter(op => latency?.[op])
    .map(op => `${t(op)} ${Math.round(latency[op].p50_ms)} / ${Math.round(latency[op].p95_ms)} ms`);
  return parts.length ? parts.join(' · ') : '—';
}

export async function catalog(main, { signal }) {
  const box = alertBox();
  const list = h('div');
  async function load() {
    const [models, prices] = await Promise.all([get('/admin/models', { signal }), get('/admin/prices', { signal })]);
    const priceOf = new Map(prices.data.map(p => [p.model, p]));
    clear(list, table([t('Model'), t('Aliases'), t('Aspect ratios'), t('Sizes'), t('Durations'), t('Max images'), t('Price'), t('Source')],
      models.data.map(m => {
        const p = priceOf.get(m.name);
        return h('tr', null, h('td', null, m.name), h('td', null, m.aliases.join(', ')), h('td', null, m.aspect_ratios.join(', ')),
          h('td', null, m.sizes.join(', ')), h('td', null, m.durations.length ? m.durations.join(', ') : '—'), h('td', null, m.max_images ?? '—'),
          h('td', null, !p || p.free ? t('free') : `${credits(p.price)} / ${t(p.unit)}`), h('td', null, m.source));
      })));
  }
  const model = h('input', { name: 'price_model', required: true, placeholder: 'grok-video-3' });
  const amount = h('input', { name: 'price', type: 'number', min: 0, step: 'any', required: true });
  const unit = select([['per_second', t('per second')], ['per_video', t('per video')]], 'per_second', { name: 'unit' });
  const form = h('form', { class: 'card row', onsubmit: async e => {
    e.preventDefault();
    if (await act(box, () => put(`/admin/prices/${encodeURIComponent(model.value)}`, { [unit.value]: Number(amount.value) })) !== undefined) await load();
  } }, field(t('Model'), model), field(t('Price (credits)'), amount), field(t('Unit'), unit), h('button', { type: 'submit' }, t('Set price')));
  main.append(h('h1', null, t('Catalog & prices')), h('h2', null, t('Set a price')), form, box, list);
  await load();
}

export async function usage(main, { signal }) {
  const group = select([['model', t('model')], ['account', t('account')], ['channel', t('channel')], ['key', t('key')]], 'model', { name: 'group_by' });
  const today = new Date();
  const from = h('input', { type: 'date', name: 'from', value: day(today.getTime() - 29 * 86400000) });
  const to = h('input', { type: 'date', name: 'to', value: day(today.getTime()) });
  const out = h('div');
  const box = alertBox();
  async function load() {
    const report = await act(box, () => get('/admin/usage' + query({ group_by: group.value, by_day: true, from: from.value, to: to.value }), { signal }));
    if (!report) return;
    const { days, groups } = byDay(report.data, new Date(report.from), new Date(report.to));
    const totals = groups.map(name => ({ name, value: report.data.filter(r => (r.group ?? '—') === name).reduce((n, r) => n + r.charged, 0) }));
    clear(out,
      h('div', { class: 'split' },
        h('section', { class: 'card' }, lineChart(`${t('Revenue per day by')} ${t(group.value)}`, days, seriesOf(report.data, days, groups, r => r.charged), credits)),
        h('section', { class: 'card' }, lineChart(`${t('Tasks per day by')} ${t(group.value)}`, days, seriesOf(report.data, days, groups, r => r.tasks)))),
      h('section', { class: 'card' }, barChart(`${t('Revenue by')} ${t(group.value)}`, totals, credits)),
      table([t('Day'), t(group.value), t('Tasks'), t('Completed'), t('Failed'), t('Seconds'), t('Charged'), t('Upstream cost'), t('Margin')],
        report.data.map(r => h('tr', null, h('td', null, r.day), h('td', null, r.group ?? '—'), h('td', { class: 'num' }, r.tasks), h('td', { class: 'num' }, r.completed),
          h('td', { class: 'num' }, r.failed), h('td', { class: 'num' }, r.seconds), h('td', { class: 'num' }, credits(r.charged)),
          h('td', { class: 'num' }, credits(r.upstream_cost)), h('td', { class: 'num' }, credits(r.margin))))));
  }
  main.append(h('h1', null, t('Usage')),
    h('form', { class: 'card filters', onchange: load, onsubmit: e => e.preventDefault() }, field(t('Group by'), group), field(t('From'), from), field(t('To'), to)),
    box, out);
  await load();
}

export async function audit(main, { signal }) {
  const out = h('div');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('Older'));
  const rows = [];
  async function load(after) {
    const page = await get('/admin/audit' + query({ limit: 50, after }), { signal });
    rows.push(...page.data);
    clear(out, table([t('When'), t('Who'), t('Action'), t('Target'), t('Note'), t('Change')],
      rows.map(e => h('tr', null, h('td', null, when(e.at)), h('td', null, e.actor), h('td', null, e.action),
        h('td', null, `${e.target_type} ${e.target_id}`), h('td', null, e.note ?? ''),
        h('td', null, h('details', null, h('summary', null, t('before / after')), h('pre', null, JSON.stringify({ before: e.before, after: e.after }, null, 2))))))));
    more.hidden = !page.has_more;
    more.onclick = () => load(page.last_id);
  }
  main.append(h('h1', null, t('Audit log')), out, h('div', { class: 'actions' }, more));
  await load();
}

export async function webhooks(main, { signal }) {
  const endpoints = await get('/admin/webhooks/endpoints', { signal });
  const deliveries = h('div', { 'aria-live': 'polite' });
  const box = alertBox();
  async function show(endpoint) {
    const log = await act(box, () => get(`/admin/webhooks/endpoints/${encodeURIComponent(endpoint.id)}/deliveries`, { signal }));
    if (!log) return;
    clear(deliveries, h('h2', null, `${t('Deliveries to')} ${endpoint.url}`),
      table([t('Created'), t('Event'), t('Task'), t('State'), t('Attempts'), t('Last status'), t('Last error'), ''],
        log.data.map(d => h('tr', null, h('td', null, when(d.created_at)), h('td', null, d.event_type), h('td', null, d.task_id),
          h('td', null, d.state), h('td', null, d.attempt_count), h('td', null, d.last_status ?? '—'), h('td', null, d.last_error ?? ''),
          h('td', null, h('button', { type: 'button', class: 'secondary', onclick: async () => {
            if (await act(box, () => post(`/admin/webhooks/deliveries/${d.id}/redeliver`, {})) !== undefined) await show(endpoint);
          } }, t('Redeliver')))))));
  }
  main.append(h('h1', null, t('Webhooks')), box,
    table([t('Endpoint'), t('Account'), t('Events'), t('Enabled'), t('Created'), ''],
      endpoints.data.map(e => h('tr', null, h('td', null, e.url), h('td', null, e.account_id), h('td', null, e.events.join(', ')),
        h('td', null, e.enabled ? t('yes') : `${t('no')}${e.disabled_reason ? ` (${e.disabled_reason})` : ''}`), h('td', null, when(e.created_at)),
        h('td', null, h('button', { type: 'button', class: 'secondary', onclick: () => show(e) }, t('Deliveries')))))),
    deliveries);
}
