import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { DeployResult, SpriteService } from '../service/index.js';

export const MANIFEST_URI = 'sprites://manifest';

interface ManifestLike {
  sprites?: { name: string; path: string; width?: number; height?: number; kind?: string }[];
}

function readError(uri: string, err: unknown): McpError {
  return new McpError(ErrorCode.InvalidParams, `cannot read ${uri}: ${errorMessage(err)}`);
}

/**
 * sprites://manifest (the assets manifest as JSON) and sprites://{name} (a
 * deployed PNG), with list-changed and resources/updated after each deploy.
 * McpServer declares only listChanged, so subscribe is declared and handled
 * here. Returns a function that detaches from the service.
 */
export function installResources(
  server: McpServer,
  service: SpriteService,
  logger: Logger,
): () => void {
  server.registerResource(
    'manifest',
    MANIFEST_URI,
    {
      title: 'Sprite manifest',
      description:
        "The Bevy project's asset_manifest.json: every deployed sprite with its path, size and recipe",
      mimeType: 'application/json',
    },
    async (uri) => {
      try {
        const manifest = await service.readManifest();
        return {
          contents: [
            {
              uri: uri.href,
              mimeType: 'application/json',
              text: JSON.stringify(manifest, null, 2),
            },
          ],
        };
      } catch (err) {
        throw readError(uri.href, err);
      }
    },
  );
  server.registerResource(
    'sprite',
    new ResourceTemplate('sprites://{+name}', {
      list: async () => {
        let manifest: ManifestLike;
        try {
          manifest = (await service.readManifest()) as ManifestLike;
        } catch {
          return { resources: [] }; // no assets root configured yet: nothing deployed to list
        }
        return {
          resources: (manifest.sprites ?? []).map((s) => ({
            uri: `sprites://${s.name}`,
            name: s.name,
            mimeType: 'image/png',
            description: `${s.kind ?? 'sprite'} ${s.width ?? '?'}×${s.height ?? '?'} at ${s.path}`,
          })),
        };
      },
    }),
    {
      title: 'Deployed sprite',
      description: 'A deployed sprite PNG by its manifest name',
      mimeType: 'image/png',
    },
    async (uri, variables) => {
      const name = String(variables.name);
      try {
        const { png } = await service.readDeployedSprite(decodeURIComponent(name));
        return {
          contents: [{ uri: uri.href, mimeType: 'image/png', blob: png.toString('base64') }],
        };
      } catch (err) {
        throw readError(uri.href, err);
      }
    },
  );

  const subscribed = new Set<string>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });

  return service.onDeployed((result: DeployResult) => {
    if (!server.isConnected()) return;
    const notify = async () => {
      server.sendResourceListChanged();
      for (const uri of [MANIFEST_URI, `sprites://${result.name}`]) {
        if (subscribed.has(uri)) await server.server.sendResourceUpdated({ uri });
      }
    };
    notify().catch((err: unknown) =>
      logger.debug({ err: errorMessage(err) }, 'resource notification not sent'),
    );
  });
}
