/**
 * A stand-in for hdbnsutil, sapcontrol, HDBSettings.sh and HDB: forwards its argv to a running HANA
 * simulator (HANASR_SIM_URL, site HANASR_SIM_SITE) and prints the answer with the same exit code,
 * so the real spawn-and-parse path runs against the simulator.
 */
export async function main(tool) {
  const url = process.env.HANASR_SIM_URL;
  const site = process.env.HANASR_SIM_SITE;
  if (!url || !site) {
    process.stderr.write(`${tool}: HANASR_SIM_URL and HANASR_SIM_SITE must be set\n`);
    process.exitCode = 2;
    return;
  }
  const timeoutMs = Number(process.env.HANASR_SIM_TIMEOUT_MS ?? 600000);
  let response;
  try {
    response = await fetch(new URL('/run', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site, argv: [tool, ...process.argv.slice(2)] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    process.stderr.write(
      `${tool}: simulator unreachable: ${err && err.message ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.exitCode !== 'number') {
    process.stderr.write(`${tool}: simulator error: ${body.error ?? response.status}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(body.stdout ?? '');
  process.stderr.write(body.stderr ?? '');
  process.exitCode = body.exitCode;
}
