// The shell: sign-in, navigation by #/route, light/dark, and which pages a key of each kind sees.
import { h, clear, field } from './dom.js';
import { t, lang } from './i18n.js';
import { session, detectRole, whenKeyRefused, ApiFailure } from './api.js';
import { playground } from './playground.js';
import { videos, videoPage } from './videos.js';
import { overview, accounts, accountPage, channels, catalog, usage, audit, webhooks } from './admin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signout = document.getElementById('signout');
const theme = document.getElementById('theme');
document.documentElement.lang = lang;
const skip = document.querySelector('.skip');
skip.textContent = t('Skip to content');
// The hash is the route here, so the skip link moves focus itself instead of navigating to #main.
skip.addEventListener('click', event => { event.preventDefault(); main.focus(); });

const clientPages = [
  ['playground', 'Playground', playground],
  ['videos', 'My videos', videos],
];
const adminPages = [
  ['overview', 'Overview', overview],
  ['accounts', 'Accounts & keys', accounts],
  ['channels', 'Channels', channels],
  ['catalog', 'Catalog & prices', catalog],
  ['usage', 'Usage', usage],
  ['audit', 'Audit log', audit],
  ['webhooks', 'Webhooks', webhooks],
];
const detailPages = { videos: videoPage, accounts: accountPage };

let notice = null;
let current = null;

// A hash change renders by itself; the same hash again must be rendered by hand.
function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

whenKeyRefused(failure => {
  session.clear();
  notice = failure.message;
  go('#/signin');
});

function pagesFor(role) {
  return role === 'admin' ? adminPages : role === 'client' ? clientPages : [];
}

function render() {
  current?.abort();
  delete main.dataset.ready;
  current = new AbortController();
  const role = session.role;
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const pages = pagesFor(role);
  signout.hidden = !role;
  signout.textContent = t('Sign out');
  clear(nav, pages.map(([id, label]) => h('a', { href: `#/${id}`, 'aria-current': id === name ? 'page' : null }, t(label))));
  if (!role) {
    signIn();
    return;
  }
  const page = rest.length && detailPages[name] ? detailPages[name] : pages.find(([id]) => id === name)?.[2];
  if (!page) {
    location.replace(`#/${pages[0][0]}`);
    return;
  }
  clear(main);
  const signal = current.signal;
  const hash = location.hash;
  main.setAttribute('aria-busy', 'true');
  Promise.resolve(page(main, { signal, params: rest })).catch(error => {
    if (signal.aborted || (error instanceof ApiFailure && error.status === 401)) return;
    main.append(h('p', { class: 'error', role: 'alert' }, error.message));
  }).finally(() => {
    if (signal.aborted) return;
    main.removeAttribute('aria-busy');
    // Which route the content shows, once it has loaded (browser tests wait on it).
    main.dataset.ready = hash;
  });
  if (document.activeElement === document.body) main.focus({ preventScroll: true });
}

function signIn() {
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: false, placeholder: 'sk-…' });
  const message = h('p', { class: 'error', role: 'alert', hidden: !notice }, notice ?? '');
  const form = h('form', { class: 'card signin', onsubmit: async event => {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    try {
      const key = input.value.trim();
      const role = await detectRole(key);
      session.save(key, role);
      notice = null;
      go(role === 'admin' ? '#/overview' : '#/playground');
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
    } finally {
      button.disabled = false;
    }
  } },
  h('h1', null, t('Sign in')),
  h('p', { class: 'muted' }, t('Use a client key for the playground and your videos, or an admin key for the operator views. The key stays in this tab only (session storage).')),
  message,
  field(t('API key'), input),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('Sign in'))));
  const button = form.querySelector('button');
  clear(main, form);
  main.removeAttribute('aria-busy');
  main.dataset.ready = location.hash;
  input.focus();
}

signout.addEventListener('click', () => {
  session.clear();
  notice = null;
  go('#/signin');
});

// Light and dark: the system's choice unless the person picked one here.
function applyTheme() {
  const chosen = localStorage.getItem('reelay.theme');
  if (chosen) document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const dark = chosen ? chosen === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  theme.textContent = dark ? t('Light') : t('Dark');
  theme.setAttribute('aria-label', dark ? t('Switch to light theme') : t('Switch to dark theme'));
}
theme.addEventListener('click', () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : matchMedia('(prefers-color-scheme: dark)').matches;
  localStorage.setItem('reelay.theme', dark ? 'light' : 'dark');
  applyTheme();
});
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
applyTheme();

window.addEventListener('hashchange', render);
render();
