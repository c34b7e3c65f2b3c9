/** The agent host's fencing configuration: where fence agents live and their credentials. */
import { describe, expect, it } from 'vitest';
import { AgentConfigError, loadAgentConfig } from '../../src/agent/config.js';

const BASE = {
  HANASR_NAMESPACE: 'hana',
  HANASR_CLUSTER: 'ha1',
  HANASR_SITE: 'A',
  HANASR_ETCD_ENDPOINTS: 'http://127.0.0.1:2379',
};

function problems(argv: string[], env: NodeJS.ProcessEnv): string[] {
  try {
    loadAgentConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(AgentConfigError);
    return [...(err as AgentConfigError).problems];
  }
  return [];
}

describe('agent fencing configuration', () => {
  it('defaults to /usr/sbin and no credentials', () => {
    expect(loadAgentConfig([], BASE).fencing).toEqual({ agentDir: '/usr/sbin' });
  });

  it('takes the directory and a credentials file or a mounted Secret, by flag or variable', () => {
    expect(
      loadAgentConfig(
        ['--fence-agent-dir', '/opt/fence', '--fence-credentials-file', '/etc/hanasr/fence.cred'],
        BASE,
      ).fencing,
    ).toEqual({ agentDir: '/opt/fence', credentials: { kind: 'file', path: '/etc/hanasr/fence.cred' } });
    expect(
      loadAgentConfig([], { ...BASE, HANASR_FENCE_CREDENTIALS_DIR: '/var/run/secrets/fence' }).fencing,
    ).toEqual({
      agentDir: '/usr/sbin',
      credentials: { kind: 'secret', dir: '/var/run/secrets/fence' },
    });
  });

  it('refuses two credential sources and a relative agent directory', () => {
    expect(
      problems(['--fence-credentials-file', '/a'], { ...BASE, HANASR_FENCE_CREDENTIALS_DIR: '/b' }).join(),
    ).toMatch(/fence credentials: give one of/);
    expect(problems(['--fence-agent-dir', 'sbin'], BASE).join()).toMatch(
      /fenceAgentDir \(--fence-agent-dir \/ HANASR_FENCE_AGENT_DIR\): must be an absolute path/,
    );
  });
});
