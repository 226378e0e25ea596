import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config/schema.js';
import { type ToolDef, toolListJson } from './tool-registry.js';

/**
 * The tools/list answer, precomputed by `npm run build` (write-tool-list.ts) so `serve` answers
 * its first tools/list without building every tool's zod schema and converting it to JSON Schema.
 *
 * A tool's schema carries config values (limits, styles, defaults). The build records which
 * config keys the tools read while it builds them, and their values; at start-up the snapshot is
 * used only when this process's config has the same value at every one of those keys. Any other
 * config, or a build without the file (tests run the sources), converts the schemas live. So a
 * new tool or a changed field is picked up by the next build, with nothing to list by hand.
 */

/** Beside this module in daemon/dist/mcp/ (not written for the sources). */
export const TOOL_LIST_FILE = join(dirname(fileURLToPath(import.meta.url)), 'tool-list.json');

/** One config key the tools read, and its value then (absent: undefined). */
export interface ConfigRead {
  path: string[];
  value?: unknown;
}

export interface ToolListSnapshot {
  reads: ConfigRead[];
  tools: Tool[];
}

/** `obj` seen through a proxy that notes each leaf read (and each object whose keys are listed). */
function recording(obj: object, path: string[], reads: Map<string, ConfigRead>): object {
  const note = (p: string[], value: unknown) =>
    reads.set(JSON.stringify(p), value === undefined ? { path: p } : { path: p, value });
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return value;
      const p = [...path, key];
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        return recording(value, p, reads);
      }
      note(p, structuredClone(value));
      return value;
    },
    has(target, key) {
      if (typeof key === 'string') note([...path, key], structuredClone(Reflect.get(target, key)));
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      note(path, structuredClone(target));
      return Reflect.ownKeys(target);
    },
  });
}

/** Build the tools from `config` and note every config key they read: the snapshot to write. */
export function recordToolList(
  config: Config,
  build: (config: Config) => readonly ToolDef[],
): ToolListSnapshot {
  const reads = new Map<string, ConfigRead>();
  const tools = toolListJson(build(recording(config, [], reads) as Config));
  return { reads: [...reads.values()], tools };
}

function valueAt(config: Config, path: string[]): unknown {
  let v: unknown = config;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The snapshot's tools when `config` agrees with it at every key the tools read, else undefined. */
export function cachedToolList(
  config: Config,
  snapshot: ToolListSnapshot | undefined = readToolListSnapshot(),
): Tool[] | undefined {
  if (snapshot === undefined) return undefined;
  for (const read of snapshot.reads) {
    if (!isDeepStrictEqual(valueAt(config, read.path), read.value)) return undefined;
  }
  return snapshot.tools;
}

let snapshotFile: { snapshot: ToolListSnapshot | undefined } | undefined;

/** The build's snapshot, read once per process (every HTTP session asks). */
function readToolListSnapshot(): ToolListSnapshot | undefined {
  if (snapshotFile === undefined) {
    try {
      snapshotFile = { snapshot: JSON.parse(readFileSync(TOOL_LIST_FILE, 'utf8')) };
    } catch {
      snapshotFile = { snapshot: undefined }; // not built (tests run the sources): convert live
    }
  }
  return snapshotFile.snapshot;
}
