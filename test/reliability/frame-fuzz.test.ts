import { encode as rawEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/src/errors.js';
import {
  decodeReply,
  decodeRequest,
  decodeUpdate,
  encode,
} from '../../daemon/src/protocol/codec.js';
import { prng, randInt } from '../support/prng.js';
import { recordFigure } from './figures.js';

// Every frame a worker (or a client, for the embedded worker) can send must decode to a valid
// message or a DaemonError('BAD_FRAME') — never another exception, never a hang.

const VALID: Record<string, unknown>[] = [
  { type: 'job_accepted', job_id: 'a', estimated_time_s: 2.4000000000000004 },
  { type: 'job_complete', job_id: 'a', image_path: '/out/a_1.png', duration_s: 2.0 },
  {
    type: 'progress',
    job_id: 'a',
    stage: 'sampling',
    step: 0,
    total_steps: 20,
    percent: 15,
    eta_s: 14.5,
  },
  { type: 'job_started', job_id: 'a', timestamp: 1_700_000_000 },
  { type: 'status_info', version: '1.0.0', queue_size: 0, active_jobs: 1, uptime_s: 5 },
  {
    type: 'generate',
    id: 'a',
    prompt: 'slime',
    model: 'm',
    size: [1024, 1024],
    steps: 20,
    cfg_scale: 7.5,
  },
  { type: 'model_list', models: [{ name: 'm', path: '/m', model_type: 'lora', size_mb: 10 }] },
];

function randomValue(rand: () => number, depth: number): unknown {
  switch (randInt(rand, depth > 6 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return randInt(rand, 2 ** 31) - 2 ** 30;
    case 3:
      return rand() * 1e6;
    case 4:
      return 'x'.repeat(randInt(rand, 40));
    case 5:
      return Uint8Array.from({ length: randInt(rand, 16) }, () => randInt(rand, 256));
    case 6:
      return Array.from({ length: randInt(rand, 4) }, () => randomValue(rand, depth + 1));
    default: {
      const keys = ['type', 'job_id', 'image_path', 'models', 'size', 'steps', 'stage', 'percent'];
      const o: Record<string, unknown> = {};
      for (let i = randInt(rand, 5); i > 0; i--)
        o[keys[randInt(rand, keys.length)] as string] = randomValue(rand, depth + 1);
      if (rand() < 0.5) o.type = VALID[randInt(rand, VALID.length)]?.type;
      return o;
    }
  }
}

function mutate(rand: () => number, frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  switch (randInt(rand, 4)) {
    case 0: // flip bits
      for (let i = 1 + randInt(rand, 4); i > 0; i--) {
        const at = randInt(rand, out.length);
        out[at] = (out[at] as number) ^ (1 << randInt(rand, 8));
      }
      return out;
    case 1: // truncate
      return out.slice(0, randInt(rand, out.length));
    case 2: // overwrite a byte with a type marker that claims a huge length
      out[randInt(rand, out.length)] = [0xdd, 0xdf, 0xdb, 0xc6][randInt(rand, 4)] as number;
      return out;
    default: {
      // append garbage
      const tail = Uint8Array.from({ length: 1 + randInt(rand, 8) }, () => randInt(rand, 256));
      const joined = new Uint8Array(out.length + tail.length);
      joined.set(out);
      joined.set(tail, out.length);
      return joined;
    }
  }
}

function deepFrame(depth: number): Uint8Array {
  // 0x91 = fixarray of one element, nested `depth` times, ending in nil
  const bytes = new Uint8Array(depth + 1).fill(0x91);
  bytes[depth] = 0xc0;
  return bytes;
}

/** 'ok' when at least one decoder accepts the frame, 'bad_frame' when all reject it. */
function checkAll(frame: Uint8Array): 'ok' | 'bad_frame' {
  let verdict: 'ok' | 'bad_frame' = 'bad_frame';
  for (const decode of [decodeReply, decodeUpdate, decodeRequest]) {
    try {
      decode(frame);
      verdict = 'ok';
    } catch (err) {
      if (!(err instanceof DaemonError) || err.code !== 'BAD_FRAME') {
        throw new Error(
          `decoder threw a non-BAD_FRAME error for ${Buffer.from(frame).toString('hex').slice(0, 80)}: ${String(err)}`,
        );
      }
    }
  }
  return verdict;
}

describe('worker frame fuzzing', () => {
  it('turns random, mutated and pathological frames into BAD_FRAME or valid messages', () => {
    const rand = prng(20261125);
    let tried = 0;
    let rejected = 0;
    const started = performance.now();
    const tally = (frame: Uint8Array) => {
      tried++;
      if (checkAll(frame) === 'bad_frame') rejected++;
    };
    for (let i = 0; i < 4000; i++)
      tally(Uint8Array.from({ length: randInt(rand, 64) }, () => randInt(rand, 256)));
    for (let i = 0; i < 6000; i++)
      tally(mutate(rand, encode(VALID[randInt(rand, VALID.length)] as never)));
    for (let i = 0; i < 4000; i++) tally(rawEncode(randomValue(rand, 0)));
    for (const depth of [10, 1_000, 100_000]) tally(deepFrame(depth));
    tally(new Uint8Array(0));
    tally(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)); // array32 claiming 4 G elements
    tally(new TextEncoder().encode('{"type": "pong"}'));
    const ms = performance.now() - started;
    recordFigure({
      suite: 'hostile input',
      name: 'worker frames fuzzed (random, mutated, deep)',
      value: tried,
      note: `${rejected} rejected as BAD_FRAME, 0 crashes, ${ms.toFixed(0)} ms`,
    });
    expect(tried).toBeGreaterThan(14_000);
    expect(rejected).toBeGreaterThan(10_000);
    expect(rejected).toBeLessThan(tried); // some mutations stay valid messages
    // valid frames still decode
    for (const v of VALID) expect(checkAll(encode(v as never))).toBe('ok');
    expect(decodeReply(encode(VALID[0] as never))).toEqual(VALID[0]);
  });
});
