/**
 * The Portkey AI gateway (`@portkey-ai/gateway`, pinned) as a benchmark target: installed once into
 * bench/.cache/portkey with npm and started as its package's Node server does it
 * (`node build/start-server.js --port=N`, its `start:node` script; 8787 is its default port), with
 * its defaults otherwise. Plain proxying: each request names the provider "openai" and a custom
 * host (the simulated upstream) in Portkey's own headers; no config, no guardrails, no cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_WITH_PARENT, freePort, startNode, waitFor } from './procs.ts';
import type { Target } from './targets.ts';

export const PORTKEY_VERSION = '1.15.2';

function installedVersion(dir: string, pkg: string): string | null {
  const p = join(dir, 'node_modules', ...pkg.split('/'), 'package.json');
  if (!existsSync(p)) return null;
  return (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? null;
}

/** Installs the pinned version into `dir` unless it is already there; returns what is installed. */
export function ensurePortkey(dir: string): { version: string; hono: string | null } {
  if (installedVersion(dir, '@portkey-ai/gateway') !== PORTKEY_VERSION) {
    mkdirSync(dir, { recursive: true });
    console.log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir} (once) ...`);
    // --ignore-scripts: its only install script is patch-package for patches it does not ship.
    const r = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--save-exact',
      '--ignore-scripts', `@portkey-ai/gateway@${PORTKEY_VERSION}`], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm install @portkey-ai/gateway@${PORTKEY_VERSION} failed (${r.status ?? r.error})`);
  }
  const version = installedVersion(dir, '@portkey-ai/gateway');
  if (version !== PORTKEY_VERSION) throw new Error(`expected Portkey ${PORTKEY_VERSION} in ${dir}, found ${version}`);
  return { version, hono: installedVersion(dir, 'hono') };
}

export async function startPortkey(dir: string, upstream: string, log: string): Promise<Target> {
  const port = await freePort();
  const entry = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  const proc = await startNode([EXIT_WITH_PARENT, entry, `--port=${port}`], { cwd: dir, log, port });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/`, {}, (s) => s === 200);
  return {
    name: 'portkey',
    label: `Portkey ${PORTKEY_VERSION} (plain proxy)`,
    url,
    headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1` },
    stop: proc.stop,
  };
}
