import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/src/errors.js';
import { type JobStatus, JobStore } from '../../daemon/src/worker-client/job-store.js';
import type { WorkerJobParams } from '../../daemon/src/worker-client/types.js';
import { tempDir } from '../support/temp-dir.js';

const params: WorkerJobParams = {
  prompt: 'a tree',
  model: 'sdxl',
  size: [512, 512],
  steps: 20,
  cfgScale: 7,
};
/** A fresh state dir, removed after the test. */
function stateDir(): string {
  return tempDir('job-store-');
}
function journalLines(dir: string): string[] {
  return readFileSync(join(dir, 'jobs.jsonl'), 'utf8').split('\n').filter(Boolean);
}

describe('JobStore state machine', () => {
  it.each<[JobStatus[], JobStatus]>([
    [['running'], 'running'],
    [['running', 'completed'], 'completed'],
    [['running', 'failed'], 'failed'],
    [['running', 'cancelled'], 'cancelled'],
    [['completed'], 'completed'],
    [['cancelled'], 'cancelled'],
  ])('allows %j', (path, final) => {
    const store = JobStore.open(undefined);
    store.create('j', params);
    for (const s of path) store.transition('j', s);
    expect(store.get('j')?.status).toBe(final);
  });

  it.each<[JobStatus[], JobStatus, string]>([
    [
      ['completed'],
      'running',
      'job j cannot go from completed to running; allowed: none (it has ended)',
    ],
    [
      ['failed'],
      'completed',
      'job j cannot go from failed to completed; allowed: none (it has ended)',
    ],
    [
      ['cancelled'],
      'queued',
      'job j cannot go from cancelled to queued; allowed: none (it has ended)',
    ],
    [
      ['running'],
      'queued',
      'job j cannot go from running to queued; allowed: completed, failed, cancelled',
    ],
  ])('rejects %j → %s', (path, next, message) => {
    const store = JobStore.open(undefined);
    store.create('j', params);
    for (const s of path) store.transition('j', s);
    expect(() => store.transition('j', next)).toThrow(new DaemonError('VALIDATION', message));
  });

  it('rejects unknown and duplicate ids', () => {
    const store = JobStore.open(undefined);
    expect(() => store.transition('nope', 'running')).toThrow(
      'no job nope in this daemon; list_jobs shows the known ones',
    );
    store.create('j', params);
    expect(() => store.create('j', params)).toThrow('job id j already exists; use a fresh UUID');
  });

  it('keeps progress in memory and lists newest first', () => {
    const store = JobStore.open(undefined);
    store.create('a', params);
    store.create('b', params);
    store.setProgress('a', {
      jobId: 'a',
      state: 'running',
      stage: 'sampling',
      percent: 40,
      step: 8,
      totalSteps: 20,
      etaS: 3,
    });
    expect(store.get('a')?.progress).toEqual({
      stage: 'sampling',
      percent: 40,
      step: 8,
      totalSteps: 20,
      etaS: 3,
    });
    expect(store.list().map((j) => j.jobId)).toEqual(['b', 'a']);
    store.transition('b', 'failed', { error: 'x' });
    expect(store.list({ status: ['failed'] }).map((j) => j.jobId)).toEqual(['b']);
  });
});

describe('JobStore journal', () => {
  it('reloads results after a restart and fails jobs that were in flight', () => {
    const dir = stateDir();
    const store = JobStore.open(dir);
    store.create('done', params);
    store.transition('done', 'running');
    store.transition('done', 'completed', {
      result: { imagePath: '/x/done.png', durationS: 2.5, workerName: 'gpu0' },
    });
    store.create('inflight', params);
    store.transition('inflight', 'running');
    store.close();

    const again = JobStore.open(dir);
    expect(again.get('done')).toMatchObject({
      status: 'completed',
      result: { imagePath: '/x/done.png', durationS: 2.5 },
    });
    expect(again.get('inflight')).toMatchObject({
      status: 'failed',
      error: 'the daemon restarted while this job was in flight; submit it again',
    });
    again.close();
  });

  it('tolerates a torn last line (crash mid-append)', () => {
    const dir = stateDir();
    const store = JobStore.open(dir);
    store.create('a', params);
    store.transition('a', 'cancelled');
    store.close();
    appendFileSync(join(dir, 'jobs.jsonl'), '{"jobId":"b","status":"que');
    const again = JobStore.open(dir);
    expect(again.get('a')?.status).toBe('cancelled');
    expect(again.get('b')).toBeUndefined();
    // the rewrite at open removed the torn line, so the next append is a clean line
    again.create('c', params);
    again.close();
    expect(journalLines(dir).map((l) => JSON.parse(l).jobId)).toEqual(['a', 'c']);
  });

  it('compacts the journal to one line per job when it grows', () => {
    const dir = stateDir();
    const store = JobStore.open(dir, { compactAfterLines: 10 });
    for (let i = 0; i < 4; i++) {
      store.create(`j${i}`, params);
      store.transition(`j${i}`, 'running');
      store.transition(`j${i}`, 'completed', {
        result: { imagePath: `/x/${i}.png`, durationS: 1, workerName: 'w' },
      });
    }
    store.close();
    expect(journalLines(dir).length).toBeLessThan(10);
    const again = JobStore.open(dir);
    expect(again.list().map((j) => j.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    again.close();
  });

  it('drops the oldest ended jobs beyond maxJobs', () => {
    const dir = stateDir();
    const store = JobStore.open(dir, { maxJobs: 2 });
    for (const id of ['a', 'b', 'c']) {
      store.create(id, params);
      store.transition(id, 'failed', { error: 'x' });
    }
    store.close();
    const again = JobStore.open(dir, { maxJobs: 2 });
    expect(again.list().map((j) => j.jobId)).toEqual(['c', 'b']);
    again.close();
  });

  it('skips a corrupt line in the middle', () => {
    const dir = stateDir();
    writeFileSync(
      join(dir, 'jobs.jsonl'),
      `${JSON.stringify({ jobId: 'a', status: 'failed', params, createdAt: 't', updatedAt: 't', error: 'e' })}\nnot json\n[1,2]\n`,
    );
    const store = JobStore.open(dir);
    expect(store.list().map((j) => j.jobId)).toEqual(['a']);
    store.close();
  });
});
