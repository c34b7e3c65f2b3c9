/** Multitarget: after a takeover, a secondary still attached to the old primary follows the new one. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import {
  held,
  local,
  observation,
  primaryHealth,
  report,
  secondaryHealth,
  spec,
  T,
  threeSites,
} from '../support/observations.js';

const multitarget = (automatedRegister: boolean) =>
  spec({ sites: threeSites, takeover: { automatedRegister } });

describe('a secondary of the old primary after a takeover (multitarget A->B, A->C; B took over)', () => {
  const cOfA = (over: { bHealthy?: boolean } = {}) =>
    observation({
      self: 'C',
      local: local(secondaryHealth('A')),
      leader: held('B', false),
      reports: over.bHealthy === false ? {} : { B: report('B', primaryHealth()) },
    });

  it('registers online with the new primary when automatedRegister allows', () => {
    const d = decide(cOfA(), multitarget(true), T);
    expect(d.action).toMatchObject({ kind: 'register', primary: 'B', online: true });
    expect(d.reason).toBe('reregister_to_new_source');
    expect(d.message).toMatch(/C still replicates from A: registering it with B/);
  });

  it('waits, saying why, while automatedRegister is off', () => {
    const d = decide(cOfA(), multitarget(false), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('secondary_of_old_source');
    expect(d.message).toMatch(/automatedRegister is off/);
  });

  it('waits while the new primary does not report as a writable primary', () => {
    const d = decide(cOfA({ bHealthy: false }), multitarget(true), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('secondary_of_old_source');
  });

  it('leaves a multitier tier-3 site with its configured source alone', () => {
    const tiered = spec({
      sites: [
        { name: 'A', host: 'hana-a' },
        { name: 'B', host: 'hana-b' },
        { name: 'C', host: 'hana-c', source: 'B' },
      ],
      takeover: { automatedRegister: true },
    });
    const obs = observation({
      self: 'C',
      local: local(secondaryHealth('B')),
      leader: held('B', false),
      reports: { B: report('B', primaryHealth()) },
    });
    expect(decide(obs, tiered, T).reason).toBe('secondary_healthy');
  });

  it('does nothing in maintenance', () => {
    const d = decide(
      cOfA(),
      spec({ sites: threeSites, takeover: { automatedRegister: true }, maintenance: true }),
      T,
    );
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('maintenance_mode');
  });
});
