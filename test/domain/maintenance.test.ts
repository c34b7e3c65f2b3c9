/**
 * Maintenance: observe and report, never act. Every observation of every rule table is decided
 * again with maintenance on: the answer is always `none`, the reason says maintenance (or keeps
 * the observing reason when nothing would have been done), and the message still tells what the
 * engine would have done.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import { T } from '../support/observations.js';
import { allCases } from './cases.js';

describe('maintenance: every table observation yields action none', () => {
  it('covers a meaningful number of observations', () => {
    expect(allCases.length).toBeGreaterThan(80);
    expect(allCases.filter((c) => c.kind !== 'none').length).toBeGreaterThan(30);
  });

  it.each(allCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const s = { ...c.spec, maintenance: true };
    const d = decide(c.obs, s, c.now ?? T);
    const active = decide(c.obs, c.spec, c.now ?? T);
    expect(d.action).toEqual({ kind: 'none' });
    if (c.kind === 'none') {
      expect(d.reason).toBe(c.reason);
      expect(d.message).toBe(`maintenance mode: ${active.message}`);
    } else {
      expect(d.reason).toBe('maintenance_mode');
      expect(d.message).toContain('observing only');
      expect(d.message).toContain(`would have: ${active.message}`);
    }
  });
});
