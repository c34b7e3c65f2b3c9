import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import {
  healthRoute,
  heartbeatCheck,
  metricsRoute,
  startHttpServer,
  type RunningHttpServer,
} from '../../src/observability/http.js';

const servers: RunningHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startHttpServer', () => {
  it('serves /metrics, /healthz and /readyz on loopback; 404 elsewhere, 405 for other methods', async () => {
    const metrics = createMetrics(undefined, { version: '9.9.9' });
    metrics.leaderEpoch.set({ namespace: 'hana', cluster: 'ha1' }, 7);
    let ready = false;
    const srv = await startHttpServer({
      port: 0,
      routes: {
        '/metrics': metricsRoute(metrics.registry),
        '/healthz': healthRoute(() => ({ ok: true, message: 'loop alive' })),
        '/readyz': healthRoute(() => ({ ok: ready, message: ready ? 'synced' : 'caches not synced' })),
      },
    });
    servers.push(srv);
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const m = await fetch(`${srv.url}/metrics?x=1`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    const text = await m.text();
    expect(text).toContain('hanasr_leader_epoch{namespace="hana",cluster="ha1"} 7');
    expect(text).toContain('hanasr_build_info{version="9.9.9"');
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${srv.url}/readyz`);
    expect([notReady.status, await notReady.text()]).toEqual([503, 'not ok: caches not synced\n']);
    ready = true;
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    expect((await fetch(`${srv.url}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('a handler that hangs is answered 503 at the request deadline; a throwing one 500', async () => {
    const srv = await startHttpServer({
      port: 0,
      requestTimeoutMs: 100,
      routes: {
        '/readyz': () => new Promise(() => {}),
        '/healthz': () => {
          throw new Error('boom with details');
        },
      },
    });
    servers.push(srv);
    const hung = await fetch(`${srv.url}/readyz`);
    expect(hung.status).toBe(503);
    expect(await hung.text()).toContain('did not answer within 100 ms');
    const thrown = await fetch(`${srv.url}/healthz`);
    expect([thrown.status, await thrown.text()]).toEqual([500, 'Error\n']);
  });

  it('heartbeatCheck: healthy while the last cycle is recent', () => {
    let beat: number | null = null;
    let now = 10_000;
    const check = heartbeatCheck(
      () => beat,
      3000,
      () => now,
    );
    expect(check().ok).toBe(false);
    beat = 9000;
    expect(check()).toEqual({ ok: true, message: 'last cycle 1000 ms ago' });
    now = 13_000;
    expect(check().ok).toBe(false);
  });
});
