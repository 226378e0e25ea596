import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/src/errors.js';
import {
  decodeReply,
  decodeRequest,
  decodeUpdate,
  encode,
} from '../../daemon/src/protocol/codec.js';
import { FLOAT_FIELDS } from '../../daemon/src/protocol/messages.js';

// Frames captured from the unpatched Python worker (shared/protocol/python-capture,
// index.json describes each). Every well-formed one must decode, and re-encode to
// the same bytes; the malformed ones must become BAD_FRAME, never a crash.
const DIR = join(import.meta.dirname, '../../shared/protocol/python-capture');
interface Frame {
  file: string;
  direction: 'req' | 'rep' | 'pub';
  notes: string;
  wire: Record<string, unknown>;
}
const frames = (JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as { frames: Frame[] })
  .frames;
const decoders = { req: decodeRequest, rep: decodeReply, pub: decodeUpdate } as const;

/** A float64 in a field we write as int: only when a client sent a float `steps` (T1), which we never do. */
function floatEcho(f: Frame): boolean {
  return Object.entries(f.wire).some(([k, v]) => v === 'float64' && !FLOAT_FIELDS.has(k));
}
// Malformed on purpose (PROTOCOL.md "Observed" 6, 10): garbage, text, empty, array,
// string, no type, unknown type, missing field, steps as string and its echoes.
const malformed = (f: Frame) =>
  /garbage|text|empty|array|string|no-type|frobnicate/.test(f.file) ||
  /missing model|steps "20" \(string\)|total_steps is the string/.test(f.notes);

describe('frames captured from the Python worker', () => {
  const good = frames.filter((f) => !malformed(f));
  const bad = frames.filter(malformed);

  it('has every kind of frame we rely on', () => {
    expect(good.length).toBeGreaterThan(150);
    expect(bad.length).toBeGreaterThanOrEqual(9);
  });

  it.each(good.map((f) => [f.file, f] as const))(
    '%s decodes and re-encodes byte-identically',
    (_n, f) => {
      const bytes = readFileSync(join(DIR, f.file));
      const decoded = decoders[f.direction](bytes);
      if (!floatEcho(f)) expect(Buffer.from(encode(decoded)).equals(bytes)).toBe(true);
    },
  );

  it.each(bad.map((f) => [f.file, f] as const))('%s is rejected as BAD_FRAME', (_n, f) => {
    const bytes = readFileSync(join(DIR, f.file));
    const err = (() => {
      try {
        decoders[f.direction](bytes);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('BAD_FRAME');
  });
});
