import type { CliCommand } from './command.js';

/**
 * Every command, loaded lazily so `dgx-pixels serve` does not pay for sharp or
 * chokidar at start-up. Add one line per command; each module exports `command`.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
};
