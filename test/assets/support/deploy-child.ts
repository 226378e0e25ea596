import { writeFileSync } from 'node:fs';
import { deploySprite } from '../../../daemon/src/assets/deploy.js';
import { withManifestLock } from '../../../daemon/src/assets/manifest-lock.js';
import { sha256Hex } from '../../../daemon/src/assets/png-info.js';
import { makePng } from '../../support/png.js';

/**
 * A deploying process for the multi-process and kill -9 tests (bundled with
 * esbuild by child-bundle.ts so it starts fast). Lines on stdout (a pipe is
 * written synchronously on Linux, so a line printed is a line the parent gets):
 *   ready | start <name> <hash-seed> | ok <name> <revision>
 * argv: <assetsRoot> <stateDir> <prefix> <count> <mode: names|crash|hold|tear> [lane]
 */

const [assetsRoot = '', stateDir = '', prefix = 'p', countText = '1', mode = 'names', lane = '0'] =
  process.argv.slice(2);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (mode === 'tear') {
    // A deploy cut between the PNG rename and the manifest rename, made
    // deterministic: replace the PNG under the lock, record the intent, hang.
    const first = await deploySprite({
      assetsRoot,
      stateDir,
      name: 'hero',
      png: makePng(64, 64, 1),
    });
    await withManifestLock(`${assetsRoot}/asset_manifest.json`, async (lock) => {
      const png = makePng(64, 64, 2);
      await lock.recordIntent([{ ...first.entry, hash: sha256Hex(png), revision: 2 }]);
      writeFileSync(first.deployedPath, png);
      out('torn');
      await new Promise(() => undefined); // until killed
    });
    return;
  }
  if (mode === 'hold') {
    await withManifestLock(`${assetsRoot}/asset_manifest.json`, async () => {
      out('locked');
      await new Promise(() => undefined); // until killed
    });
    return;
  }
  const count = Number(countText);
  const deployOne = async (name: string) => {
    const seed = Math.floor(Math.random() * 1e9);
    out(`start ${name} ${seed}`);
    const r = await deploySprite({ assetsRoot, stateDir, name, png: makePng(64, 64, seed) });
    out(`ok ${name} ${r.revision} ${r.entry.hash}`);
  };
  if (mode === 'names') {
    // 8 deploys in flight per process: group commit batches them under one lock.
    out('ready');
    let next = 0;
    const lane = async () => {
      while (next < count) await deployOne(`${prefix}-${next++}`);
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    return;
  }
  // crash: one at a time, alternating fresh names with re-deploys of one shared
  // name (revision bumps); "ready" after the first, so kills land in warm code.
  for (let i = 0; i < count; i++) {
    await deployOne(i % 2 === 1 ? `hero-${lane}` : `${prefix}-${i}`);
    if (i === 0) out('ready');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
