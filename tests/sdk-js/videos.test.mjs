// The official openai npm package, unchanged, pointed at a Reelay server.
// Run by tests/Reelay.IntegrationTests/Api/OpenAi/OpenAiNodeSdkTests.cs, which starts Reelay and sets:
//   REELAY_BASE_URL  the server's root (http://127.0.0.1:port)
//   REELAY_KEY       a test-mode client key (renders locally, free)
//   REELAY_OUT_DIR   optional: where to leave one downloaded video for the caller to compare with Reelay's copy
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';

const baseURL = process.env.REELAY_BASE_URL;
const apiKey = process.env.REELAY_KEY;
assert.ok(baseURL && apiKey, 'set REELAY_BASE_URL and REELAY_KEY');

const client = new OpenAI({ apiKey, baseURL: baseURL.replace(/\/$/, '') + '/v1' });
// OpenAI's 13 keys, and the relays' two links, which the SDK passes through untouched.
const videoKeys = ['id', 'object', 'model', 'status', 'progress', 'created_at', 'completed_at', 'expires_at',
  'prompt', 'size', 'seconds', 'remixed_from_video_id', 'error', 'video_url', 'thumbnail_url'];
const created = [];

async function waitForEnd(id) {
  // createAndPoll exists in some SDK versions only; this is the same loop, bounded.
  const deadline = Date.now() + 150_000;
  for (;;) {
    const video = await client.videos.retrieve(id);
    if (video.status === 'completed' || video.status === 'failed') return video;
    assert.ok(Date.now() < deadline, `video ${id} still ${video.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('videos.create answers a queued video with every field of the Video object', async () => {
  const shapes = ['720x1280', '1280x720', '720x1280'];
  for (const [i, size] of shapes.entries()) {
    const video = await client.videos.create({ model: 'sora-2', prompt: `a paper boat on a pond, take ${i + 1}`, seconds: '4', size });
    assert.deepEqual(Object.keys(video).sort(), [...videoKeys].sort());
    assert.equal(video.object, 'video');
    assert.equal(video.model, 'sora-2');
    assert.ok(['queued', 'in_progress'].includes(video.status), video.status);
    assert.equal(video.size, size);
    assert.equal(video.seconds, '4');
    assert.equal(video.completed_at, null);
    assert.equal(video.error, null);
    assert.equal(video.video_url, null);
    created.push(video.id);
  }
});

test('videos.retrieve reads the same video, by an id the SDK path-encodes', async () => {
  const video = await client.videos.retrieve(created[0]);
  assert.equal(video.id, created[0]);
  assert.equal(video.prompt, 'a paper boat on a pond, take 1');
});

test('videos.createAndPoll (when the SDK has it) or create + retrieve loop ends completed', async () => {
  if (typeof client.videos.createAndPoll === 'function') {
    const video = await client.videos.createAndPoll({ prompt: 'a lighthouse at dusk', seconds: '4', size: '1280x720' }, { pollIntervalMs: 250 });
    assert.equal(video.status, 'completed');
    created.push(video.id);
  }

  for (const id of created) {
    const video = await waitForEnd(id);
    assert.equal(video.status, 'completed', JSON.stringify(video.error));
    assert.equal(video.progress, 100);
    assert.ok(video.completed_at >= video.created_at);
    assert.ok(video.expires_at > video.completed_at);
  }
});

test('videos.list auto-paginates across pages of two, newest first', async () => {
  const first = await client.videos.list({ limit: 2 });
  assert.equal(first.data.length, 2);
  assert.equal(first.has_more, true);
  assert.equal(first.hasNextPage(), true);
  const second = await first.getNextPage();
  assert.ok(second.data.length >= 1);

  const seen = [];
  for await (const video of client.videos.list({ limit: 2 })) {
    seen.push(video.id);
  }
  assert.deepEqual(seen, [...created].reverse());
});

test('videos.downloadContent streams the stored MP4 and the JPEG thumbnail', async () => {
  const response = await client.videos.downloadContent(created[0]);
  assert.equal(response.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal(bytes.length, Number(response.headers.get('content-length')));
  assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp');
  if (process.env.REELAY_OUT_DIR) {
    await writeFile(path.join(process.env.REELAY_OUT_DIR, 'download.mp4'), bytes);
    await writeFile(path.join(process.env.REELAY_OUT_DIR, 'download.json'), JSON.stringify({ id: created[0] }));
  }

  const thumbnail = await client.videos.downloadContent(created[0], { variant: 'thumbnail' });
  assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
  assert.ok((await thumbnail.arrayBuffer()).byteLength > 0);

  // What relay clients read instead: a plain link to the same bytes, no key needed.
  const video = await client.videos.retrieve(created[0]);
  const linked = await fetch(video.video_url);
  assert.equal(linked.headers.get('content-type'), 'video/mp4');
  assert.deepEqual(Buffer.from(await linked.arrayBuffer()), bytes);
});

test('videos.create sends an input_reference file as multipart', async () => {
  // A 64x36 test pattern (16:9, like the requested size), made with ffmpeg's testsrc.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAEAAAAAkCAIAAAC2bqvFAAAACXBIWXMAAAABAAAAAQBPJcTWAAABL0lEQVR4nO3VLzAGQRiA8afRaDQajUaj0Wg0Go1Go9FoNBqNRqPRaDQajUZ7zI2Z7+a7b1f4zOwZtzvbbt4/v53d9yCyDG1UwjsSEQ2IRbQKVXZsxfoPd58M0Gn4LaBMlApQMTQb0JYoIaDt4LoGVO9iWkD59hoK6KycHvDdRiMBwcq1AIwTMuDPAiJ91gaIPYQMyIAMyIAMyIAMyIAMCPUfMdQFCHb/LwDFt0Ecx1lcxk3cx1O8xkd850Oe5EbO5EC2ZEXmZEKGpKeI78dRnMZFXMddPMZLvMfXotkXuZMLOZIdWZMFmZIR6bMXh3ES53EVt/EQz/EWn/GziH+TB7mSE9mTDVmSGRmTgQzIgMYDfphC5QyubwqVdbsYo+FECQFtB9d0QCtdMkD1BxpZX8BYOn3ekrzcAAAAAElFTkSuQmCC', 'base64');
  const video = await client.videos.create({
    prompt: 'the first frame, slowly zooming',
    seconds: '4',
    size: '1280x720',
    input_reference: await toFile(png, 'first.png', { type: 'image/png' }),
  });
  assert.equal(video.model, 'sora-2');
  assert.equal(video.size, '1280x720');
  created.push(video.id);
  const done = await waitForEnd(video.id);
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.size, '1280x720');
});

test('videos.delete removes a finished video; reading it again raises NotFoundError', async () => {
  const id = created.pop();
  const deleted = await client.videos.delete(id);
  assert.deepEqual(deleted, { id, object: 'video.deleted', deleted: true });
  await assert.rejects(client.videos.retrieve(id), (error) => error instanceof OpenAI.NotFoundError && error.status === 404);
  await assert.rejects(client.videos.downloadContent(id), OpenAI.NotFoundError);
});

test('errors arrive as the SDK typed exceptions', async () => {
  await assert.rejects(client.videos.retrieve('sora-2:00000000-0000-4000-8000-000000000000'), (error) => {
    assert.ok(error instanceof OpenAI.NotFoundError);
    assert.equal(error.type, 'not_found_error');
    assert.ok(error.headers.get('x-request-id'));
    return true;
  });
  await assert.rejects(client.videos.create({ prompt: 'too long', seconds: '5', size: '1280x720' }), (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.param, 'seconds');
    assert.match(error.message, /'seconds' 5 is not supported by sora-2; use 4, 8, 10, 12, 15 seconds/);
    return true;
  });
  const unauthenticated = new OpenAI({ apiKey: 'sk-not-a-reelay-key', baseURL: client.baseURL });
  await assert.rejects(unauthenticated.videos.list(), OpenAI.AuthenticationError);
  await assert.rejects(client.videos.remix(created[0], { prompt: 'now at night' }), (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.match(error.message, /cannot remix/);
    return true;
  });
});
