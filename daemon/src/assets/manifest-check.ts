import { MANIFEST_VERSION, SPRITE_NAME } from './manifest-names.js';
import type { Manifest, ManifestEntry } from './manifest-schema.js';

/**
 * A hand-written twin of ManifestEntrySchema for the hot path: a deploy into
 * a 10 000-entry manifest re-reads it, and zod costs ~4× JSON.parse there
 * (and ~100 ms to load, which a CLI deploy need not pay). It only says yes or
 * no; on "no" the caller loads zod (manifest-schema.ts) for the message.
 * test/assets/manifest-schema.test.ts checks it against zod and the JSON Schema.
 */

export { MANIFEST_VERSION, NAME_SEGMENT, SPRITE_NAME } from './manifest-names.js';

/** A fresh, empty manifest. */
export function emptyManifest(now = new Date()): Manifest {
  return { version: MANIFEST_VERSION, updated_at: now.toISOString(), sprites: [] };
}

const HASH = /^[0-9a-f]{64}$/;
const REL_PATH = /^[^/\\\0][^\\\0]*$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;
const KINDS = new Set(['sprite', 'sheet', 'tileset']);

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number): boolean => Number.isInteger(v) && (v as number) >= min;
const isRel = (v: unknown): boolean =>
  typeof v === 'string' && REL_PATH.test(v) && !DOT_SEGMENT.test(v);
const optional = (o: Obj, key: string, check: (v: unknown) => boolean): boolean =>
  o[key] === undefined || check(o[key]);
const isXy = (v: unknown): boolean =>
  Array.isArray(v) && v.length === 2 && isInt(v[0], 0) && isInt(v[1], 0);
const isStr = (v: unknown): boolean => typeof v === 'string';

function isGrid(v: unknown): boolean {
  return (
    isObj(v) &&
    isInt(v.columns, 1) &&
    isInt(v.rows, 1) &&
    isInt(v.frame_width, 1) &&
    isInt(v.frame_height, 1) &&
    optional(v, 'padding', isXy) &&
    optional(v, 'offset', isXy)
  );
}

function isSource(v: unknown): boolean {
  if (!isObj(v)) return false;
  for (const k of [
    'prompt',
    'style',
    'model',
    'lora',
    'pipeline_version',
    'job_id',
    'recipe_hash',
  ]) {
    if (!optional(v, k, isStr)) return false;
  }
  return (
    optional(v, 'seed', (s) => Number.isInteger(s)) &&
    optional(v, 'steps', (s) => isInt(s, 1)) &&
    optional(v, 'cfg_scale', (s) => typeof s === 'number' && Number.isFinite(s)) &&
    optional(v, 'postprocess', isObj)
  );
}

/** True when `v` satisfies ManifestEntrySchema (same verdict as zod, without copying). */
export function isManifestEntry(v: unknown): v is ManifestEntry {
  if (!isObj(v)) return false;
  const { name, path, deployed_at, kind, hash } = v;
  return (
    typeof name === 'string' &&
    SPRITE_NAME.test(name) &&
    isRel(path) &&
    typeof deployed_at === 'string' &&
    deployed_at.length > 0 &&
    typeof kind === 'string' &&
    KINDS.has(kind) &&
    isInt(v.width, 1) &&
    isInt(v.height, 1) &&
    typeof hash === 'string' &&
    HASH.test(hash) &&
    isInt(v.revision, 1) &&
    optional(v, 'grid', isGrid) &&
    optional(v, 'atlas', isRel) &&
    optional(v, 'source', isSource) &&
    (kind === 'sprite' || v.grid !== undefined)
  );
}
