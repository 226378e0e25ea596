import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../support/png.js';
import { suiteTempDir } from '../support/temp-dir.js';

// `dgx-pixels deploy` as a user runs it: a real process, real files.

const repo = new URL('../..', import.meta.url).pathname;
const cli = join(repo, 'daemon/src/cli.ts');
const tsxLoader = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
const base = suiteTempDir('dgx-cli-');
let assets: string;
let pngFile: string;

async function dgx(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: base };
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', tsxLoader, cli, ...args], {
      cwd: base,
      env,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  assets = join(base, 'game', 'assets');
  mkdirSync(assets, { recursive: true });
  pngFile = join(base, 'knight.png');
  writeFileSync(pngFile, makePng(24, 16, 5));
});

describe('dgx-pixels deploy', () => {
  it('deploys, then reports an unchanged re-deploy, with --json', async () => {
    const dry = await dgx(['deploy', pngFile, '--name', 'knight', '--assets', assets, '--dry-run']);
    expect(dry.stdout).toContain('would deploy knight');
    expect(existsSync(join(assets, 'asset_manifest.json'))).toBe(false);

    const first = await dgx(['deploy', pngFile, '--name', 'knight', '--assets', assets, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      relativePath: 'sprites/knight.png',
      changed: true,
      revision: 1,
      entry: { width: 24, height: 16 },
    });
    const second = await dgx(['deploy', pngFile, '--name', 'knight', '--assets', assets]);
    expect(second.stdout.trim()).toBe(
      `unchanged knight → ${join(assets, 'sprites/knight.png')} (revision 1, 24x16, manifest unchanged)`,
    );
    expect(
      readFileSync(join(base, '.dgx-pixels', 'deploy-log.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
  }, 120_000);

  it.each([
    [
      ['deploy', 'knight.png', '--name', '../x', '--assets', 'game/assets'],
      1,
      'sprite name "../x" rejected: ".." segments are not allowed',
    ],
    [['deploy', 'knight.png'], 2, 'need a PNG file and --name NAME.'],
    [
      ['deploy', 'missing.png', '--name', 'x', '--assets', 'game/assets'],
      1,
      'cannot read missing.png',
    ],
  ])(
    'fails clearly for %j',
    async (args, code, message) => {
      const r = await dgx(args);
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(message);
    },
    120_000,
  );
});
