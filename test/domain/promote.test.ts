/**
 * Holding the key, a secondary promotes itself. While another site still takes writes, a plain
 * takeover would make two primaries: it suspends that site (handshake) or waits for it to fence.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/domain/decide.js';
import {
  downHealth,
  EPOCH,
  held,
  local,
  observation,
  peerWritablePrimary,
  primaryHealth,
  report,
  secondaryHealth,
  spec,
  T,
  unreachable,
} from '../support/observations.js';

const bHoldsKey = (peerA = unreachable, handoverTo?: string) =>
  observation({
    self: 'B',
    local: local(secondaryHealth('A')),
    leader: held('B', true),
    peers: { A: peerA },
    ...(handoverTo !== undefined ? { handoverTo } : {}),
  });

describe('promotion after winning the key', () => {
  it('old primary gone: a plain takeover', () => {
    const d = decide(bHoldsKey(), spec(), T);
    expect(d.action).toEqual({ kind: 'promote', epoch: EPOCH, handshake: false });
    expect(d.reason).toBe('promote_after_acquiring_leader');
  });

  it('old primary still writable (a retried promotion): with --suspendPrimary', () => {
    const d = decide(bHoldsKey(peerWritablePrimary), spec(), T);
    expect(d.action).toEqual({ kind: 'promote', epoch: EPOCH, handshake: true });
  });

  it('old primary still writable and handshake off: waits for it to fence itself', () => {
    const d = decide(bHoldsKey(peerWritablePrimary), spec({ takeover: { handshake: false } }), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('waiting_for_old_primary_to_stop');
    expect(d.message).toMatch(/A answers as a writable primary: waiting for it to fence itself/);
  });

  it('old primary silent while its agent is alive and has not confirmed a stop: with --suspendPrimary', () => {
    const obs = { ...bHoldsKey(), reports: { A: report('A', primaryHealth([])) } };
    const d = decide(obs, spec(), T);
    expect(d.action).toEqual({ kind: 'promote', epoch: EPOCH, handshake: true });
  });

  it('the same with the handshake off: waits (unknown may still write)', () => {
    const obs = { ...bHoldsKey(), reports: { A: report('A', downHealth()) } };
    const d = decide(obs, spec({ takeover: { handshake: false } }), T);
    expect(d.action.kind).toBe('none');
    expect(d.reason).toBe('waiting_for_old_primary_to_stop');
    expect(d.message).toMatch(/agent is alive without confirming it stopped/);
  });

  it('old primary silent, its agent confirmed it stopped (fenced): a plain takeover', () => {
    const obs = { ...bHoldsKey(), reports: { A: report('A', downHealth(), { fenced: true }) } };
    const d = decide(obs, spec(), T);
    expect(d.action).toEqual({ kind: 'promote', epoch: EPOCH, handshake: false });
  });

  it('planned handover to this site: with --suspendPrimary', () => {
    const d = decide(bHoldsKey(unreachable, 'B'), spec(), T);
    expect(d.action).toEqual({ kind: 'promote', epoch: EPOCH, handshake: true });
  });
});
