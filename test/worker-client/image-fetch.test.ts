import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fetchResultImage,
  findResultFile,
  isPng,
  mapWorkerPath,
} from '../../daemon/src/worker-client/image-fetch.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  servers = [];
});
/** A local stand-in for ComfyUI's GET /view?filename=…&type=output. */
async function fakeComfy(files: Record<string, Buffer>): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push(url.pathname + url.search);
    const body =
      url.pathname === '/view' && url.searchParams.get('type') === 'output'
        ? files[url.searchParams.get('filename') ?? '']
        : undefined;
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const png = makePng(4, 4);

describe('mapWorkerPath', () => {
  it.each([
    ['/srv/out/a.png', { '/srv/out': '/mnt/dgx/out' }, '/mnt/dgx/out/a.png'],
    ['/srv/out/a.png', { '/srv/out/': '/mnt/dgx/out/' }, '/mnt/dgx/out/a.png'],
    ['/srv/output/a.png', { '/srv/out': '/mnt/x' }, '/srv/output/a.png'],
    ['/srv/out/sub/a.png', { '/srv': '/a', '/srv/out': '/b' }, '/b/sub/a.png'],
    ['/other/a.png', { '/srv': '/a' }, '/other/a.png'],
  ])('%s with %j → %s', (from, map, to) => {
    expect(mapWorkerPath(from, map)).toBe(to);
  });
});

describe('fetchResultImage', () => {
  it('prefers inline bytes', async () => {
    const got = await fetchResultImage({ imagePath: '/nowhere/x.png', image: png });
    expect(got.route).toBe('inline');
    expect(got.bytes.equals(png)).toBe(true);
  });

  it('reads the worker path after path_map rewriting', async () => {
    const local = tempDir('image-fetch-');
    writeFileSync(join(local, 'job_1.png'), png);
    const got = await fetchResultImage(
      { imagePath: '/worker/outputs/job_1.png' },
      { pathMap: { '/worker/outputs': local } },
    );
    expect(got.route).toBe('file');
    expect(isPng(got.bytes)).toBe(true);
  });

  it('falls back to ComfyUI /view over HTTP', async () => {
    const comfy = await fakeComfy({ 'job_2.png': png });
    const got = await fetchResultImage(
      { imagePath: '/worker/outputs/job_2.png' },
      { comfyuiUrl: comfy.url },
    );
    expect(got.route).toBe('comfyui');
    expect(got.bytes.equals(png)).toBe(true);
    expect(comfy.hits).toEqual(['/view?filename=job_2.png&type=output']);
  });

  it('skips a non-PNG inline image and a non-PNG file', async () => {
    const local = tempDir('image-fetch-');
    writeFileSync(join(local, 'bad.png'), 'GIF89a not a png');
    const comfy = await fakeComfy({ 'bad.png': png });
    const got = await fetchResultImage(
      { imagePath: '/w/bad.png', image: new Uint8Array([1, 2, 3]) },
      { pathMap: { '/w': local }, comfyuiUrl: comfy.url },
    );
    expect(got.route).toBe('comfyui');
  });

  it('never reports success without bytes: IMAGE_UNAVAILABLE lists every route tried', async () => {
    const comfy = await fakeComfy({});
    await expect(
      fetchResultImage({ imagePath: '/w/missing.png' }, { comfyuiUrl: comfy.url }),
    ).rejects.toThrow(
      `could not get the image of the finished job (worker path /w/missing.png); tried: /w/missing.png: ENOENT; GET ${comfy.url}/view?filename=missing.png&type=output: HTTP 404. Enable backend.return_image, map the worker output dir with backend.path_map, or set backend.comfyui_url`,
    );
    await expect(fetchResultImage({ imagePath: '/w/missing.png' })).rejects.toThrow(
      'tried: /w/missing.png: ENOENT; backend.comfyui_url is not set (no /view fallback)',
    );
  });
});

describe('findResultFile', () => {
  it('finds <job_id>_<ts>.png, newest name first, across dirs', async () => {
    const a = tempDir('image-fetch-');
    const b = tempDir('image-fetch-');
    mkdirSync(join(a, 'sub'));
    writeFileSync(join(a, 'job9_100.png'), png);
    writeFileSync(join(b, 'job9_200.png'), png);
    writeFileSync(join(b, 'job99_300.png'), png);
    expect(await findResultFile('job9', [a])).toBe(join(a, 'job9_100.png'));
    expect(await findResultFile('job9', [join(a, 'missing'), b])).toBe(join(b, 'job9_200.png'));
    expect(await findResultFile('nope', [a, b])).toBeUndefined();
  });
});
