import type { CliCommand } from './command.js';

/**
 * Every command, loaded lazily so `dgx-pixels serve` does not pay for sharp or
 * chokidar at start-up. Add one line per command; each module exports `command`.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  worker: {
    summary: 'run the embedded DGX worker (procedural sprites offline, or drive ComfyUI)',
    load: async () => (await import('./worker.js')).command,
  },
  serve: {
    summary: 'serve MCP over stdio (default) or Streamable HTTP (--http)',
    load: async () => (await import('./serve.js')).command,
  },
  doctor: {
    summary: 'show the resolved config and check workers, ComfyUI and the assets directory',
    load: async () => (await import('./doctor.js')).command,
  },
  demo: {
    summary: 'generate → post-process → deploy one sprite end to end (embedded worker, no GPU)',
    load: async () => (await import('./demo.js')).command,
  },
  deploy: {
    summary: 'deploy a PNG into the Bevy assets folder and asset_manifest.json (atomic, locked)',
    load: async () => (await import('./deploy.js')).command,
  },
  edit: {
    summary:
      'repaint a region of a deployed sprite from a prompt (a new revision; the rest byte for byte)',
    load: async () => (await import('./edit.js')).command,
  },
  rebuild: {
    summary: 'make the Bevy assets match sprites.yaml, redoing only what changed',
    load: async () => (await import('./rebuild.js')).command,
  },
  watch: {
    summary: 'rebuild sprites on every change of sprites.yaml (debounced; survives bad edits)',
    load: async () => (await import('./watch.js')).command,
  },
  keys: {
    summary: 'create CURVE key pairs for an encrypted, authenticated link to a remote worker',
    load: async () => (await import('./keys.js')).command,
  },
  process: {
    summary: 'post-process an image into a pixel-art sprite (grid, palette, background, sheets)',
    load: async () => (await import('./process.js')).command,
  },
  palette: {
    summary: "write the game's own palette (colours of the deployed sprites) as .hex or .gpl",
    load: async () => (await import('./palette.js')).command,
  },
};
