import { afterEach, describe, expect, it } from 'vitest';
import { drawSprite } from '../../daemon/src/embedded-worker/engines/procedural/sprite.js';
import type { Engine } from '../../daemon/src/embedded-worker/index.js';
import { FACINGS_8 } from '../../daemon/src/protocol/pose.js';
import { bootWorker } from './boot-worker.js';
import { generate } from './wire-client.js';

// Extension `pose` of the embedded worker: capabilities advertises it, the procedural
// engine draws one character turned 8 ways and walking, and an engine without it refuses it.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const boot = (engine?: Engine) =>
  bootWorker(cleanups, { stepMs: 1, ...(engine ? { engine } : {}) });

const hexOf = (rgba: Uint8Array) => Buffer.from(rgba).toString('hex');
function colours(rgba: Uint8Array): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i + 3]) out.add(hexOf(rgba.subarray(i, i + 3)));
  return out;
}

describe('procedural facings and walk frames', () => {
  it('every facing differs, is deterministic, and keeps the figure’s feet row', () => {
    const draw = (facing: string, frame = 0) =>
      drawSprite({ prompt: 'red knight', seed: 4, facing, motion: 'walk', frame });
    const seen = new Set<string>();
    for (const f of FACINGS_8) {
      const a = draw(f);
      expect(hexOf(draw(f).rgba)).toBe(hexOf(a.rgba)); // deterministic
      seen.add(hexOf(a.rgba));
      expect(a.kind).toBe('character');
    }
    expect(seen.size).toBe(FACINGS_8.length);
    // a walk cycle: four different frames in each facing
    for (const f of ['south', 'east', 'north']) {
      const frames = new Set([0, 1, 2, 3].map((k) => hexOf(draw(f, k).rgba)));
      expect(frames.size, f).toBeGreaterThanOrEqual(3);
    }
  });

  it('the same subject: the back view shows no colour the front does not have, a slime prompt still draws a humanoid', () => {
    const front = drawSprite({ prompt: 'blue wizard', seed: 2, facing: 'south', motion: 'stand' });
    const back = drawSprite({ prompt: 'blue wizard', seed: 2, facing: 'north', motion: 'stand' });
    const side = drawSprite({ prompt: 'blue wizard', seed: 2, facing: 'east', motion: 'stand' });
    const all = colours(front.rgba);
    for (const c of colours(side.rgba)) all.add(c);
    for (const c of colours(back.rgba)) expect(all.has(c), c).toBe(true);
    expect(drawSprite({ prompt: 'green slime', seed: 1, facing: 'east' }).kind).toBe('character');
  });
});

describe('worker wire: capabilities and pose', () => {
  it('capabilities lists the worker’s extensions and the procedural engine’s pose', async () => {
    const { client } = await boot();
    const reply = await client.request({ type: 'capabilities' });
    expect(reply.type).toBe('capabilities_info');
    expect(reply.extensions).toEqual(
      expect.arrayContaining(['job_status', 'return_image', 'pose']),
    );
  });

  it('a generate with a pose draws that facing; a malformed pose is refused, naming the field', async () => {
    const { client } = await boot();
    const east = generate({ pose: { facing: 'east', animation: 'walk' }, animation_frames: 4 });
    expect((await client.request(east)).type).toBe('job_accepted');
    const updates = await client.terminal(east.id as string);
    expect(updates.at(-1)?.type).toBe('job_complete');
    const bad = await client.request(generate({ pose: { facing: 'up', animation: 'walk' } }));
    expect(bad.type).toBe('job_error');
    expect(String(bad.error)).toMatch(/pose must be \{facing: south \| west/);
  });

  it('an engine without pose refuses it instead of drawing something else', async () => {
    const plain: Engine = {
      name: 'comfyui',
      listModels: async () => [],
      generate: async () => {
        throw new Error('must not run');
      },
      close: async () => undefined,
    };
    const { client } = await boot(plain);
    expect((await client.request({ type: 'capabilities' })).extensions).not.toContain('pose');
    const reply = await client.request(generate({ pose: { facing: 'east', animation: 'walk' } }));
    expect(reply.type).toBe('job_error');
    expect(String(reply.error)).toContain('"pose" extension');
  });
});
