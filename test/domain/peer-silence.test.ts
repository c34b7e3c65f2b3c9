/**
 * The rule that lets a peer's silence stand in for one more check of it (src/domain/peer-silence.ts):
 * only a whole probe timeout of unanswered checks since its last answer, the latest ended just now.
 */
import { describe, expect, it } from 'vitest';
import { peerSilenceStands, peerSilentMs, SILENT_PEER_FRESH_MS } from '../../src/domain/peer-silence.js';

const T = 3000;

describe('peerSilenceStands', () => {
  const rows: [string, Parameters<typeof peerSilenceStands>[0], number, boolean][] = [
    ['no unanswered check (it answered last)', undefined, 10_000, false],
    ['one check still short of the timeout', { since: 1000, lastEnd: 3999 }, 4000, false],
    ['a whole timeout unanswered, ended just now', { since: 1000, lastEnd: 4000 }, 4000, true],
    [
      'a whole timeout unanswered, ended at the freshness bound',
      { since: 1000, lastEnd: 4000 },
      4000 + SILENT_PEER_FRESH_MS,
      true,
    ],
    [
      'a whole timeout unanswered, ended too long ago',
      { since: 1000, lastEnd: 4000 },
      4001 + SILENT_PEER_FRESH_MS,
      false,
    ],
    ['long silent, the latest check fresh', { since: 0, lastEnd: 20_000 }, 20_200, true],
    ['silent since an answer only 2.9 s back', { since: 17_100, lastEnd: 20_000 }, 20_000, false],
  ];
  for (const [name, quiet, now, stands] of rows)
    it(name, () => {
      const v = peerSilenceStands(quiet, now, T);
      expect(v.stands).toBe(stands);
      expect(v.why.length).toBeGreaterThan(0);
    });
});

describe('peerSilentMs (how long a lost leader has been silent, for the lease rule during its fence)', () => {
  const rows: [string, Parameters<typeof peerSilentMs>[0], number | undefined, number, number | undefined][] =
    [
      ['it answered its latest check: not silent', undefined, 9000, 10_000, undefined],
      [
        'silent since its last answer, not since the first unanswered check',
        { since: 9500, lastEnd: 11_000 },
        9000,
        12_000,
        3000,
      ],
      [
        'never answered since this agent started: from the first unanswered check',
        { since: 4000, lastEnd: 11_000 },
        undefined,
        12_000,
        8000,
      ],
      ['a clock read before the answer counts nothing', { since: 9500, lastEnd: 9600 }, 9000, 8000, 0],
    ];
  for (const [name, quiet, lastAnswer, now, ms] of rows)
    it(name, () => {
      expect(peerSilentMs(quiet, lastAnswer, now)).toBe(ms);
    });
});
