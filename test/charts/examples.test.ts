import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const read = (p: string) => readFileSync(new URL(`../../examples/${p}`, import.meta.url), 'utf8');

describe('agent examples', () => {
  it('runs the agent as a hardened sidecar that shares the HANA tools', () => {
    const sts = parse(read('agent-sidecar.yaml'), { version: '1.1' });
    expect(sts.kind).toBe('StatefulSet');
    const pod = sts.spec.template.spec;
    const agent = pod.containers.find((c: { name: string }) => c.name === 'hanasr-agent');
    expect(agent.args).toEqual(['agent']);
    expect(agent.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const volumes = pod.volumes.map((v: { name: string }) => v.name);
    for (const m of agent.volumeMounts) expect(volumes).toContain(m.name);
    expect(agent.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(
      expect.arrayContaining(['/usr/sap', '/hana/shared']),
    );
    for (const [k, v] of Object.entries(sts.spec.selector.matchLabels))
      expect(sts.spec.template.metadata.labels[k]).toBe(v);
  });

  it('keeps agent.env to KEY=value lines without any secret value', () => {
    const lines = read('agent.env')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(line).toMatch(/^HANASR_[A-Z0-9_]+=\S*$/);
      if (/PASSWORD|KEY=|TOKEN|SECRET/.test(line.split('=')[0]!)) expect(line).toMatch(/_FILE=\/|KEY_FILE=/);
    }
    const keys = lines.map((l) => l.split('=')[0]);
    for (const k of ['HANASR_CLUSTER', 'HANASR_SITE', 'HANASR_ETCD_ENDPOINTS']) expect(keys).toContain(k);
  });

  it('has a systemd unit that reads agent.env and restarts the agent', () => {
    const unit = read('hanasr-agent.service');
    expect(unit).toMatch(/^\[Unit\]$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/hanasr\/agent\.env$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/hanasr agent$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});
