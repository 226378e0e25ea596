import type { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { type CliCommand, failFor, parseCommandArgs } from './command.js';

const USAGE = `Usage: dgx-pixels edit NAME --prompt TEXT [--mask x,y,w,h | --mask-file PNG] [options]

Repaints part of the deployed sprite NAME from a prompt and deploys the result as its next
revision: every pixel outside the mask stays the original's, byte for byte; inside it the
worker's new pixels, post-processed to the sprite's size, palette and anchor. The same
service as the MCP tool edit_sprite. Needs a worker that lists the init_image and mask
capabilities (dgx-pixels worker); single sprites only (sheets and character sets are refused).

Options:
      --prompt TEXT       what the repainted region shows (required)
      --mask x,y,w,h      the region in sprite pixels from the top-left corner
      --mask-file PNG     a mask image instead: white = repaint, black = keep
                          (neither: the whole sprite is redrawn, img2img)
      --strength S        0..1, how much may change inside the mask (default 0.8)
      --seed N            fixed seed for a repeatable edit
      --palette NAME      snap the new pixels to this palette (default: the sprite's colours)
      --no-deploy         write the result to the state dir (or --output) only
      --output FILE       also write the edited sprite here (.png)
      --assets DIR        the Bevy assets folder (else DGX_PIXELS_BEVY_ASSETS or
                          deployment.bevy_assets_base)
      --zmq-endpoint URL  DGX worker REQ endpoint (backend.zmq_endpoint)
      --state-dir DIR     daemon state dir (state_dir)
      --config FILE       config file
      --json              print the result as JSON`;

const OPTIONS = {
  prompt: { type: 'string' },
  mask: { type: 'string' },
  'mask-file': { type: 'string' },
  strength: { type: 'string' },
  seed: { type: 'string' },
  palette: { type: 'string' },
  'no-deploy': { type: 'boolean' },
  output: { type: 'string' },
  assets: { type: 'string' },
  'zmq-endpoint': { type: 'string' },
  'state-dir': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Every bad flag at once, or the parsed numbers. */
function checkFlags(values: Values, name: string | undefined) {
  const bad: string[] = [];
  if (name === undefined)
    bad.push('NAME: give the deployed sprite to edit, e.g. dgx-pixels edit hero …');
  if (values.prompt === undefined || values.prompt.trim().length < 3)
    bad.push(
      '--prompt: say what the repainted region shows, at least 3 characters, e.g. --prompt "red wizard hat"',
    );
  let mask: { x: number; y: number; width: number; height: number } | undefined;
  if (values.mask !== undefined) {
    const parts = values.mask.split(',').map((s) => Number(s.trim()));
    const [x, y, width, height] = parts as [number, number, number, number];
    if (
      parts.length !== 4 ||
      !parts.every(Number.isInteger) ||
      x < 0 ||
      y < 0 ||
      width < 1 ||
      height < 1
    )
      bad.push(
        `--mask: expected x,y,w,h (integers, x, y ≥ 0, w, h ≥ 1, sprite pixels), e.g. --mask 8,0,16,10; got "${values.mask}"`,
      );
    else mask = { x, y, width, height };
  }
  if (values.mask !== undefined && values['mask-file'] !== undefined)
    bad.push('--mask-file: give --mask or --mask-file, not both');
  const strength = values.strength === undefined ? undefined : Number(values.strength);
  if (strength !== undefined && !(strength >= 0 && strength <= 1))
    bad.push(
      `--strength: expected a number from 0 to 1, e.g. --strength 0.8; got "${values.strength}"`,
    );
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 4294967295))
    bad.push(`--seed: expected an integer 0..4294967295; got "${values.seed}"`);
  if (values.output !== undefined && !/\.png$/i.test(values.output))
    bad.push(`--output: must end in .png; got "${values.output}"`);
  return { bad, mask, strength, seed };
}

function defaults(config: Config) {
  const styles = config.validation.allowed_styles;
  const style = styles.includes('pixel_art') ? 'pixel_art' : (styles[0] ?? 'pixel_art');
  const [w, h] = config.generation.default_resolution.split('x').map(Number) as [number, number];
  return { style, resolution: [w, h] as [number, number] };
}

async function run(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(`${s}\n`); // stdout-ok: command output
  const fail = failFor('edit');
  const parsed = parseCommandArgs(argv, OPTIONS, USAGE, fail);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const name = positionals[0];
  const flags = checkFlags(values, name);
  if (flags.bad.length > 0) return fail(`${flags.bad.join('\n')}\n\n${USAGE}`, 2);
  let config: Config;
  try {
    ({ config } = loadConfig({
      configPath: values.config,
      flags: {
        'deployment.bevy_assets_base': ['--assets', values.assets],
        'backend.zmq_endpoint': ['--zmq-endpoint', values['zmq-endpoint']],
        state_dir: ['--state-dir', values['state-dir']],
      },
    }));
  } catch (err) {
    return fail(errorMessage(err), 2);
  }
  const logger = createLogger(config.logging.level === 'warning' ? 'warn' : config.logging.level);
  const { SpriteService } = await import('../service/index.js');
  const service = new SpriteService({ config, logger });
  try {
    const d = defaults(config);
    const started = await service.startEdit({
      name,
      prompt: values.prompt as string,
      mask: flags.mask,
      maskPath: values['mask-file'],
      strength: flags.strength,
      seed: flags.seed,
      deploy: values['no-deploy'] !== true,
      palette: values.palette,
      style: d.style,
      resolution: d.resolution,
      steps: config.generation.default_steps,
      cfgScale: config.generation.default_cfg_scale,
      outputPath: values.output,
    });
    let last = -1;
    const stop = service.onJobProgress(started.jobId, (v) => {
      const pct = Math.floor(v.percent / 10) * 10;
      if (pct !== last && !values.json)
        process.stderr.write(`  ${v.percent.toFixed(0)}% ${v.message}\n`);
      last = pct;
    });
    const view = await service.waitJob(started.jobId, (config.backend.timeout_s + 30) * 1000);
    stop();
    if (view.status !== 'completed') {
      return fail(`${view.error ?? `the edit ended ${view.status}`} (job ${view.jobId})`);
    }
    const dep = view.deployed;
    if (values.json) {
      out(
        JSON.stringify(
          {
            job_id: view.jobId,
            output_path: view.outputPath,
            width: view.width,
            height: view.height,
            deployed_path: dep?.deployedPath ?? null,
            revision: dep?.revision ?? null,
            worker: view.workerName ?? null,
          },
          null,
          2,
        ),
      );
    } else if (dep !== undefined) {
      out(
        `edited ${dep.name} → ${dep.deployedPath} (revision ${dep.revision ?? '?'}, ${view.width}x${view.height})`,
      );
    } else {
      out(`edited ${name} → ${view.outputPath} (${view.width}x${view.height}, not deployed)`);
    }
    return 0;
  } catch (err) {
    return fail(errorMessage(err));
  } finally {
    await service.close();
  }
}

export const command: CliCommand = {
  name: 'edit',
  summary:
    'repaint a region of a deployed sprite from a prompt (a new revision; the rest byte for byte)',
  usage: USAGE,
  run,
};
