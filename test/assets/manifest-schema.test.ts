import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { isManifestEntry } from '../../daemon/src/assets/manifest-check.js';
import { ManifestSchema } from '../../daemon/src/assets/manifest-schema.js';

// The JSON Schema (the contract the Rust side reads), the zod mirror and the
// hand-written fast check must give the same verdict on every fixture.

const root = new URL('../..', import.meta.url).pathname;
const schema = JSON.parse(
  readFileSync(join(root, 'shared/manifest.schema.json'), 'utf8'),
) as object;
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const dir = join(root, 'test/assets/fixtures/manifests');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown] as const);

describe('manifest schema', () => {
  it('has fixtures of both kinds', () => {
    expect(fixtures.filter(([f]) => f.startsWith('valid-')).length).toBeGreaterThanOrEqual(5);
    expect(fixtures.filter(([f]) => f.startsWith('invalid-')).length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures)('JSON Schema, zod and the fast check agree on %s', (file, doc) => {
    const expected = file.startsWith('valid-');
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(expected);
    expect(ManifestSchema.safeParse(doc).success).toBe(expected);
    const sprites = (doc as { sprites?: unknown }).sprites;
    if (Array.isArray(sprites) && (doc as { version?: unknown }).version === 1) {
      expect(sprites.every(isManifestEntry)).toBe(expected);
    }
  });

  it('keeps unknown fields through zod', () => {
    const doc = fixtures.find(([f]) => f === 'valid-unknown-fields-kept.json')?.[1];
    const parsed = ManifestSchema.parse(doc);
    expect(parsed).toMatchObject({
      game_title: 'Slime Quest',
      sprites: [{ custom_tag: 'boss', source: { extra: 1 } }],
    });
  });
});
