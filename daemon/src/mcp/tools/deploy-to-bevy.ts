import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { spriteNameField } from '../fields.js';
import { defineTool } from '../tool-registry.js';

const DeployResultSchema = z.object({
  status: z.enum(['success', 'error']),
  deployed_path: z.string().nullable().describe('Absolute path of the PNG in the assets folder'),
  manifest_updated: z.boolean(),
  error: z.string().nullable().optional(),
  relative_path: z
    .string()
    .optional()
    .describe('Path relative to the assets root, as Bevy loads it'),
  changed: z.boolean().optional().describe('false when the same bytes were already deployed'),
  revision: z.number().int().nullable().optional(),
  sprite_uri: z.string().optional(),
  manifest_path: z.string().optional(),
});

export function deployToBevyTool(_config: Config) {
  return defineTool({
    name: 'deploy_to_bevy',
    title: 'Deploy a sprite into the Bevy project',
    description:
      "Copy a generated sprite PNG into the Bevy game's assets folder (atomically, under <assets>/sprites/) and add or " +
      'replace its entry in asset_manifest.json, so the running game hot-reloads it. Use it after generate_sprite when ' +
      'you did not pass deploy: true, or to deploy an existing PNG under another name. Re-deploying the same name replaces it.',
    input: z.strictObject({
      sprite_path: z
        .string({ error: 'sprite_path must be a file path' })
        .min(1, { error: 'sprite_path must be a file path' })
        .describe('The PNG to deploy, usually the output_path of generate_sprite'),
      bevy_assets_dir: z
        .string({ error: 'bevy_assets_dir must be a folder path' })
        .min(1, { error: 'bevy_assets_dir must be a folder path' })
        .optional()
        .describe('The Bevy project assets folder (default: deployment.bevy_assets_base)'),
      sprite_name: spriteNameField,
      update_manifest: z
        .boolean({ error: 'update_manifest must be true or false' })
        .default(true)
        .describe('Add/replace the entry in asset_manifest.json'),
    }),
    output: DeployResultSchema,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: false,
    },
    failurePrefix: 'Deploy failed',
    errorShape: { deployed_path: null, manifest_updated: false },
    async run(args, ctx) {
      const result = await ctx.service.deploy({
        spritePath: args.sprite_path,
        assetsDir: args.bevy_assets_dir,
        name: args.sprite_name,
        updateManifest: args.update_manifest,
      });
      return {
        structured: {
          status: 'success' as const,
          deployed_path: result.deployedPath,
          manifest_updated: result.manifestUpdated,
          error: null,
          relative_path: result.relativePath,
          changed: result.changed,
          revision: result.revision ?? null,
          sprite_uri: `sprites://${result.name}`,
          manifest_path: result.manifestPath,
        },
        content: [
          {
            type: 'resource_link' as const,
            uri: `sprites://${result.name}`,
            name: result.name,
            mimeType: 'image/png',
            description: `Deployed to ${result.relativePath}`,
          },
        ],
      };
    },
  });
}
