import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import { serializeManifest } from '../../daemon/src/assets/manifest.js';
import type { Manifest, ManifestEntry } from '../../daemon/src/assets/manifest-schema.js';
import { sha256Hex } from '../../daemon/src/assets/png-info.js';
import { makePng } from '../support/png.js';

/**
 * Deploy latency of one 64×64 sprite into a manifest of 1 000 and 10 000
 * entries, beside the floor measured in the same run: a plain script doing
 * the minimum a correct deploy must do (PNG: write + fsync + rename; then,
 * under proper-lockfile, read + parse + add + serialise + write + fsync +
 * rename a manifest of the same size). Floor and deploySprite alternate, one
 * call each per round, so machine noise hits both alike.
 * Run: npx tsx test/bench/deploy.bench.ts
 */

function entry(i: number): ManifestEntry {
  return {
    name: `sprite_${i}`,
    path: `sprites/sprite_${i}.png`,
    deployed_at: new Date().toISOString(),
    kind: 'sprite',
    width: 64,
    height: 64,
    hash: sha256Hex(String(i)),
    revision: 1,
    source: {
      prompt: 'a small green slime monster, side view',
      style: 'pixel_art',
      seed: i,
      model: 'SDXL Base 1.0',
      steps: 30,
      cfg_scale: 7.5,
      postprocess: { palette: 'db32', outline: true },
      pipeline_version: '1',
      job_id: `job-${i}`,
    },
  };
}

function seedRoot(entries: number): string {
  const root = mkdtempSync(join(tmpdir(), 'dgx-bench-'));
  mkdirSync(join(root, 'assets', 'sprites'), { recursive: true });
  mkdirSync(join(root, 'tmp'));
  const manifest: Manifest = {
    version: 1,
    updated_at: new Date().toISOString(),
    sprites: Array.from({ length: entries }, (_, i) => entry(i)),
  };
  writeFileSync(join(root, 'assets', 'asset_manifest.json'), serializeManifest(manifest));
  return root;
}

async function writeSynced(path: string, data: Buffer | string): Promise<void> {
  const h = await open(path, 'w');
  await h.writeFile(data);
  await h.sync();
  await h.close();
}

/** The floor: the minimum correct deploy, as a plain script. */
async function floorDeploy(root: string, name: string, png: Buffer): Promise<void> {
  const assets = join(root, 'assets');
  const tmpPng = join(root, 'tmp', `${name}.png.tmp`);
  await writeSynced(tmpPng, png);
  await rename(tmpPng, join(assets, 'sprites', `${name}.png`));
  const manifestPath = join(assets, 'asset_manifest.json');
  const release = await lockfile.lock(manifestPath, { realpath: false, retries: 0 });
  try {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    manifest.sprites.push({
      ...entry(manifest.sprites.length),
      name,
      path: `sprites/${name}.png`,
      hash: sha256Hex(png),
    });
    manifest.updated_at = new Date().toISOString();
    const tmp = join(root, 'tmp', 'manifest.tmp');
    await writeSynced(tmp, serializeManifest(manifest));
    await rename(tmp, manifestPath);
  } finally {
    await release();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

async function run(entries: number, rounds: number) {
  const floorRoot = seedRoot(entries);
  const realRoot = seedRoot(entries);
  const floor: number[] = [];
  const real: number[] = [];
  for (let i = 0; i < rounds + 5; i++) {
    const png = makePng(64, 64, i);
    let t = performance.now();
    await floorDeploy(floorRoot, `new_${i}`, png);
    const f = performance.now() - t;
    t = performance.now();
    await deploySprite({
      assetsRoot: join(realRoot, 'assets'),
      name: `new_${i}`,
      png,
      stateDir: join(realRoot, 'state'),
      source: entry(i).source ?? {},
    });
    const r = performance.now() - t;
    if (i >= 5) {
      // the first rounds warm up the JIT and caches of both
      floor.push(f);
      real.push(r);
    }
  }
  rmSync(floorRoot, { recursive: true, force: true });
  rmSync(realRoot, { recursive: true, force: true });
  return { entries, rounds, floor, real };
}

const rows = [await run(1000, 200), await run(10_000, 60)];
const out = (s: string) => process.stdout.write(`${s}\n`);
out(
  '| manifest entries | rounds | deploySprite p50 | p99 | floor p50 | floor p99 | p99 ratio (target ≤ 1.5) |',
);
out('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const rp99 = pct(r.real, 99);
  const fp99 = pct(r.floor, 99);
  out(
    `| ${r.entries} | ${r.rounds} | ${pct(r.real, 50).toFixed(1)} ms | ${rp99.toFixed(1)} ms | ` +
      `${pct(r.floor, 50).toFixed(1)} ms | ${fp99.toFixed(1)} ms | ${(rp99 / fp99).toFixed(2)} |`,
  );
}
