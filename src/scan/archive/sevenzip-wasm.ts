/**
 * One WebAssembly 7-Zip (npm 7z-wasm, LGPL-2.1, used unmodified) per process, created on first use.
 * Everything it touches lives in its in-memory file system (MEMFS): no real file system is mounted.
 * Its console output is captured per run, stdin is always at end of file (no password prompt
 * can block), and the process exit code it sets on every run is restored.
 *
 * Archives are not copied in: a lazy MEMFS node reads the Blob on demand. Extraction is bounded: a
 * write hook sees every write under the job's folder and keeps, trims or refuses it (ENOSPC).
 */
import type { SevenZipModuleFactory } from '7z-wasm';
import type { Blob } from '../types.ts';

/** The parts of Emscripten's FS used here (7z-wasm's typings omit a few). */
interface EmFS {
  mkdir(path: string): unknown;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  readdir(path: string): string[];
  lstat(path: string): { mode: number; size: number };
  isFile(mode: number): boolean;
  isDir(mode: number): boolean;
  unlink(path: string): void;
  rmdir(path: string): void;
  chdir(path: string): void;
  lookupPath(path: string): { node: EmNode };
  write(stream: EmStream, buffer: Int8Array, offset: number, length: number, position?: number, canOwn?: boolean): number;
  ErrnoError: new (errno: number) => Error;
}
interface EmNode {
  usedBytes: number;
  stream_ops: unknown;
}
interface EmStream {
  path?: string;
  node: EmNode;
  position: number;
}

/**
 * The package is CommonJS: module.exports is the factory, and also its `default`. Loaded on first
 * use only: importing it compiles the WebAssembly (~300 ms), which no command should pay for
 * unless it meets a 7z, bzip2 or xz stream.
 */
let factory: Promise<SevenZipModuleFactory> | undefined;
const SevenZip: SevenZipModuleFactory = (async (options: Parameters<SevenZipModuleFactory>[0]) => {
  factory ??= import('7z-wasm').then((m) => {
    const mod = m as unknown as { default: SevenZipModuleFactory & { default?: SevenZipModuleFactory } };
    return mod.default.default ?? mod.default;
  });
  return (await factory)(options);
}) as SevenZipModuleFactory;

/** Emscripten (WASI) errno values. */
const EIO = 29;
const ENOSPC = 51;
const EPERM = 63;

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The module crashed (abort, out of memory): it has been discarded. */
  crashed?: string;
}

/** Decides about each write under `root`: bytes to keep (0..length), or 'abort' to fail it with ENOSPC. */
export interface WriteGuard {
  root: string;
  onWrite(path: string, length: number, sizeSoFar: number): number | 'abort';
}

export class SevenZipHost {
  readonly #mod: { FS: unknown; callMain(args: string[]): number | void };
  readonly #fs: EmFS;
  #out: string[] = [];
  #err: string[] = [];
  #guard: WriteGuard | undefined;
  #seq = 0;
  broken = false;

  private constructor(mod: { FS: unknown; callMain(args: string[]): number | void }, sink: { out: (s: string) => void; err: (s: string) => void }) {
    this.#mod = mod;
    this.#fs = mod.FS as EmFS;
    sink.out = (s) => this.#out.push(s);
    sink.err = (s) => this.#err.push(s);
    const fs = this.#fs;
    const write = fs.write.bind(fs);
    fs.write = (stream, buffer, offset, length, position, canOwn) => {
      const g = this.#guard;
      const path = stream.path;
      if (!g || typeof path !== 'string' || !path.startsWith(g.root)) return write(stream, buffer, offset, length, position, canOwn);
      const keep = g.onWrite(path, length, stream.node.usedBytes);
      if (keep === 'abort') throw new fs.ErrnoError(ENOSPC);
      if (keep > 0) write(stream, buffer, offset, Math.min(keep, length), position, canOwn);
      return length; // the rest is dropped: 7-Zip goes on, the file keeps its start
    };
  }

  static async create(): Promise<SevenZipHost> {
    const sink = { out: (_s: string): void => {}, err: (_s: string): void => {} };
    const mod = await SevenZip({ print: (s: string) => sink.out(s), printErr: (s: string) => sink.err(s), stdin: () => null as unknown as number });
    current = new SevenZipHost(mod, sink);
    return current;
  }

  /** Runs 7zz with these arguments, synchronously. */
  run(args: string[], guard?: WriteGuard): RunResult {
    this.#out = [];
    this.#err = [];
    this.#guard = guard;
    const savedExit = process.exitCode;
    try {
      const code = this.#mod.callMain([...args]);
      return { exitCode: typeof code === 'number' ? code : 0, stdout: this.#out.join('\n'), stderr: this.#err.join('\n') };
    } catch (e) {
      this.broken = true;
      if (current === this) {
        current = undefined;
        host = undefined; // the next scan gets a fresh module
      }
      return { exitCode: 255, stdout: this.#out.join('\n'), stderr: this.#err.join('\n'), crashed: (e as Error)?.message ?? String(e) };
    } finally {
      process.exitCode = savedExit;
      this.#guard = undefined;
    }
  }

  /** A new empty folder for one job. */
  mkdtemp(): string {
    const dir = `/job${++this.#seq}`;
    this.#fs.mkdir(dir);
    return dir;
  }

  mkdir(path: string): void {
    this.#fs.mkdir(path);
  }

  putFile(path: string, data: Uint8Array): void {
    this.#fs.writeFile(path, data);
  }

  /** Sets 7-Zip's working folder (archive writers store names relative to it). */
  chdir(path: string): void {
    this.#fs.chdir(path);
  }

  /** A read-only file whose bytes are read from the blob when 7-Zip asks (`onRead` may veto with EIO). */
  putBlob(path: string, blob: Blob, onRead: () => boolean = () => true): void {
    const fs = this.#fs;
    fs.writeFile(path, new Uint8Array(0));
    const node = fs.lookupPath(path).node;
    node.usedBytes = blob.size;
    node.stream_ops = {
      read(_s: EmStream, buffer: Int8Array, offset: number, length: number, position: number): number {
        if (!onRead()) throw new fs.ErrnoError(EIO);
        const b = blob.read(position, length);
        new Uint8Array(buffer.buffer, buffer.byteOffset + offset, b.length).set(b);
        return b.length;
      },
      llseek(s: EmStream, offset: number, whence: number): number {
        const pos = offset + (whence === 1 ? s.position : whence === 2 ? blob.size : 0);
        if (pos < 0) throw new fs.ErrnoError(28);
        return pos;
      },
      write(): number {
        throw new fs.ErrnoError(EPERM);
      },
    };
  }

  readFile(path: string): Buffer {
    const u = this.#fs.readFile(path);
    return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  }

  /** Regular files under `dir`, with paths relative to it (links and devices are left out); none if it does not exist. */
  listFiles(dir: string): string[] {
    const out: string[] = [];
    try {
      if (!this.#fs.isDir(this.#fs.lstat(dir).mode)) return out;
    } catch {
      return out;
    }
    const walk = (abs: string, rel: string): void => {
      for (const n of this.#fs.readdir(abs)) {
        if (n === '.' || n === '..') continue;
        const st = this.#fs.lstat(`${abs}/${n}`);
        const r = rel ? `${rel}/${n}` : n;
        if (this.#fs.isDir(st.mode)) walk(`${abs}/${n}`, r);
        else if (this.#fs.isFile(st.mode)) out.push(r);
      }
    };
    walk(dir, '');
    return out.sort();
  }

  /** Removes a file or a folder and everything in it. */
  remove(path: string): void {
    let st: { mode: number };
    try {
      st = this.#fs.lstat(path);
    } catch {
      return;
    }
    if (this.#fs.isDir(st.mode)) {
      for (const n of this.#fs.readdir(path)) if (n !== '.' && n !== '..') this.remove(`${path}/${n}`);
      this.#fs.rmdir(path);
    } else this.#fs.unlink(path);
  }
}

let host: Promise<SevenZipHost> | undefined;
let current: SevenZipHost | undefined;

/** The process's 7-Zip, created on first use (about 20 ms) and reused; recreated after a crash. */
export function sevenZipHost(): Promise<SevenZipHost> {
  host ??= SevenZipHost.create().catch((e: unknown) => {
    host = undefined;
    throw e;
  });
  return host;
}
