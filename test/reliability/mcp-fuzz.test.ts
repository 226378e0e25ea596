import { describe, expect, it } from 'vitest';
import { prng, randInt } from '../support/prng.js';
import { startStack, structured, text } from '../support/reliability-stack.js';
import { recordFigure } from './figures.js';

// Hostile MCP tool arguments through a real SDK Client into the real daemon (embedded worker,
// real sprites/assets): wrong types, huge strings, unicode oddities, deep JSON, extra keys,
// random combinations. Every call must answer (no hang, no crash) — an isError result whose text
// names what was wrong, or a normal result — and the daemon must work normally afterwards.

const DEEP = (depth: number): unknown => {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const HOSTILE: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e-308,
  2 ** 53 + 1,
  3.5,
  '',
  ' ',
  'x',
  'x'.repeat(10_000),
  'x'.repeat(1_000_000),
  '\u0000nul',
  '\ud800 lone surrogate',
  '👾🐉 sprite ✨',
  'مرحبا‮ rtl override',
  '../../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\system32',
  '%00%2e%2e%2f',
  `\${jndi:ldap://x}`,
  '<script>alert(1)</script>',
  '1024x1024\n',
  '#zzzzzz',
  [],
  [1, 2],
  [1, 2, 3],
  ['a', 'b'],
  Array.from({ length: 10_000 }, (_, i) => i),
  {},
  { __proto__: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  DEEP(50),
  DEEP(2000),
];

describe('MCP tool argument fuzzing', () => {
  it('answers every hostile input with a clear error or a normal result, never crashes or hangs', async () => {
    const stack = await startStack({
      workers: 1,
      config: () => ({
        validation: { allowed_resolutions: ['64x64', '512x512'] },
        generation: { default_resolution: '64x64', default_wait_s: 5 },
      }),
    });
    const rand = prng(9001);
    let tried = 0;
    let errors = 0;
    let ok = 0;
    let slowest = 0;
    const unclear: string[] = [];
    const call = async (name: string, args: unknown) => {
      tried++;
      const t0 = performance.now();
      let r: Awaited<ReturnType<typeof stack.client.callTool>>;
      try {
        r = await stack.client.callTool(
          { name, arguments: args as Record<string, unknown> },
          undefined,
          { timeout: 30_000 },
        );
      } catch (err) {
        // a JSON-RPC error (e.g. arguments not an object) is an answer too, if it says why
        const msg = String((err as Error).message);
        if (!/invalid|expected|must|not found/i.test(msg)) unclear.push(`${name}: rpc ${msg}`);
        errors++;
        return;
      }
      slowest = Math.max(slowest, performance.now() - t0);
      const t = text(r as never);
      if (r.isError) {
        errors++;
        // clear: names a field or the problem, and is not an internal/unknown failure
        if (/internal error|unknown failure|undefined|\[object Object\]/i.test(t) || t.length < 15)
          unclear.push(`${name} ${JSON.stringify(args).slice(0, 100)} → ${t.slice(0, 200)}`);
      } else ok++;
    };
    try {
      const { tools } = await stack.client.listTools();
      for (const tool of tools) {
        const props = Object.keys((tool.inputSchema.properties ?? {}) as Record<string, unknown>);
        const required = (tool.inputSchema.required ?? []) as string[];
        const base: Record<string, unknown> = {};
        for (const r of required) base[r] = r === 'prompt' ? 'a small green slime' : 'x';
        // every field × every hostile value
        for (const p of props) for (const v of HOSTILE) await call(tool.name, { ...base, [p]: v });
        // arguments that are not an object, unknown keys, prototype keys
        for (const v of [null, 'str', 42, [1]]) await call(tool.name, v);
        await call(tool.name, { ...base, not_a_field: 1 });
        await call(tool.name, JSON.parse('{"__proto__": {"x": 1}}'));
        // random combinations
        for (let i = 0; i < 60; i++) {
          const args: Record<string, unknown> = {};
          for (const p of props) {
            if (rand() < 0.5) args[p] = HOSTILE[randInt(rand, HOSTILE.length)];
          }
          await call(tool.name, args);
        }
      }
      await call('no_such_tool', {});
      // the daemon still works: a normal generation succeeds
      const r = await stack.call('generate_sprite', {
        prompt: 'knight after the storm',
        size: [16, 16],
      });
      expect(r.isError, text(r)).toBeFalsy();
      expect(structured(r).status).toBe('success');
      recordFigure({
        suite: 'hostile input',
        name: 'MCP tool arguments fuzzed (types, sizes, unicode, deep JSON, extra keys)',
        value: tried,
        note: `${errors} clear errors, ${ok} valid results, ${unclear.length} unclear; slowest answer ${Math.round(slowest)} ms; daemon healthy after`,
      });
      expect(unclear.slice(0, 10)).toEqual([]);
      expect(tried).toBeGreaterThan(1000);
    } finally {
      await stack.close();
    }
  });
});
