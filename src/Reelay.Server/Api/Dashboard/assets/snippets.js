// The playground's request as code a client developer can paste: curl, JavaScript (openai SDK and plain
// fetch on the unified route) and C#. The key is never written into them: each reads REELAY_API_KEY.
import { h } from './dom.js';
import { t } from './i18n.js';

function shorten(body) {
  // Inline images would fill the page with base64; the code shows where they go.
  if (!body.images) return body;
  return { ...body, images: body.images.map(src => src.startsWith('data:') ? src.slice(0, 32) + '…' : src) };
}

function pixels(body) {
  const short = body.size === '4K' ? 2160 : parseInt(body.size, 10) || 720;
  const ratio = body.orientation === 'portrait' ? '9:16' : body.orientation === 'square' ? '1:1' : body.orientation === 'landscape' ? '16:9' : body.aspect_ratio;
  const [a, b] = (ratio ?? '16:9').split(':').map(Number);
  const even = n => Math.round(n / 2) * 2;
  return a >= b ? `${even(short * a / b)}x${short}` : `${short}x${even(short * b / a)}`;
}

export function examples(request, origin) {
  const body = shorten(request);
  const json = JSON.stringify(body, null, 2);
  const oneLine = JSON.stringify(body).replaceAll("'", "'\\''");
  const csharpJson = JSON.stringify(body).replaceAll('"', '""');
  return [
    ['curl', `curl -s ${origin}/v1/video/create \\
  -H "Authorization: Bearer $REELAY_API_KEY" -H 'Content-Type: application/json' \\
  -d '${oneLine}'
# then: curl -sN "${origin}/v1/video/events?id=<id>" -H "Authorization: Bearer $REELAY_API_KEY"`],
    ['JavaScript (openai)', `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${origin}/v1', apiKey: process.env.REELAY_API_KEY });
let video = await client.videos.create({
  model: ${JSON.stringify(body.model)},
  prompt: ${JSON.stringify(body.prompt)},
  size: '${pixels(body)}',
  seconds: '${body.duration}',${body.images ? '\n  // reference image: input_reference (a file upload) on this route' : ''}
});
video = await client.videos.poll(video.id); // honours openai-poll-after-ms
const mp4 = await client.videos.downloadContent(video.id);`],
    ['JavaScript (fetch)', `const base = '${origin}';
const auth = { Authorization: \`Bearer \${process.env.REELAY_API_KEY}\` };
const created = await fetch(\`\${base}/v1/video/create\`, {
  method: 'POST',
  headers: { ...auth, 'Content-Type': 'application/json' },
  body: JSON.stringify(${json.replaceAll('\n', '\n  ')}),
}).then(r => r.json());
let task;
do { // long-poll: answers at the next change, or after 30 s
  task = await fetch(\`\${base}/v1/video/query?id=\${encodeURIComponent(created.id)}&wait=30\`, { headers: auth }).then(r => r.json());
} while (!['completed', 'failed', 'cancelled'].includes(task.status));
console.log(task.video_url);`],
    ['C#', `using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

using var http = new HttpClient { BaseAddress = new Uri("${origin}") };
http.DefaultRequestHeaders.Authorization = new("Bearer", Environment.GetEnvironmentVariable("REELAY_API_KEY"));
var body = new StringContent(@"${csharpJson}", Encoding.UTF8, "application/json");
var created = await (await http.PostAsync("/v1/video/create", body)).Content.ReadFromJsonAsync<JsonElement>();
var id = Uri.EscapeDataString(created.GetProperty("id").GetString()!);
JsonElement task;
do
{
    task = await http.GetFromJsonAsync<JsonElement>($"/v1/video/query?id={id}&wait=30");
}
while (task.GetProperty("status").GetString() is "pending" or "processing");
Console.WriteLine(task.GetProperty("video_url"));`],
  ];
}

export function snippets(request, origin) {
  const list = examples(request, origin);
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('Code samples') });
  const panels = [];
  list.forEach(([name, text], index) => {
    const pre = h('pre', { tabindex: 0 }, h('code', null, text));
    const copy = h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await navigator.clipboard.writeText(text); copy.textContent = t('Copied'); }
      catch { getSelection().selectAllChildren(pre); copy.textContent = t('Selected: press Ctrl+C'); }
    } }, t('Copy'));
    const panel = h('div', { role: 'tabpanel', id: `code-${index}`, hidden: index !== 0, 'data-lang': name }, copy, pre);
    const tab = h('button', { type: 'button', role: 'tab', 'aria-selected': String(index === 0), 'aria-controls': `code-${index}`, onclick: () => {
      for (const p of panels) p.hidden = p !== panel;
      for (const b of tabs.children) b.setAttribute('aria-selected', String(b === tab));
    } }, name);
    tabs.append(tab);
    panels.push(panel);
  });
  return [tabs, ...panels];
}
