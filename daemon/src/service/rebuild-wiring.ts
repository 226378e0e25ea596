import { resolve } from 'node:path';
import type { ProcessedAsset, RebuildOptions, ReferenceInput } from '../assets/rebuild.js';
import type { ProcessSettings, RecipeGeneration } from '../assets/recipes.js';
import { workerEndpoints } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { DaemonError } from '../errors.js';
import type { SpriteProcessor } from '../sprites/processor.js';
import type { GenerationBackend } from './generation-backend.js';
import { hexList, PROJECT_PALETTE, projectPalette } from './project-palette.js';

/** The GPU and pipeline a rebuild needs. */
export interface RebuildWiring {
  generate: RebuildOptions['generate'];
  process: RebuildOptions['process'];
  pipelineVersion: string;
  concurrency: number;
}

/**
 * THE wiring point between rebuild (assets/, which knows no ZeroMQ or sharp), a
 * worker pool (worker-client/) and the pipeline (sprites/, run on `processor`).
 * The MCP service passes the process's one worker pool and sprite pool; CLI
 * rebuild and watch pass the ones they opened.
 */
export async function createRebuildWiring(
  config: Config,
  pool: GenerationBackend,
  processor: SpriteProcessor,
  assetsRoot: string | undefined = config.deployment.bevy_assets_base,
): Promise<RebuildWiring> {
  const [sprites, conditioning] = await Promise.all([
    import('../sprites/index.js'),
    import('../sprites/conditioning.js'),
  ]);
  const { randomUUID } = await import('node:crypto');
  const g = config.generation;
  // palette: project — the colours of the sprites deployed so far (the recipe's own old one too)
  const projectColours = async (name: string): Promise<string[]> => {
    if (assetsRoot === undefined) {
      throw new DaemonError(
        'VALIDATION',
        `recipe "${name}": palette "project" needs the assets folder; pass --assets DIR or set deployment.bevy_assets_base`,
      );
    }
    return hexList(await projectPalette(config, resolve(assetsRoot)));
  };
  return {
    pipelineVersion: sprites.PIPELINE_VERSION,
    concurrency: Math.max(2, workerEndpoints(config).length),
    async generate(
      p: RecipeGeneration,
      name: string,
      references: ReferenceInput[] = [],
    ): Promise<Buffer> {
      if (p.character !== undefined) {
        const { generateCharacterRaw } = await import('./character-raw.js');
        const layout = sprites.characterLayout(
          p.character.directions,
          p.character.animations,
          p.character.mirror,
        );
        return generateCharacterRaw(pool, {
          layout,
          base: {
            prompt: p.prompt,
            model: p.model ?? g.default_model,
            size: p.resolution,
            steps: p.steps ?? g.default_steps,
            cfgScale: p.cfg_scale ?? g.default_cfg_scale,
            lora: p.lora ?? g.default_lora,
            seed: p.seed,
            negativePrompt: p.negative_prompt,
            style: p.style,
          },
        }).catch((err: unknown) => {
          throw new DaemonError(
            err instanceof DaemonError ? err.code : 'JOB_FAILED',
            `generating character "${name}" failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
      }
      const { done } = pool.submit(
        {
          prompt: p.prompt,
          model: p.model ?? g.default_model,
          size: p.resolution,
          steps: p.steps ?? g.default_steps,
          cfgScale: p.cfg_scale ?? g.default_cfg_scale,
          lora: p.lora ?? g.default_lora,
          seed: p.seed,
          negativePrompt: p.negative_prompt,
          style: p.style,
          animationFrames: p.frames,
          tilesetGrid: p.tileset ? [p.tileset.columns, p.tileset.rows] : undefined,
          // recipe `reference:` (issue 15): sent only to workers that list reference_images
          referenceImages:
            references.length === 0
              ? undefined
              : await Promise.all(
                  references.map(async (r) =>
                    conditioning.toGenerationImage(
                      (await conditioning.spriteTraits(r.png)).image,
                      p.resolution,
                    ),
                  ),
                ),
        },
        { jobId: randomUUID() },
      );
      const outcome = await done;
      if (outcome.status === 'completed') return outcome.image;
      throw new DaemonError(
        outcome.status === 'failed' ? outcome.code : 'JOB_CANCELLED',
        `generating "${name}" ${outcome.status === 'failed' ? `failed: ${outcome.error}` : 'was cancelled'}`,
      );
    },
    async process(
      raw: Buffer,
      s: ProcessSettings,
      name: string,
      references: ReferenceInput[] = [],
    ): Promise<ProcessedAsset> {
      const palette = s.palette === PROJECT_PALETTE ? await projectColours(name) : s.palette;
      const options = {
        ...(s.style ? { style: s.style } : {}),
        ...(s.size ? { logicalSize: s.size } : {}),
        ...(palette ? { palette } : {}),
        ...s.postprocess,
      } as Parameters<typeof sprites.processSprite>[1];
      const first = references[0];
      if (first !== undefined && s.frames === undefined && s.tileset === undefined) {
        // the first reference's size, palette and anchor unless the recipe sets size / palette
        const ref = await conditioning.spriteTraits(first.png);
        const size: [number, number] = s.size ?? [ref.width, ref.height];
        const r = await processor.processSprite(raw, {
          ...options,
          logicalSize: size,
          canvas: size,
          ...(palette === undefined && ref.palette.length > 0
            ? { palette: ref.palette, colours: Math.min(256, ref.palette.length) }
            : {}),
        });
        const anchored =
          size[0] === ref.width && size[1] === ref.height && ref.anchor !== undefined
            ? await conditioning.finishConditioned(r.png, { anchor: ref.anchor })
            : { png: r.png, width: r.width, height: r.height };
        return {
          png: anchored.png,
          width: anchored.width,
          height: anchored.height,
          kind: 'sprite',
          settings: { ...r.settings, reference: references.map((x) => x.name) },
          pipelineVersion: r.pipelineVersion,
        };
      }
      if (s.character !== undefined) {
        const layout = sprites.characterLayout(
          s.character.directions,
          s.character.animations.map((a) => ({
            name: a.name,
            frames: a.frames,
            durationMs: a.duration_ms,
          })),
          s.character.mirror,
        );
        const { logicalSize: _l, canvas: _c, ...rest } = options as Record<string, unknown>;
        const base = name.split('/').pop() ?? name;
        const r = await processor.processCharacterSheet(raw, layout, {
          ...(rest as Parameters<typeof sprites.processCharacterSheet>[2]),
          ...(s.size ? { logicalSize: s.size, frameSize: s.size } : {}),
          name: base,
          imageName: `${base}.png`,
        });
        return {
          png: r.png,
          width: r.width,
          height: r.height,
          kind: 'sheet',
          grid: sprites.manifestGrid(r.grid),
          atlasJson: r.json,
          settings: { ...r.settings },
          pipelineVersion: r.pipelineVersion,
        };
      }
      if (s.frames === undefined && s.tileset === undefined) {
        const r = await processor.processSprite(raw, options);
        const { png, width, height, settings, pipelineVersion } = r;
        return { png, width, height, kind: 'sprite', settings: { ...settings }, pipelineVersion };
      }
      const layout = s.frames
        ? { frames: s.frames }
        : { grid: [s.tileset?.columns ?? 1, s.tileset?.rows ?? 1] as [number, number] };
      const r = await processor.processSheet(raw, layout, {
        ...options,
        name: name.split('/').pop() ?? name,
      });
      return {
        png: r.png,
        width: r.width,
        height: r.height,
        kind: r.kind,
        grid: sprites.manifestGrid(r.grid),
        atlasJson: r.json,
        settings: { ...r.settings },
        pipelineVersion: r.pipelineVersion,
      };
    },
  };
}
