/**
 * The admin API of the gateway: the kill-switch over HTTP, so an operator (or an automated
 * responder) can stop a model, principal or runtime on every replica at once.
 *
 *   POST /admin/kill    {"kind":"model|principal|runtime","id":"...","reason":"..."}
 *   POST /admin/revive  {"kind":"...","id":"..."}
 *   GET  /admin/kills   the active kills
 *
 * Callers authenticate like any client (API key or JWT) and must be in the admin group
 * (gateway.admin_group, default "perimeter-admin"); dev mode's anonymous principal never is.
 * Kills and revivals are recorded in the store and the audit log and broadcast to the replicas.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerimeterError } from '../errors/errors.ts';
import { toHttpError } from './http-errors.ts';
import { readJsonBody, sendJson, sendError } from './io.ts';
import type { LiveKillSwitch } from './killswitch/live.ts';
import type { Authenticator, KillKind, Principal } from './types.ts';

const KINDS: readonly KillKind[] = ['model', 'principal', 'runtime'];

export interface AdminDeps {
  authenticator: Authenticator;
  kills: LiveKillSwitch;
  adminGroup: string;
}

async function admin(d: AdminDeps, req: IncomingMessage): Promise<Principal> {
  const p = await d.authenticator.authenticate(req.headers);
  if (p.kind === 'dev' || !p.groups.includes(d.adminGroup)) throw new PerimeterError('PERIM_E_POLICY_DENIED', `the admin API needs a principal in the group "${d.adminGroup}"`);
  return p;
}

function target(body: Record<string, unknown>): { kind: KillKind; id: string } {
  const { kind, id } = body;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', `kind must be one of ${KINDS.join(', ')}`);
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'id must be a non-empty string');
  return { kind: kind as KillKind, id };
}

const wrap =
  (f: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    f(req, res).catch((e) => {
      const { status, body } = toHttpError(e);
      sendError(res, status, body, {});
    });
  };

export function adminHandlers(d: AdminDeps): Record<string, { method: string; handler: (req: IncomingMessage, res: ServerResponse) => void }> {
  return {
    '/admin/kill': {
      method: 'POST',
      handler: wrap(async (req, res) => {
        const p = await admin(d, req);
        const body = (await readJsonBody(req, 64 * 1024)).json;
        const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : '';
        const record = await d.kills.kill(target(body), { reason, actor: p.id });
        sendJson(res, 200, { killed: record });
      }),
    },
    '/admin/revive': {
      method: 'POST',
      handler: wrap(async (req, res) => {
        const p = await admin(d, req);
        const records = await d.kills.revive(target((await readJsonBody(req, 64 * 1024)).json), { actor: p.id });
        sendJson(res, 200, { revived: records });
      }),
    },
    '/admin/kills': {
      method: 'GET',
      handler: wrap(async (req, res) => {
        await admin(d, req);
        sendJson(res, 200, { kills: d.kills.active() });
      }),
    },
  };
}
