import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeReply,
  decodeRequest,
  decodeUpdate,
  encode,
} from '../../daemon/src/protocol/codec.js';

// Frames packed by Python's msgpack (shared/protocol/make_fixtures.py) with the
// worker's key orders: our encode() must produce the same bytes, and our
// decoders must accept them.
const DIR = join(import.meta.dirname, '../../shared/protocol/fixtures');
type Direction = 'req' | 'rep' | 'pub';
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Record<
  string,
  { direction: Direction; content: Record<string, unknown> }
>;

function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.$bin === 'string') return new Uint8Array(Buffer.from(obj.$bin, 'base64'));
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

const decoders = { req: decodeRequest, rep: decodeReply, pub: decodeUpdate } as const;
const rows = Object.entries(index).map(([name, f]) => [name, f.direction, f.content] as const);

describe('python reference fixtures', () => {
  it('covers every message type of PROTOCOL.md', () => {
    const types = new Set(rows.map(([, d, c]) => `${d}:${String(c.type)}`));
    expect([...types].sort()).toEqual(
      [
        'req:generate',
        'req:cancel',
        'req:list_models',
        'req:status',
        'req:ping',
        'req:job_status',
        'rep:job_accepted',
        'rep:job_cancelled',
        'rep:job_error',
        'rep:model_list',
        'rep:status_info',
        'rep:pong',
        'rep:error',
        'rep:job_state',
        'pub:job_started',
        'pub:progress',
        'pub:preview',
        'pub:job_finished',
        'pub:job_complete',
        'pub:job_error',
      ].sort(),
    );
  });

  it.each(rows)('%s: encode() gives the bytes Python packs', (name, _direction, content) => {
    const python = readFileSync(join(DIR, `${name}.msgpack`));
    expect(Buffer.from(encode(fromJson(content) as Record<string, unknown>)).toString('hex')).toBe(
      python.toString('hex'),
    );
  });

  it.each(rows)('%s: decodes and validates', (name, direction, content) => {
    const decoded = decoders[direction](readFileSync(join(DIR, `${name}.msgpack`)));
    // compare bin fields by content (decoders return views into the frame)
    const hex = (v: unknown) =>
      JSON.stringify(v, (_k, x) =>
        x?.type === 'Buffer'
          ? Buffer.from(x.data).toString('hex')
          : x instanceof Uint8Array
            ? Buffer.from(x).toString('hex')
            : x,
      );
    expect(hex(decoded)).toBe(hex(fromJson(content)));
  });
});
