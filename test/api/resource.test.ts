import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  ANNOTATION_FENCE,
  ANNOTATION_PLANNED_TAKEOVER,
  ANNOTATION_REGISTER,
  API_VERSION,
  KIND,
  PLURAL,
  SHORT_NAME,
  TAKEOVER_HISTORY_LIMIT,
  ResourceValidationError,
  appendTakeoverHistory,
  conditionTypes,
  findCondition,
  parseHanaSystemReplication,
  parseStatus,
  type TakeoverRecord,
} from '../../src/api/resource.js';

const example = parse(readFileSync(new URL('../../examples/hsr.yaml', import.meta.url), 'utf8'));

const status = {
  observedGeneration: 3,
  currentPrimary: 'A',
  targetPrimary: 'A',
  epoch: 7,
  sites: [
    { name: 'A', role: 'primary', hanaStatus: 'running', landscapeStatus: 'OK', replicationStatus: 'ACTIVE' },
    {
      name: 'B',
      role: 'secondary',
      hanaStatus: 'running',
      landscapeStatus: 'OK',
      replicationMode: 'sync',
      replicationStatus: 'ACTIVE',
      inSync: true,
      lagSeconds: 0.4,
      lagBytes: 4096,
      lastReportTime: '2024-05-01T10:00:00Z',
      fenced: false,
    },
  ],
  lastTakeover: {
    time: '2024-04-30T03:12:00Z',
    from: 'B',
    to: 'A',
    reason: 'PrimaryFailed',
    durationSeconds: 14,
  },
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'ReplicationActive',
      message: 'A is primary, B in sync',
      lastTransitionTime: '2024-05-01T10:00:00Z',
      observedGeneration: 3,
    },
  ],
};

describe('HanaSystemReplication resource', () => {
  it('has the identity and annotation names DBAs use', () => {
    expect(API_VERSION).toBe('hanasr.io/v1alpha1');
    expect([KIND, PLURAL, SHORT_NAME]).toEqual(['HanaSystemReplication', 'hanasystemreplications', 'hsr']);
    expect([ANNOTATION_PLANNED_TAKEOVER, ANNOTATION_FENCE, ANNOTATION_REGISTER]).toEqual([
      'hanasr.io/planned-takeover',
      'hanasr.io/fence',
      'hanasr.io/register',
    ]);
    expect(conditionTypes).toEqual([
      'Ready',
      'ReplicationHealthy',
      'TakeoverInProgress',
      'Fenced',
      'MaintenanceMode',
      'ReplicationLagHigh',
      'LagUnknown',
      'ClockSkew',
      'BackupHealthy',
    ]);
  });

  it('parses the example with a status and fills spec defaults', () => {
    const hsr = parseHanaSystemReplication({
      ...example,
      spec: { ...example.spec, probes: undefined },
      status,
    });
    expect(hsr.metadata.name).toBe('ha1');
    expect(hsr.spec.probes.intervalSeconds).toBe(2);
    expect(hsr.status?.sites?.[1]?.lagSeconds).toBe(0.4);
    expect(findCondition(hsr.status, 'Ready')?.status).toBe('True');
    expect(findCondition(hsr.status, 'Fenced')).toBeUndefined();
  });

  it('names the bad field of a bad resource', () => {
    expect(() => parseHanaSystemReplication({ ...example, kind: 'Pod' })).toThrow(/kind/);
    try {
      parseHanaSystemReplication({
        ...example,
        status: { ...status, sites: [{ name: 'B', role: 'leader' }] },
      });
      expect.unreachable('must throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ResourceValidationError);
      expect((err as ResourceValidationError).issues[0]?.path).toBe('status.sites[0].role');
    }
  });

  it('refuses conditions Kubernetes would refuse', () => {
    const bad = { ...status.conditions[0], reason: 'not camel case' };
    expect(() => parseStatus({ conditions: [bad] })).toThrow(/status.conditions\[0\].reason/);
    expect(() => parseStatus({ conditions: [{ ...status.conditions[0], status: 'Yes' }] })).toThrow(/status/);
    expect(() => parseStatus({ lastTakeover: { ...status.lastTakeover, time: 'yesterday' } })).toThrow(
      /time/,
    );
  });

  it('keeps the takeover history bounded, newest first', () => {
    let history: TakeoverRecord[] | undefined;
    for (let i = 0; i < 25; i++) {
      history = appendTakeoverHistory(history, {
        time: `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`,
        from: i % 2 ? 'A' : 'B',
        to: i % 2 ? 'B' : 'A',
        reason: 'PrimaryFailed',
      });
    }
    expect(history).toHaveLength(TAKEOVER_HISTORY_LIMIT);
    expect(history?.[0]?.time).toBe('2024-05-01T10:24:00Z');
    expect(parseStatus({ takeoverHistory: history }).takeoverHistory).toHaveLength(20);
    expect(() => parseStatus({ takeoverHistory: [...history!, history![0]] })).toThrow(/takeoverHistory/);
  });
});
