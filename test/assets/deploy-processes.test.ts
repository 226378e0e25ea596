import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import { isManifestEntry } from '../../daemon/src/assets/manifest-check.js';
import { type Manifest, ManifestSchema } from '../../daemon/src/assets/manifest-schema.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';
import { bundleChild } from './support/child-bundle.js';
import { type Child, spawnChild } from './support/children.js';

// Real processes against one real manifest: several writers at once, and
// writers killed with SIGKILL at random instants while a reader keeps reading.

let bundle: string;
const dirs: string[] = [];

function readManifestFile(root: string): Manifest {
  if (!existsSync(join(root, 'asset_manifest.json')))
    return { version: 1, updated_at: '', sprites: [] };
  return ManifestSchema.parse(JSON.parse(readFileSync(join(root, 'asset_manifest.json'), 'utf8')));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  bundle = await bundleChild(new URL('./support/deploy-child.ts', import.meta.url).pathname);
  dirs.push(dirname(bundle));
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The invariants checked after each SIGKILL of a deploying process (the 200-kill test below),
// each on its own so a failure names the one that broke. `child.lines` is the killed child's
// report: "start <name>" before a deploy, "ok <name> <revision>" after it returned.

const namesOf = (child: Child, kind: 'start' | 'ok') =>
  child.lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.split(' ')[1] as string);

/** No lost update: every deploy a process reported done is in the manifest. */
function noAcknowledgedDeployLost(okNames: Set<string>, inManifest: Set<string>): void {
  for (const n of okNames)
    expect(inManifest.has(n), `no lost update: completed deploy ${n} missing`).toBe(true);
}

/** No invented update: every entry of this lane's names was started by some process. */
function noInventedEntry(inManifest: Set<string>, prefix: string, started: Set<string>): void {
  for (const n of inManifest) {
    if (n.startsWith(prefix))
      expect(started.has(n), `no invented update: entry ${n} was never deployed`).toBe(true);
  }
}

/** Of the killed process's started-but-unreported deploys, at most one (the in-flight one) is in. */
function atMostTheInFlightDeployAdded(child: Child, inManifest: Set<string>): void {
  const done = new Set(namesOf(child, 'ok'));
  const inFlight = namesOf(child, 'start').filter(
    (n) => !done.has(n) && !n.startsWith('hero-') && inManifest.has(n),
  );
  expect(
    inFlight.length,
    `at most the in-flight deploy added; present: ${inFlight.join(', ')}`,
  ).toBeLessThanOrEqual(1);
}

/**
 * Track the lane's torn names (a deploy cut between its PNG rename and its manifest rename: PNG
 * first, manifest last) and return the names this kill may have changed. A child that completed a
 * deploy held the lock after its predecessor died, so it rolled a cut deploy forward.
 */
function updateTorn(child: Child, torn: Set<string>): Set<string> {
  const tornBefore = [...torn];
  if (child.lines.some((l) => l.startsWith('ok '))) torn.clear();
  // in flight: the last "start" with no "ok" after it (a name may be deployed twice)
  const lastIndex = (prefix: string) =>
    child.lines.map((l) => l.startsWith(prefix)).lastIndexOf(true);
  const lastStart = lastIndex('start ');
  if (lastStart > lastIndex('ok ')) torn.add(child.lines[lastStart]?.split(' ')[1] as string);
  return new Set([...namesOf(child, 'start'), ...tornBefore]);
}

/** No torn entry: each changed entry's PNG has the entry's hash, except a name still torn. */
function entriesMatchTheirBytes(
  root: string,
  manifest: Manifest,
  touched: Set<string>,
  torn: Set<string>,
  child: Child,
): void {
  for (const e of manifest.sprites) {
    if (!touched.has(e.name) || torn.has(e.name)) continue;
    expect(
      sha(readFileSync(join(root, e.path))),
      `no torn entry: ${e.name} bytes differ from its manifest hash; torn: ${[...torn]}; lines: ${child.lines.join(' | ')}; entry: ${JSON.stringify(e)}`,
    ).toBe(e.hash);
  }
}

/** The name every process of a lane deploys again and again never goes back a revision. */
function sharedRevisionNeverGoesBack(child: Child, manifest: Manifest, lane: number): void {
  const heroOks = child.lines
    .filter((l) => l.startsWith(`ok hero-${lane} `))
    .map((l) => Number(l.split(' ')[2]));
  const hero = manifest.sprites.find((e) => e.name === `hero-${lane}`);
  if (heroOks.length > 0)
    expect(hero?.revision, `hero-${lane} revision went back`).toBeGreaterThanOrEqual(
      Math.max(...heroOks),
    );
}

describe('deploySprite across processes', () => {
  it('keeps every update when 8 processes deploy 200 sprites each into one manifest', async () => {
    const root = tempDir('dgx-assets-');
    const state = tempDir('dgx-state-');
    const children = Array.from({ length: 8 }, (_, p) =>
      spawnChild(bundle, [root, state, `p${p}`, '200', 'names']),
    );
    const results = await Promise.all(children.map((c) => c.exited));
    for (const [i, r] of results.entries()) {
      expect(r, `child ${i} stderr: ${children[i]?.stderr.join('')}`).toEqual({
        code: 0,
        signal: null,
      });
    }
    const manifest = readManifestFile(root);
    const names = new Set(manifest.sprites.map((e) => e.name));
    expect(manifest.sprites).toHaveLength(1600);
    for (let p = 0; p < 8; p++)
      for (let i = 0; i < 200; i++) expect(names.has(`p${p}-${i}`)).toBe(true);
    // Every entry points at its own bytes.
    for (const e of manifest.sprites.slice(0, 50)) {
      expect(sha(readFileSync(join(root, e.path)))).toBe(e.hash);
    }
    const log = readFileSync(join(state, 'deploy-log.jsonl'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1600);
  }, 120_000);

  it('takes over a lock left by a killed holder at once, not after the 10 s stale time', async () => {
    const root = tempDir('dgx-assets-');
    const holder = spawnChild(bundle, [root, tempDir('dgx-state-'), 'h', '0', 'hold']);
    await holder.waitFor('locked', 10_000);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const started = performance.now();
    const r = await deploySprite({ assetsRoot: root, name: 'after_kill', png: makePng(8, 8, 1) });
    expect(r.revision).toBe(1);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('finishes the deploy of a holder killed between the PNG rename and the manifest rename', async () => {
    const root = tempDir('dgx-assets-');
    const child = spawnChild(bundle, [root, tempDir('dgx-state-'), 't', '0', 'tear']);
    await child.waitFor('torn', 15_000);
    child.proc.kill('SIGKILL');
    await child.exited;
    const onDisk = sha(readFileSync(join(root, 'sprites', 'hero.png')));
    const before = readManifestFile(root).sprites.find((e) => e.name === 'hero');
    expect(before?.revision).toBe(1);
    expect(before?.hash).not.toBe(onDisk); // torn: new PNG, old manifest
    // The next deploy (of anything) takes the dead lock over and rolls it forward.
    await deploySprite({ assetsRoot: root, name: 'other', png: makePng(8, 8, 3) });
    const after = readManifestFile(root).sprites.find((e) => e.name === 'hero');
    expect(after).toMatchObject({ hash: onDisk, revision: 2 });
  });

  /*
   * Two lanes, each: spawn a writer → wait for "ready" → sleep 0..25 ms →
   * SIGKILL → check the manifest. A third party reads the manifest in a loop
   * the whole time and must never see a torn or invalid file.
   */
  it('survives 200 SIGKILLs of deploying processes with no lost, torn or invented update', async () => {
    const root = tempDir('dgx-assets-');
    const state = tempDir('dgx-state-');
    const kills = 200;
    const lanes = Number(process.env.DGX_CRASH_LANES ?? 2);
    const okNames = new Set<string>();
    const startedNames = new Set<string>();
    let reads = 0;
    let readerError: string | undefined;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        let text: string;
        try {
          text = await readFile(join(root, 'asset_manifest.json'), 'utf8');
        } catch {
          await sleep(1);
          continue;
        }
        let doc: { version?: unknown; sprites?: unknown } | undefined;
        try {
          doc = JSON.parse(text);
        } catch (err) {
          readerError ??= `torn manifest (${text.length} bytes): ${String(err)}`;
        }
        // The hand-written check (same verdict as the schema, see
        // manifest-schema.test.ts) keeps this loop cheap; zod runs after each kill.
        const sprites = doc?.sprites;
        if (
          doc !== undefined &&
          (doc.version !== 1 || !Array.isArray(sprites) || !sprites.every(isManifestEntry))
        ) {
          readerError ??= `manifest read while writers run does not match the schema (${text.length} bytes)`;
        }
        reads++;
        await sleep(2);
      }
    })();

    const tornByLane = Array.from({ length: lanes }, () => new Set<string>());
    const checkAfterKill = (child: Child, lane: number) => {
      for (const line of child.lines) {
        const [kind, name] = line.split(' ');
        if (kind === 'start' && name) startedNames.add(name);
        if (kind === 'ok' && name) okNames.add(name);
      }
      const manifest = readManifestFile(root); // invariant 0: parses and matches the schema, or throws
      const inManifest = new Set(manifest.sprites.map((e) => e.name));
      noAcknowledgedDeployLost(okNames, inManifest);
      noInventedEntry(inManifest, `l${lane}k`, startedNames);
      atMostTheInFlightDeployAdded(child, inManifest);
      const touched = updateTorn(child, tornByLane[lane] as Set<string>);
      entriesMatchTheirBytes(root, manifest, touched, tornByLane[lane] as Set<string>, child);
      sharedRevisionNeverGoesBack(child, manifest, lane);
    };

    let killed = 0;
    let progressed = 0;
    const runLane = async (lane: number) => {
      for (let k = 0; k < kills / lanes; k++) {
        const child = spawnChild(bundle, [
          root,
          state,
          `l${lane}k${k}`,
          '1000',
          `crash`,
          String(lane),
        ]);
        await child.waitFor('ready', 15_000);
        await sleep(Math.random() * 40);
        child.proc.kill('SIGKILL');
        const exit = await child.exited;
        expect(exit.signal, `child exited by itself: ${child.stderr.join('')}`).toBe('SIGKILL');
        killed++;
        if (child.lines.some((l) => l.startsWith('ok '))) progressed++;
        checkAfterKill(child, lane);
      }
    };
    try {
      await Promise.all(Array.from({ length: lanes }, (_, lane) => runLane(lane)));
    } finally {
      stop = true;
      await reader;
    }
    expect(readerError).toBeUndefined();
    expect(killed).toBe(kills);
    expect(reads).toBeGreaterThan(kills);
    // The kills landed mid-work: most writers completed something before dying.
    expect(progressed).toBeGreaterThan(kills / 4);
    expect(okNames.size).toBeGreaterThan(kills / 2);
  }, 180_000);
});
