import type { CliCommand } from './command.js';

/**
 * Every command, loaded lazily so `dgx-pixels serve` does not pay for sharp or
 * chokidar at start-up. Add one line per command; each module exports `command`.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  doctor: {
    summary: 'Show the resolved config and check every worker, ComfyUI and the assets dir',
    load: async () => (await import('./doctor.js')).command,
  },
};
