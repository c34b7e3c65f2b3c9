import { describe, expect, it } from 'vitest';
import { parseSpec, SpecValidationError, fenceParameterKeyProblem } from '../../src/api/spec.js';

const base = {
  sid: 'HA1',
  instanceNumber: '00',
  sites: [
    { name: 'A', host: 'hana-a' },
    { name: 'B', host: 'hana-b' },
  ],
};

function problems(input: unknown): string[] {
  try {
    parseSpec(input);
  } catch (err) {
    if (err instanceof SpecValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('spec.fencing', () => {
  it('defaults to an automatic watchdog on /dev/watchdog with a 3 s margin and no fence agent', () => {
    const spec = parseSpec(base);
    expect(spec.fencing).toEqual({
      watchdog: { mode: 'automatic', device: '/dev/watchdog', safetyMarginSeconds: 3 },
    });
  });

  it('takes a fence agent with common and per-site options and fills its timeouts', () => {
    const spec = parseSpec({
      ...base,
      fencing: {
        watchdog: { mode: 'required', device: '/dev/watchdog1', resetHungSecondaryAfterSeconds: 120 },
        agent: {
          command: 'fence_ipmilan',
          parameters: { lanplus: '1', login: 'fence' },
          sites: { A: { ip: '10.0.0.11' }, B: { ip: '10.0.0.12', ipport: '623' } },
        },
      },
    });
    expect(spec.fencing.agent).toEqual({
      command: 'fence_ipmilan',
      parameters: { lanplus: '1', login: 'fence' },
      sites: { A: { ip: '10.0.0.11' }, B: { ip: '10.0.0.12', ipport: '623' } },
      timeoutSeconds: 60,
      callTimeoutSeconds: 20,
      statusIntervalSeconds: 1,
    });
    expect(spec.fencing.watchdog.resetHungSecondaryAfterSeconds).toBe(120);
  });

  it('refuses "off" (a YAML 1.1 boolean) and unknown modes; disabled is the way to turn it off', () => {
    expect(problems({ ...base, fencing: { watchdog: { mode: 'off' } } }).join()).toMatch(
      /fencing\.watchdog\.mode/,
    );
    expect(problems({ ...base, fencing: { watchdog: { mode: false } } }).join()).toMatch(
      /fencing\.watchdog\.mode/,
    );
    expect(parseSpec({ ...base, fencing: { watchdog: { mode: 'disabled' } } }).fencing.watchdog.mode).toBe(
      'disabled',
    );
  });

  it('keeps a required watchdog possible: safetyMarginSeconds <= lease.ttlSeconds - 1', () => {
    expect(
      problems({ ...base, fencing: { watchdog: { mode: 'required', safetyMarginSeconds: 10 } } }),
    ).toEqual([
      'fencing.watchdog.safetyMarginSeconds: must leave at least 1 s of lease.ttlSeconds when the watchdog is required: its timeout may be at most lease.ttlSeconds - safetyMarginSeconds',
    ]);
    expect(
      problems({ ...base, fencing: { watchdog: { mode: 'required', safetyMarginSeconds: 9 } } }),
    ).toEqual([]);
    // Automatic: a lease too short for the margin is valid; the watchdog is then reported unusable.
    expect(problems({ ...base, lease: { ttlSeconds: 3 } })).toEqual([]);
    expect(problems({ ...base, fencing: { watchdog: { safetyMarginSeconds: 10 } } })).toEqual([]);
  });

  it('names a fence agent only, never a path, arguments or a shell', () => {
    for (const command of [
      '/usr/sbin/fence_ipmilan',
      'fence_ipmilan --ip=1.2.3.4',
      'sh',
      'fence_x;reboot',
      '../fence_x',
      'fence_',
      'FENCE_IPMILAN',
    ]) {
      expect(problems({ ...base, fencing: { agent: { command } } }).join(), command).toMatch(
        /fencing\.agent\.command: must be a fence agent name/,
      );
    }
  });

  it('refuses options that would run programs, write files or carry credentials', () => {
    const bad = [
      'action',
      'password',
      'passwd',
      'password_script',
      'passwd-script',
      'snmp_priv_passwd',
      'ipmitool_path',
      'sudo-path',
      'ssh_options',
      'debug_file',
      'secret_key',
      'access_key',
      'token',
    ];
    const out = problems({
      ...base,
      fencing: {
        agent: { command: 'fence_aws', parameters: Object.fromEntries(bad.map((k) => [k, 'x'])) },
      },
    });
    expect(out).toHaveLength(bad.length);
    for (const k of bad)
      expect(
        out.some((p) => p.startsWith(`fencing.agent.parameters.${k}:`)),
        k,
      ).toBe(true);
    expect(fenceParameterKeyProblem('plug')).toBeUndefined();
    expect(fenceParameterKeyProblem('status_file')).toBeUndefined();
    expect(fenceParameterKeyProblem('login')).toBeUndefined();
  });

  it('refuses values that would break the stdin protocol and option names it cannot carry', () => {
    const values = problems({
      ...base,
      fencing: {
        agent: { command: 'fence_ipmilan', sites: { A: { ip: '10.0.0.1\naction=on' }, B: { port: 623 } } },
      },
    });
    expect(values).toEqual([
      'fencing.agent.sites.A.ip: must be one line without control characters (at most 1024)',
      'fencing.agent.sites.B.port: must be a string (quote numbers and booleans: "623", "1")',
    ]);
    const keys = problems({
      ...base,
      fencing: { agent: { command: 'fence_ipmilan', sites: { B: { 'ip=x': '1', IP: '2', '': '3' } } } },
    });
    expect(keys).toHaveLength(3);
    for (const k of ['ip=x', 'IP', ''])
      expect(keys.some((p) => p.startsWith(`fencing.agent.sites.B.${k}: option names`))).toBe(true);
  });

  it('knows only the spec’s sites and keeps one call within the whole fence', () => {
    expect(
      problems({
        ...base,
        fencing: {
          agent: { command: 'fence_dummy', sites: { C: {} }, timeoutSeconds: 10, callTimeoutSeconds: 20 },
        },
      }),
    ).toEqual([
      'fencing.agent.sites.C: unknown site "C"',
      'fencing.agent.callTimeoutSeconds: must be at most fencing.agent.timeoutSeconds',
    ]);
  });
});
