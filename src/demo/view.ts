/** The demo's live view: a screen redrawn in place on a TTY, plain lines otherwise. */
import type { ClusterState } from '../coordination/port.js';
import type { Demo, SiteRow, TimelineItem } from './landscape.js';

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

function table(rows: SiteRow[]): string[] {
  const head = ['SITE', 'ROLE', 'HANA', 'REPLICATION', 'SYNC', 'LAG', 'LEADER', 'AGENT'];
  const body = rows.map((r) => [
    r.site,
    r.role,
    r.hana,
    r.replication,
    r.inSync,
    r.lagSeconds === null ? '-' : `${r.lagSeconds.toFixed(1)}s`,
    r.leader ? 'yes' : '',
    r.agent ? 'up' : 'silent',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export function timelineLine(item: TimelineItem): string {
  return `${clock(item.at)}  ${item.site.padEnd(4)} ${item.text}`;
}

/** Two regions: a line per region (its API, kubeconfig, store; active or DR; down). */
export function regionLines(demo: Demo): string[] {
  return (demo.regions ?? []).map((r) => {
    const role = demo.activeRegion?.() === r.region ? 'active' : 'DR';
    const down = demo.regionDown?.(r.region) === true ? ', DOWN' : '';
    return `region ${r.region} (${role}${down}): Kubernetes API ${r.apiUrl}   kubeconfig ${r.kubeconfigPath}   coordination ${r.coordinationDescription}`;
  });
}

export function screen(demo: Demo, state: ClusterState | null, width = 120): string[] {
  const leader = state?.leader ? `${state.leader.site} (epoch ${state.leader.epoch})` : 'none';
  const r = state?.region;
  const record =
    r === undefined
      ? ''
      : r.draining === true
        ? `, region switchover ${r.token?.fromSite ?? '?'} -> ${r.token?.toSite ?? '?'} (to ${r.active}) draining at generation ${r.generation}`
        : `, region ${r.active} active at generation ${r.generation}`;
  const where =
    demo.regions !== undefined
      ? regionLines(demo)
      : [
          `Kubernetes API ${demo.apiUrl}   kubeconfig ${demo.kubeconfigPath}`,
          `coordination ${demo.coordinationDescription}`,
        ];
  const lines = [
    `hanasr demo: HanaSystemReplication ${demo.namespace}/${demo.name}, leader ${state ? leader : 'unknown (store unreachable)'}${record}`,
    ...where,
    `sql ${demo.sql.rw} (read-write, follows ${demo.name}-rw; user ${demo.sql.user}, password in ${demo.sql.passwordFile})`,
    `try: kubectl --kubeconfig ${demo.kubeconfigPath} get hsr -n ${demo.namespace}`,
    `     hanasr status ${demo.name} -n ${demo.namespace} --kubeconfig ${demo.kubeconfigPath}`,
    '',
    ...table(demo.rows(state)),
    '',
    'recent timeline:',
    ...demo.timeline.slice(-14).map((i) => `  ${timelineLine(i)}`),
    '',
    'Ctrl-C stops everything the demo started.',
  ];
  return lines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
}

export interface View {
  /** Prints what is still unprinted (plain mode) and stops redrawing. */
  stop(): void;
}

/** Redraws the screen (TTY) or prints new timeline lines and a periodic summary (pipes, logs). */
export function startView(
  demo: Demo,
  out: NodeJS.WritableStream & { columns?: number },
  tty: boolean,
  intervalMs = 500,
): View {
  let lastSeq = 0;
  let lastSummary = 0;
  let busy = false;
  const printNew = () => {
    for (const item of demo.timeline) {
      if (item.seq <= lastSeq) continue;
      out.write(timelineLine(item) + '\n');
      lastSeq = item.seq;
    }
  };
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const state = await demo.state();
      if (tty) {
        out.write('\x1b[H\x1b[2J' + screen(demo, state, out.columns ?? 120).join('\n') + '\n');
      } else {
        printNew();
        if (Date.now() - lastSummary >= 10_000) {
          lastSummary = Date.now();
          for (const l of [...regionLines(demo), ...table(demo.rows(state))]) out.write(`  | ${l}\n`);
        }
      }
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      printNew();
    },
  };
}
