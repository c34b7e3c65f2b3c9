/** What counts as a failed probe, and what as an instance that is still starting. */
import { describe, expect, it } from 'vitest';
import { isStarting } from '../../src/domain/decide.js';
import { primaryIndexserverDown, probeFailed } from '../../src/domain/health.js';
import type { HanaHealth, ProcessColour } from '../../src/domain/types.js';
import { primaryHealth, secondaryHealth } from '../support/observations.js';

const withProcesses = (
  h: HanaHealth,
  processes: Record<string, ProcessColour>,
  over: Partial<HanaHealth> = {},
) => ({
  ...h,
  processes,
  ...over,
});

describe('a failed probe', () => {
  it('a healthy primary is not one', () => {
    const h = withProcesses(primaryHealth(), {
      hdbdaemon: 'GREEN',
      hdbnameserver: 'GREEN',
      hdbindexserver: 'GREEN',
    });
    expect(probeFailed(h)).toBe(false);
  });

  it('a primary whose indexserver is lost or restarting is one, even with the landscape still up', () => {
    for (const colour of ['RED', 'GRAY', 'YELLOW'] as const) {
      const h = withProcesses(primaryHealth(), {
        hdbdaemon: 'GREEN',
        hdbnameserver: 'GREEN',
        hdbindexserver: colour,
      });
      expect(primaryIndexserverDown(h)).toBe(true);
      expect(probeFailed(h)).toBe(true);
    }
  });

  it('a secondary restarting its indexserver is not (no SQL is served there anyway)', () => {
    const h = withProcesses(secondaryHealth('A'), {
      hdbdaemon: 'GREEN',
      hdbnameserver: 'GREEN',
      hdbindexserver: 'YELLOW',
    });
    expect(probeFailed(h)).toBe(false);
  });

  it('an unanswered probe, a stopped instance or landscape 0-1 is one', () => {
    expect(probeFailed({ ...primaryHealth(), probeOk: false })).toBe(true);
    expect(probeFailed({ ...primaryHealth(), running: false })).toBe(true);
    expect(probeFailed({ ...primaryHealth(), landscapeStatus: 1 })).toBe(true);
    expect(probeFailed({ ...primaryHealth(), landscapeStatus: 2 })).toBe(false);
  });
});

describe('an instance that is starting', () => {
  it('daemon or nameserver YELLOW, nothing RED, not running yet', () => {
    const h = withProcesses(
      primaryHealth(),
      { hdbdaemon: 'GREEN', hdbnameserver: 'YELLOW', hdbindexserver: 'GRAY' },
      { running: false },
    );
    expect(isStarting(h)).toBe(true);
  });

  it('only the indexserver coming back after a crash is a failure, not a start', () => {
    const h = withProcesses(
      primaryHealth(),
      { hdbdaemon: 'GREEN', hdbnameserver: 'GREEN', hdbindexserver: 'YELLOW' },
      { running: false },
    );
    expect(isStarting(h)).toBe(false);
  });

  it('anything RED is not a start', () => {
    const h = withProcesses(
      primaryHealth(),
      { hdbdaemon: 'YELLOW', hdbnameserver: 'RED' },
      { running: false },
    );
    expect(isStarting(h)).toBe(false);
  });
});
