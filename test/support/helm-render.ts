/**
 * A small renderer for the subset of Helm's Go templates that charts/hanasr uses (no helm binary
 * can be installed here). It follows text/template + sprig semantics for what it supports and
 * throws on anything else, so the chart cannot drift outside the subset unnoticed:
 *
 * - actions `{{ pipeline }}` with `{{-`/`-}}` whitespace trimming and `{{/* comments *\/}}`;
 * - `.Values.a.b`, `.Release.Name/Namespace/Service`, `.Chart.Name/Version/AppVersion`,
 *   `.Files.Get "path"`, `$`, `$var`, `$var := ...`, `$var = ...`;
 * - if / else if / else / end, with / else / end, range (arrays and maps, `$i, $v :=`) / else / end,
 *   define / template / include;
 * - functions: toYaml toJson nindent indent quote squote default required printf trunc trimSuffix
 *   trimPrefix eq ne lt le gt ge not and or empty len replace lower upper int toString fail hasKey.
 *
 * Helm's own behaviours kept: values numbers are float64 (printed by Go's %v: 1e+06), a missing
 * key prints as empty while a field of a missing map is an error, toYaml sorts keys and trims the
 * final newline, values.yaml is YAML 1.1 (yes/no are booleans), user values deep-merge over the
 * chart's (null deletes a key), files starting with `_` are partials, each template's output is
 * split into documents on `---` and empty documents are dropped.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';

export class TemplateError extends Error {
  constructor(
    readonly template: string,
    message: string,
  ) {
    super(`${template}: ${message}`);
    this.name = 'TemplateError';
  }
}

type Value = unknown;
type Dict = Record<string, Value>;

// ---------------------------------------------------------------- lexing

type Token = { kind: 'text'; text: string } | { kind: 'action'; src: string; pos: number };

function lex(src: string, name: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) tokens.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) tokens.push({ kind: 'text', text });
    let end: number;
    const afterSpace = src.slice(start).match(/^\s*/)?.[0].length ?? 0;
    if (src.startsWith('/*', start + afterSpace)) {
      const close = src.indexOf('*/', start + afterSpace + 2);
      if (close < 0) throw new TemplateError(name, 'unclosed comment');
      end = src.indexOf('}}', close + 2);
      const between = src.slice(close + 2, end).trim();
      if (end < 0 || (between !== '' && between !== '-'))
        throw new TemplateError(name, 'comment must end the action');
      if (between === '-') trimNext = true;
      i = end + 2;
      continue;
    }
    end = findClose(src, start, name);
    let body = src.slice(start, end);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    tokens.push({ kind: 'action', src: body.trim(), pos: open });
    i = end + 2;
  }
  return tokens;
}

/** The `}}` closing an action, skipping string literals. */
function findClose(src: string, from: number, name: string): number {
  let i = from;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
    } else if (c === '`') {
      i = src.indexOf('`', i + 1);
      if (i < 0) break;
    } else if (c === '}' && src[i + 1] === '}') {
      return i;
    }
    i++;
  }
  throw new TemplateError(name, 'unclosed action');
}

// ---------------------------------------------------------------- expressions

type Term =
  | { t: 'field'; base: 'dot' | 'root' | 'var'; name?: string; path: string[] }
  | { t: 'lit'; value: Value }
  | { t: 'ident'; name: string }
  | { t: 'paren'; pipe: Pipeline; path: string[] };
type Command = Term[];
interface Pipeline {
  decl?: { names: string[]; assign: boolean };
  cmds: Command[];
}

/** `adj`: the lexeme touches the previous one (`(x).Field` is a field of x, `(x) .Field` is not). */
type Lexeme = { k: 'str' | 'num' | 'word' | 'field' | 'var' | 'punct'; v: string; adj?: boolean };

function lexAction(src: string, name: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out.push({ k: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      out.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (src.startsWith(':=', i)) {
      out.push({ k: 'punct', v: ':=' });
      i += 2;
    } else if ('()|,='.includes(c)) {
      out.push({ k: 'punct', v: c });
      i++;
    } else {
      const m =
        /^(-?[0-9][0-9.eE+-]*|\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|(?:\.[A-Za-z0-9_]+)+|\.|[A-Za-z_][A-Za-z0-9_]*)/.exec(
          src.slice(i),
        );
      if (!m) throw new TemplateError(name, `cannot read "${src.slice(i)}"`);
      const w = m[0];
      if (/^-?[0-9]/.test(w)) out.push({ k: 'num', v: w });
      else if (w.startsWith('$')) out.push({ k: 'var', v: w });
      else if (w.startsWith('.')) out.push({ k: 'field', v: w, adj: i > 0 && src[i - 1] === ')' });
      else out.push({ k: 'word', v: w });
      i += w.length;
    }
  }
  return out;
}

class ExprParser {
  private i = 0;
  constructor(
    private readonly lx: Lexeme[],
    private readonly name: string,
  ) {}

  get done(): boolean {
    return this.i >= this.lx.length;
  }

  pipeline(stopAtParen = false): Pipeline {
    const pipe: Pipeline = { cmds: [] };
    // declarations: $x := / $x = / $i, $v :=
    const save = this.i;
    const names: string[] = [];
    while (this.lx[this.i]?.k === 'var') {
      names.push(this.lx[this.i]!.v);
      this.i++;
      if (this.lx[this.i]?.v === ',') this.i++;
      else break;
    }
    const op = this.lx[this.i];
    if (names.length > 0 && op?.k === 'punct' && (op.v === ':=' || op.v === '=')) {
      pipe.decl = { names, assign: op.v === '=' };
      this.i++;
    } else {
      this.i = save;
    }
    let cmd: Command = [];
    while (!this.done) {
      const lx = this.lx[this.i]!;
      if (lx.k === 'punct' && lx.v === ')') {
        if (!stopAtParen) throw new TemplateError(this.name, 'unexpected )');
        break;
      }
      this.i++;
      if (lx.k === 'punct' && lx.v === '|') {
        if (cmd.length === 0) throw new TemplateError(this.name, 'empty command before |');
        pipe.cmds.push(cmd);
        cmd = [];
        continue;
      }
      cmd.push(this.term(lx));
    }
    if (cmd.length === 0) throw new TemplateError(this.name, 'empty pipeline');
    pipe.cmds.push(cmd);
    return pipe;
  }

  private term(lx: Lexeme): Term {
    switch (lx.k) {
      case 'str':
        return { t: 'lit', value: lx.v };
      case 'num':
        return { t: 'lit', value: Number(lx.v) };
      case 'field':
        return { t: 'field', base: 'dot', path: lx.v === '.' ? [] : lx.v.slice(1).split('.') };
      case 'var': {
        const [head, ...path] = lx.v.split('.');
        return head === '$'
          ? { t: 'field', base: 'root', path }
          : { t: 'field', base: 'var', name: head!, path };
      }
      case 'word':
        if (lx.v === 'true' || lx.v === 'false') return { t: 'lit', value: lx.v === 'true' };
        if (lx.v === 'nil') return { t: 'lit', value: null };
        return { t: 'ident', name: lx.v };
      case 'punct': {
        if (lx.v !== '(') throw new TemplateError(this.name, `unexpected ${lx.v}`);
        const pipe = this.pipeline(true);
        if (this.lx[this.i]?.v !== ')') throw new TemplateError(this.name, 'unclosed (');
        this.i++;
        const next = this.lx[this.i];
        let path: string[] = [];
        if (next?.k === 'field' && next.adj === true && next.v !== '.') {
          path = next.v.slice(1).split('.');
          this.i++;
        }
        return { t: 'paren', pipe, path };
      }
    }
  }
}

function parsePipeline(src: string, name: string): Pipeline {
  const p = new ExprParser(lexAction(src, name), name);
  const pipe = p.pipeline();
  if (!p.done) throw new TemplateError(name, `trailing tokens in "${src}"`);
  return pipe;
}

// ---------------------------------------------------------------- tree

type Node =
  | { n: 'text'; text: string }
  | { n: 'out'; pipe: Pipeline }
  | { n: 'if'; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { n: 'with'; pipe: Pipeline; body: Node[]; otherwise: Node[] }
  | { n: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[] }
  | { n: 'template'; tname: string; pipe?: Pipeline };

const KEYWORD = /^(if|else|end|with|range|define|template|block)\b\s*(.*)$/s;

function parseTemplate(src: string, name: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src, name);
  let i = 0;
  // Parses nodes until one of the stop keywords; returns the nodes and the stop action text.
  const parseList = (stops: string[]): { nodes: Node[]; stop: string; rest: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++]!;
      if (tok.kind === 'text') {
        nodes.push({ n: 'text', text: tok.text });
        continue;
      }
      const m = KEYWORD.exec(tok.src);
      if (!m) {
        nodes.push({ n: 'out', pipe: parsePipeline(tok.src, name) });
        continue;
      }
      const [, kw, rest = ''] = m;
      if (stops.includes(kw!)) return { nodes, stop: kw!, rest };
      switch (kw) {
        case 'if': {
          const branches = [{ cond: parsePipeline(rest, name), body: [] as Node[] }];
          let otherwise: Node[] = [];
          for (;;) {
            const part = parseList(['else', 'end']);
            branches.at(-1)!.body = part.nodes;
            if (part.stop === 'end') break;
            const elseIf = /^if\s+(.*)$/s.exec(part.rest);
            if (elseIf) {
              branches.push({ cond: parsePipeline(elseIf[1]!, name), body: [] });
              continue;
            }
            if (part.rest !== '') throw new TemplateError(name, `unsupported else ${part.rest}`);
            const tail = parseList(['end']);
            otherwise = tail.nodes;
            break;
          }
          nodes.push({ n: 'if', branches, otherwise });
          break;
        }
        case 'with':
        case 'range': {
          const pipe = parsePipeline(rest, name);
          const body = parseList(['else', 'end']);
          let otherwise: Node[] = [];
          if (body.stop === 'else') {
            if (body.rest !== '') throw new TemplateError(name, `unsupported else ${body.rest}`);
            otherwise = parseList(['end']).nodes;
          }
          nodes.push({ n: kw, pipe, body: body.nodes, otherwise });
          break;
        }
        case 'define': {
          const dm = /^"([^"]+)"$/.exec(rest.trim());
          if (!dm) throw new TemplateError(name, `bad define ${rest}`);
          defines.set(dm[1]!, parseList(['end']).nodes);
          break;
        }
        case 'template': {
          const tm = /^"([^"]+)"\s*(.*)$/s.exec(rest.trim());
          if (!tm) throw new TemplateError(name, `bad template ${rest}`);
          const node: Node = { n: 'template', tname: tm[1]! };
          if (tm[2]) node.pipe = parsePipeline(tm[2], name);
          nodes.push(node);
          break;
        }
        default:
          throw new TemplateError(name, `unexpected {{ ${kw} }}`);
      }
    }
    if (stops.length > 0) throw new TemplateError(name, `missing {{ end }} (wanted ${stops.join('/')})`);
    return { nodes, stop: '', rest: '' };
  };
  return parseList([]).nodes;
}

// ---------------------------------------------------------------- evaluation

function isDict(v: Value): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go template truth: false, 0, nil, empty string, empty array or map are false. */
export function truthy(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

/**
 * Go's %v for a float64 (Helm values' numbers are float64): strconv's shortest %g, which switches
 * to exponent form below 1e-4 and from 1e6 on (the reason Helm prints 1000000 as 1e+06).
 */
export function formatGoNumber(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  if (v === 0) return '0';
  const [mantissa, expPart] = v.toExponential().split('e');
  const exp = Number(expPart);
  if (exp < -4 || exp >= 6) {
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(v);
}

export function printValue(v: Value): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatGoNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isDict(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** sprig's toYaml: sigs.k8s.io/yaml output (sorted keys, unindented sequences), final newline trimmed. */
export function toYaml(v: Value): string {
  if (v === undefined) return 'null';
  return stringify(v, { version: '1.1', sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(
    /\n$/,
    '',
  );
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => `\\u${hex}`);
}

function printf(name: string, format: string, args: Value[]): string {
  let n = 0;
  return format.replace(/%([-+ #0]*\d*(?:\.\d+)?)([sdvqf%])/g, (_, flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (flags) throw new TemplateError(name, `printf flags %${flags}${verb} are outside the subset`);
    const arg = args[n++];
    switch (verb) {
      case 'q':
        return goQuote(printValue(arg));
      case 'd':
        if (typeof arg !== 'number') return `%!d(${typeof arg}=${printValue(arg)})`;
        return String(Math.trunc(arg));
      default:
        return printValue(arg);
    }
  });
}

function goEq(name: string, a: Value, b: Value): boolean {
  const kind = (v: Value) => (v === null || v === undefined ? 'nil' : typeof v);
  if (kind(a) !== kind(b) && kind(a) !== 'nil' && kind(b) !== 'nil') {
    throw new TemplateError(name, `incompatible types for comparison: ${kind(a)} and ${kind(b)}`);
  }
  if (typeof a === 'object' && a !== null) throw new TemplateError(name, 'eq on a map or slice');
  return a === b || (kind(a) === 'nil' && kind(b) === 'nil');
}

interface Scope {
  vars: Map<string, Value>;
  parent?: Scope;
}

function lookupVar(scope: Scope, name: string): Scope | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s;
  return undefined;
}

export interface RenderContext {
  Values: Dict;
  Release: Dict;
  Chart: Dict;
  Files: { Get: (path: string) => string };
  Capabilities?: Dict;
  Template?: Dict;
}

class Evaluator {
  constructor(
    private readonly defines: Map<string, Node[]>,
    private name: string,
  ) {}

  renderNodes(nodes: Node[], dot: Value, scope: Scope): string {
    let out = '';
    for (const node of nodes) out += this.renderNode(node, dot, scope);
    return out;
  }

  renderNamed(tname: string, dot: Value): string {
    const body = this.defines.get(tname);
    if (!body) throw new TemplateError(this.name, `no template "${tname}"`);
    return this.renderNodes(body, dot, { vars: new Map([['$', dot]]) });
  }

  private renderNode(node: Node, dot: Value, scope: Scope): string {
    switch (node.n) {
      case 'text':
        return node.text;
      case 'out': {
        const v = this.pipeline(node.pipe, dot, scope);
        return node.pipe.decl ? '' : printValue(v);
      }
      case 'if': {
        for (const b of node.branches) {
          const inner = { vars: new Map(), parent: scope };
          if (truthy(this.pipeline(b.cond, dot, inner))) return this.renderNodes(b.body, dot, inner);
        }
        return this.renderNodes(node.otherwise, dot, { vars: new Map(), parent: scope });
      }
      case 'with': {
        const inner = { vars: new Map(), parent: scope };
        const v = this.pipeline(node.pipe, dot, inner);
        return truthy(v)
          ? this.renderNodes(node.body, v, inner)
          : this.renderNodes(node.otherwise, dot, { vars: new Map(), parent: scope });
      }
      case 'range': {
        const decl = node.pipe.decl;
        const pipe: Pipeline = { cmds: node.pipe.cmds };
        const v = this.pipeline(pipe, dot, scope);
        const entries: [Value, Value][] = Array.isArray(v)
          ? v.map((item, i) => [i, item])
          : isDict(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, v[k]])
            : v === null || v === undefined
              ? []
              : (() => {
                  throw new TemplateError(this.name, `range can't iterate over ${printValue(v)}`);
                })();
        if (entries.length === 0)
          return this.renderNodes(node.otherwise, dot, { vars: new Map(), parent: scope });
        let out = '';
        for (const [key, item] of entries) {
          const inner: Scope = { vars: new Map(), parent: scope };
          if (decl) {
            if (decl.names.length === 1) inner.vars.set(decl.names[0]!, item);
            else {
              inner.vars.set(decl.names[0]!, key);
              inner.vars.set(decl.names[1]!, item);
            }
          }
          out += this.renderNodes(node.body, item, inner);
        }
        return out;
      }
      case 'template':
        return this.renderNamed(node.tname, node.pipe ? this.pipeline(node.pipe, dot, scope) : null);
    }
  }

  pipeline(pipe: Pipeline, dot: Value, scope: Scope): Value {
    let value: Value = undefined;
    let piped = false;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, dot, scope, piped ? [value] : []);
      piped = true;
    }
    if (pipe.decl) {
      const target = pipe.decl.names.at(-1)!;
      if (pipe.decl.assign) {
        const owner = lookupVar(scope, target);
        if (!owner) throw new TemplateError(this.name, `undefined variable ${target}`);
        owner.vars.set(target, value);
      } else {
        scope.vars.set(target, value);
      }
    }
    return value;
  }

  private command(cmd: Command, dot: Value, scope: Scope, piped: Value[]): Value {
    const [head, ...rest] = cmd;
    if (head === undefined) throw new TemplateError(this.name, 'empty command');
    if (head.t === 'ident') return this.call(head.name, rest, dot, scope, piped);
    if (head.t === 'field' && rest.length + piped.length > 0) {
      // a method call such as .Files.Get "path"
      const fn = this.term(head, dot, scope);
      if (typeof fn !== 'function')
        throw new TemplateError(this.name, `${head.path.join('.')} is not a method`);
      return (fn as (...a: Value[]) => Value)(...rest.map((t) => this.term(t, dot, scope)), ...piped);
    }
    if (rest.length + piped.length > 0) throw new TemplateError(this.name, 'only functions take arguments');
    return this.term(head, dot, scope);
  }

  private term(term: Term, dot: Value, scope: Scope): Value {
    switch (term.t) {
      case 'lit':
        return term.value;
      case 'ident':
        return this.call(term.name, [], dot, scope, []);
      case 'paren':
        return this.fields(this.pipeline(term.pipe, dot, scope), term.path, '(...)');
      case 'field': {
        let base: Value;
        if (term.base === 'dot') base = dot;
        else {
          const key = term.base === 'root' ? '$' : term.name!;
          const owner = lookupVar(scope, key);
          if (!owner) throw new TemplateError(this.name, `undefined variable ${key}`);
          base = owner.vars.get(key);
        }
        return this.fields(base, term.path, term.base === 'dot' ? '' : (term.name ?? '$'));
      }
    }
  }

  private fields(base: Value, path: string[], label: string): Value {
    let v = base;
    let walked = label;
    for (const key of path) {
      if (v === null || v === undefined) {
        throw new TemplateError(
          this.name,
          `nil pointer evaluating interface {}.${key} (at ${walked || '.'})`,
        );
      }
      if (!isDict(v)) throw new TemplateError(this.name, `can't evaluate field ${key} in ${typeof v}`);
      v = Object.prototype.hasOwnProperty.call(v, key) ? v[key] : null;
      walked += `.${key}`;
    }
    return v;
  }

  private call(fn: string, argTerms: Term[], dot: Value, scope: Scope, piped: Value[]): Value {
    const lazy = fn === 'and' || fn === 'or';
    if (lazy) {
      const thunks = [...argTerms.map((t) => () => this.term(t, dot, scope)), ...piped.map((p) => () => p)];
      let last: Value = undefined;
      for (const thunk of thunks) {
        last = thunk();
        if (fn === 'and' ? !truthy(last) : truthy(last)) return last;
      }
      return last;
    }
    const args = [...argTerms.map((t) => this.term(t, dot, scope)), ...piped];
    const str = (v: Value) => printValue(v);
    const need = (n: number) => {
      if (args.length !== n)
        throw new TemplateError(this.name, `${fn} wants ${n} arguments, got ${args.length}`);
    };
    switch (fn) {
      case 'include':
        need(2);
        return this.renderNamed(str(args[0]), args[1]);
      case 'toYaml':
        need(1);
        return toYaml(args[0]);
      case 'toJson':
        need(1);
        return JSON.stringify(args[0] ?? null);
      case 'indent':
      case 'nindent': {
        need(2);
        const pad = ' '.repeat(Number(args[0]));
        const body = pad + str(args[1]).replace(/\n/g, `\n${pad}`);
        return fn === 'nindent' ? `\n${body}` : body;
      }
      case 'quote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => goQuote(str(a)))
          .join(' ');
      case 'squote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => `'${str(a)}'`)
          .join(' ');
      case 'default':
        need(2);
        return truthy(args[1]) ? args[1] : args[0];
      case 'required':
        need(2);
        if (args[1] === null || args[1] === undefined || args[1] === '')
          throw new TemplateError(this.name, str(args[0]));
        return args[1];
      case 'fail':
        need(1);
        throw new TemplateError(this.name, str(args[0]));
      case 'printf':
        return printf(this.name, str(args[0]), args.slice(1));
      case 'trunc': {
        need(2);
        const n = Number(args[0]);
        const s = str(args[1]);
        if (n < 0 && s.length + n > 0) return s.slice(s.length + n);
        if (n >= 0 && s.length > n) return s.slice(0, n);
        return s;
      }
      case 'trimSuffix':
        need(2);
        return str(args[1]).endsWith(str(args[0])) && str(args[0]) !== ''
          ? str(args[1]).slice(0, -str(args[0]).length)
          : str(args[1]);
      case 'trimPrefix':
        need(2);
        return str(args[1]).startsWith(str(args[0])) ? str(args[1]).slice(str(args[0]).length) : str(args[1]);
      case 'replace':
        need(3);
        return str(args[2]).split(str(args[0])).join(str(args[1]));
      case 'lower':
        need(1);
        return str(args[0]).toLowerCase();
      case 'upper':
        need(1);
        return str(args[0]).toUpperCase();
      case 'toString':
        need(1);
        return str(args[0]);
      case 'int':
        need(1);
        return Math.trunc(Number(args[0] ?? 0));
      case 'eq':
        if (args.length < 2) throw new TemplateError(this.name, 'eq wants at least 2 arguments');
        return args.slice(1).some((b) => goEq(this.name, args[0], b));
      case 'ne':
        need(2);
        return !goEq(this.name, args[0], args[1]);
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge': {
        need(2);
        const [a, b] = args as [number, number];
        if (typeof a !== typeof b) throw new TemplateError(this.name, `incompatible types for comparison`);
        return fn === 'lt' ? a < b : fn === 'le' ? a <= b : fn === 'gt' ? a > b : a >= b;
      }
      case 'not':
        need(1);
        return !truthy(args[0]);
      case 'empty':
        need(1);
        return !truthy(args[0]);
      case 'len': {
        need(1);
        const v = args[0];
        if (typeof v === 'string' || Array.isArray(v)) return v.length;
        if (isDict(v)) return Object.keys(v).length;
        throw new TemplateError(this.name, `len of ${typeof v}`);
      }
      case 'hasKey':
        need(2);
        return isDict(args[0]) && Object.prototype.hasOwnProperty.call(args[0], str(args[1]));
      default:
        throw new TemplateError(this.name, `function "${fn}" is outside the supported subset`);
    }
  }
}

// ---------------------------------------------------------------- charts

/** Helm's value coalescing: user values deep-merge over the chart's; null deletes a key. */
export function mergeValues(base: Dict, override: Dict): Dict {
  const out: Dict = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isDict(value) && isDict(out[key])) out[key] = mergeValues(out[key] as Dict, value);
    else out[key] = value;
  }
  return out;
}

export interface RenderOptions {
  values?: Dict;
  release?: { name?: string; namespace?: string; isInstall?: boolean };
}

export interface RenderedManifest {
  /** Template path relative to the chart, e.g. templates/deployment.yaml. */
  template: string;
  content: string;
}

export interface RenderedChart {
  values: Dict;
  manifests: RenderedManifest[];
  /** Every non-empty YAML document, parsed, with the template it came from. */
  documents: { template: string; object: Dict }[];
  notes: string;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const full = join(dir, entry);
      return statSync(full).isDirectory() ? listFiles(full) : [full];
    });
}

/** Splits a rendered template into YAML documents like Helm's releaseutil.SplitManifests. */
export function splitManifests(content: string): string[] {
  return content
    .split(/(?:^|\s*\n)---\s*/)
    .map((doc) => doc.trim())
    .filter((doc) => doc !== '' && !/^(#[^\n]*\n?)*$/.test(doc));
}

export function readChartValues(chartDir: string): Dict {
  return (parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8'), { version: '1.1' }) ?? {}) as Dict;
}

/** Renders charts/<chart> as `helm template` would, for the supported subset. */
export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedChart {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Dict;
  const values = mergeValues(readChartValues(chartDir), options.values ?? {});
  const templatesDir = join(chartDir, 'templates');
  const files = listFiles(templatesDir).map((full) => ({
    full,
    rel: relative(chartDir, full).split('\\').join('/'),
  }));
  const defines = new Map<string, Node[]>();
  const parsed = files.map((f) => ({
    ...f,
    nodes: parseTemplate(readFileSync(f.full, 'utf8'), f.rel, defines),
  }));
  const context: RenderContext = {
    Values: values,
    Release: {
      Name: options.release?.name ?? 'hanasr',
      Namespace: options.release?.namespace ?? 'hanasr-system',
      Service: 'Helm',
      IsInstall: options.release?.isInstall ?? true,
      IsUpgrade: !(options.release?.isInstall ?? true),
    },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Files: {
      Get: (path: string) => {
        if (path.startsWith('templates/')) return '';
        try {
          return readFileSync(join(chartDir, path), 'utf8');
        } catch {
          return '';
        }
      },
    },
  };
  const manifests: RenderedManifest[] = [];
  let notes = '';
  for (const file of parsed) {
    const base = file.rel.split('/').at(-1)!;
    if (base.startsWith('_')) continue;
    const evaluator = new Evaluator(defines, file.rel);
    const content = evaluator
      .renderNodes(
        file.nodes,
        { ...context, Template: { Name: file.rel } },
        {
          vars: new Map([['$', { ...context, Template: { Name: file.rel } }]]),
        },
      )
      .replaceAll('<no value>', '');
    if (base === 'NOTES.txt') notes = content;
    else manifests.push({ template: file.rel, content });
  }
  const documents: { template: string; object: Dict }[] = [];
  for (const m of manifests) {
    for (const doc of splitManifests(m.content)) {
      const [parsedDoc, ...extra] = parseAllDocuments(doc, { version: '1.1' });
      if (!parsedDoc || extra.length > 0) throw new TemplateError(m.template, 'document split failed');
      if (parsedDoc.errors.length > 0) {
        throw new TemplateError(m.template, `invalid YAML: ${parsedDoc.errors[0]!.message}\n${doc}`);
      }
      const object = parsedDoc.toJS() as unknown;
      if (object === null || object === undefined) continue;
      if (!isDict(object)) throw new TemplateError(m.template, 'a document is not a mapping');
      documents.push({ template: m.template, object });
    }
  }
  return { values, manifests, documents, notes };
}

/** Renders one template string against a context (for tests of the renderer itself). */
export function renderString(src: string, data: Value, partials = ''): string {
  const defines = new Map<string, Node[]>();
  if (partials) parseTemplate(partials, '_helpers.tpl', defines);
  const nodes = parseTemplate(src, 'inline', defines);
  return new Evaluator(defines, 'inline')
    .renderNodes(nodes, data, { vars: new Map([['$', data]]) })
    .replaceAll('<no value>', '');
}
