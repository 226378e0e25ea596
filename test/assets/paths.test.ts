import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploySprite } from '../../daemon/src/assets/deploy.js';
import {
  assertInsideRoot,
  assertSafeRelativeName,
  resolveAssetsRoot,
} from '../../daemon/src/assets/paths.js';
import { DaemonError } from '../../daemon/src/errors.js';
import { makePng } from '../support/png.js';
import { tempDir } from '../support/temp-dir.js';

let base: string;
let root: string;
beforeEach(() => {
  base = tempDir('dgx-jail-');
  root = join(base, 'game', 'assets');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(base, 'outside'));
});

function caught(fn: () => unknown): DaemonError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DaemonError) return err;
    throw err;
  }
  throw new Error('expected a DaemonError, nothing was thrown');
}

describe('assertSafeRelativeName', () => {
  it.each([
    ['', 'it is empty'],
    ['../escape', '".." segments are not allowed (they leave the assets root)'],
    ['a/../../b', '".." segments are not allowed'],
    ['..', '".." segments are not allowed'],
    ['/etc/passwd', 'absolute paths are not allowed'],
    ['C:/Windows/evil', 'absolute paths are not allowed'],
    ['c:evil', 'absolute paths are not allowed'],
    ['a\\..\\b', 'backslashes are not allowed'],
    ['hero\0.png', 'it contains a NUL byte'],
    ['a//b', 'empty or "." segments are not allowed'],
    ['./hero', 'empty or "." segments are not allowed'],
    ['hero/', 'empty or "." segments are not allowed'],
    ['CON', '"CON" is a reserved device name on Windows'],
    ['enemies/nul', '"nul" is a reserved device name on Windows'],
    ['com1.png', '"com1.png" is a reserved device name on Windows'],
    ['Lpt9', '"Lpt9" is a reserved device name on Windows'],
    ['hero.', 'a segment may not end with "." or a space'],
    ['.hidden', 'segment ".hidden" must start with a letter or digit'],
    ['-rf', 'segment "-rf" must start with a letter or digit'],
    ['hero sprite', 'segment "hero sprite" must start with a letter or digit'],
    ['héro', 'segment "héro" must start with a letter or digit'],
    [
      'a'.repeat(65),
      'must start with a letter or digit and use only A-Z a-z 0-9 _ . - (at most 64 characters)',
    ],
    ['a/b/c/d/e', 'at most 4 folder levels are allowed'],
    ['$(reboot)', 'segment "$(reboot)" must start with a letter or digit'],
  ])('rejects %j: %s', (name, rule) => {
    const err = caught(() => assertSafeRelativeName(name));
    expect(err.code).toBe('PATH_INVALID');
    expect(err.message).toContain(rule);
    expect(err.message).toMatch(/^sprite name ".*" rejected: .+; .+/s);
  });

  it.each([
    'hero',
    'enemies/slime_2',
    'UI/button-ok',
    'v1.2',
    'a/b/c/d',
    'con_sole',
    'A'.repeat(64),
  ])('accepts %j', (name) => {
    expect(() => assertSafeRelativeName(name)).not.toThrow();
  });
});

describe('assertInsideRoot', () => {
  it('returns the absolute path of a name inside the root', async () => {
    expect(await assertInsideRoot(root, 'sprites/hero.png')).toBe(
      join(root, 'sprites', 'hero.png'),
    );
  });

  it('refuses a folder that is a symlink leading outside the root', async () => {
    symlinkSync(join(base, 'outside'), join(root, 'sprites'));
    const err = await assertInsideRoot(root, 'sprites/hero.png').catch(
      (e: unknown) => e as DaemonError,
    );
    expect(err).toBeInstanceOf(DaemonError);
    expect((err as DaemonError).code).toBe('PATH_OUTSIDE_ASSETS');
    expect((err as DaemonError).message).toContain('goes through a symlink');
    expect((err as DaemonError).message).toContain(
      'remove the symlink or deploy under another name',
    );
  });

  it('refuses a file that is a symlink leading outside the root', async () => {
    mkdirSync(join(root, 'sprites'));
    symlinkSync(join(base, 'outside', 'x.png'), join(root, 'sprites', 'hero.png'));
    await expect(assertInsideRoot(root, 'sprites/hero.png')).rejects.toThrow(
      /leads outside the assets root/,
    );
  });

  it('allows a symlink that stays inside the root', async () => {
    mkdirSync(join(root, 'real'));
    symlinkSync(join(root, 'real'), join(root, 'sprites'));
    await expect(assertInsideRoot(root, 'sprites/hero.png')).resolves.toBe(
      join(root, 'sprites', 'hero.png'),
    );
  });

  it('says how to fix a missing root', async () => {
    await expect(assertInsideRoot(join(base, 'nope'), 'hero.png')).rejects.toThrow(
      /assets root .*nope does not exist; create it, or point --assets/,
    );
  });

  it('never writes through a hostile symlink during a deploy', async () => {
    symlinkSync(join(base, 'outside'), join(root, 'sprites'));
    await expect(
      deploySprite({ assetsRoot: root, name: 'hero', png: makePng(4, 4, 1) }),
    ).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_ASSETS',
    });
  });
});

describe('resolveAssetsRoot', () => {
  it('uses the configured base when the request names no folder', async () => {
    expect(await resolveAssetsRoot({ configured: root })).toBe(root);
  });

  it('accepts a bevy_assets_dir inside the base or an allowed root', async () => {
    mkdirSync(join(base, 'other', 'assets'), { recursive: true });
    expect(await resolveAssetsRoot({ configured: root, requested: join(root, 'sub') })).toBe(
      join(root, 'sub'),
    );
    expect(
      await resolveAssetsRoot({
        configured: root,
        allowedRoots: [join(base, 'other')],
        requested: join(base, 'other', 'assets'),
      }),
    ).toBe(join(base, 'other', 'assets'));
  });

  it.each([
    ['a folder outside every root', () => join(base, 'outside'), 'is outside the allowed roots'],
    ['a relative escape', () => join(root, '..', '..', 'outside'), 'is outside the allowed roots'],
    ['a NUL byte', () => `${root}\0x`, 'contains a NUL byte'],
  ])('refuses %s', async (_label, requested, message) => {
    await expect(resolveAssetsRoot({ configured: root, requested: requested() })).rejects.toThrow(
      message,
    );
  });

  it('refuses a symlink inside a root that leads outside it', async () => {
    symlinkSync(join(base, 'outside'), join(root, 'link'));
    await expect(
      resolveAssetsRoot({ configured: root, requested: join(root, 'link') }),
    ).rejects.toThrow(/\(really .*outside\) is outside the allowed roots/);
  });

  it('asks for configuration when nothing is set', async () => {
    await expect(resolveAssetsRoot({})).rejects.toThrow(
      'no assets root configured; pass --assets DIR, set DGX_PIXELS_BEVY_ASSETS, or set deployment.bevy_assets_base in the config',
    );
    await expect(resolveAssetsRoot({ requested: root })).rejects.toThrow(
      'no allowed roots are configured',
    );
  });
});
