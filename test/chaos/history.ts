/**
 * The chaos suite's history, Jepsen-style: every operation of the client workload is recorded
 * when it is invoked and again when it completes, with how it completed:
 * - `ok`: the commit returned (acknowledged: it must survive);
 * - `fail`: it certainly did not commit (no connection, the INSERT failed, or the database
 *   refused the COMMIT with an error);
 * - `info`: the COMMIT was sent and no answer came (committed or not, only the database knows).
 * The nemesis' fault starts and stops go into the same history, so a violation can be read next
 * to the faults around it. Times are wall-clock ms of this (the test's) process only.
 */

export type CompletionType = 'ok' | 'fail' | 'info';

export interface ClientOp {
  readonly index: number;
  /** The client (a logical process of the workload). */
  readonly process: number;
  readonly type: 'invoke' | CompletionType;
  readonly f: 'write';
  /** The row's key: unique per operation. */
  readonly value: string;
  readonly time: number;
  /** The site the -rw Service pointed the connection to (on completions; null: none). */
  readonly site?: string | null;
  readonly error?: string;
}

export interface NemesisOp {
  readonly index: number;
  readonly process: 'nemesis';
  readonly type: 'start' | 'stop';
  /** The fault, e.g. "sigkill agent-A" or "partition operator-1". */
  readonly value: string;
  readonly time: number;
}

export type HistoryOp = ClientOp | NemesisOp;

export class History {
  readonly ops: HistoryOp[] = [];

  invoke(process: number, value: string, time = Date.now()): void {
    this.ops.push({ index: this.ops.length, process, type: 'invoke', f: 'write', value, time });
  }

  complete(
    process: number,
    value: string,
    type: CompletionType,
    details: { readonly site?: string | null; readonly error?: string } = {},
    time = Date.now(),
  ): void {
    this.ops.push({ index: this.ops.length, process, type, f: 'write', value, time, ...details });
  }

  nemesis(type: 'start' | 'stop', value: string, time = Date.now()): void {
    this.ops.push({ index: this.ops.length, process: 'nemesis', type, value, time });
  }
}

/** Every completed client operation with its invocation time. */
export interface CompletedOp {
  readonly process: number;
  readonly value: string;
  readonly type: CompletionType;
  readonly invokedAt: number;
  readonly completedAt: number;
  readonly site: string | null;
}

/** Pairs each completion with its invocation; an invocation never completed counts as `info`. */
export function completedOps(ops: readonly HistoryOp[]): CompletedOp[] {
  const open = new Map<string, ClientOp>();
  const out: CompletedOp[] = [];
  for (const op of ops) {
    if (op.process === 'nemesis') continue;
    const key = `${op.process}/${op.value}`;
    if (op.type === 'invoke') {
      open.set(key, op);
      continue;
    }
    const inv = open.get(key);
    if (!inv) throw new Error(`completion without invocation: ${key} (op ${op.index})`);
    open.delete(key);
    out.push({
      process: op.process,
      value: op.value,
      type: op.type,
      invokedAt: inv.time,
      completedAt: op.time,
      site: op.site ?? null,
    });
  }
  for (const inv of open.values())
    out.push({
      process: inv.process,
      value: inv.value,
      type: 'info',
      invokedAt: inv.time,
      completedAt: Number.POSITIVE_INFINITY,
      site: null,
    });
  return out;
}
