import { describe, expect, it } from 'vitest';
import { formatRecord } from '../../daemon/src/mcp/log-format.js';

const SEED_FORMAT = '[%(asctime)s] %(levelname)s - %(name)s - %(message)s';

describe('formatRecord', () => {
  it('writes the seed line format with extra fields as key=value', () => {
    const time = new Date(2026, 10, 25, 18, 4, 5, 7).getTime();
    const line = formatRecord(
      JSON.stringify({
        level: 40,
        time,
        pid: 1,
        msg: 'tool call',
        tool: 'generate_sprite',
        duration_ms: 12,
        error: 'Validation error in prompt: x',
      }),
      SEED_FORMAT,
      'dgx-pixels',
    );
    expect(line).toBe(
      '[2026-11-25 18:04:05,007] WARNING - dgx-pixels - tool call tool=generate_sprite duration_ms=12 error="Validation error in prompt: x"',
    );
  });

  it.each([
    [20, 'DEBUG'],
    [30, 'INFO'],
    [50, 'ERROR'],
    [60, 'CRITICAL'],
  ])('names pino level %i as %s', (level, name) => {
    expect(
      formatRecord(JSON.stringify({ level, time: 0, msg: 'm' }), '%(levelname)s %(message)s', 'n'),
    ).toBe(`${name} m`);
  });
});
