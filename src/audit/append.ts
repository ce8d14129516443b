/**
 * One batch appended to the tree, as rows: the pure step every writer shares. Given the head row
 * (size, frontier, MAC) read under the write lock, numbers the entries from the head's size, MACs
 * them, extends the frontier (collecting the perfect subtrees it completes) and returns the new head.
 */
import { PerimeterError } from '../errors/errors.ts';
import type { AuditEntryTable, AuditNodeTable } from '../store/schema.ts';
import type { EntryText, PreparedEntry } from './entry.ts';
import { macEquals, type Mac } from './mac.ts';
import { Frontier, hashLeafText, nodeId } from './tree.ts';

export interface HeadRow {
  size: number;
  frontier: string;
  mac: string;
}

/** An entry ready to store (entry.ts), without its index. */
export type BatchEntry = PreparedEntry;

/** The entries with their leaf hashes (SHA-256 of 0x00 || entry). */
export function withLeaves(batch: readonly EntryText[]): BatchEntry[] {
  return batch.map((e) => ({ at: e.at, type: e.type, entry: e.entry, leaf: hashLeafText(e.entry) }));
}

/** The frontier of a head row, after checking its MAC (refuses a head another key or a hand wrote). */
export function openHead(head: HeadRow, mac: Mac, keyPath: string): Frontier {
  if (head.size > 0 && !macEquals(head.mac, mac.head(head.size, head.frontier))) {
    throw new PerimeterError('PERIM_E_AUDIT_KEY', `the audit log head (size ${head.size}) was not written with the key ${keyPath}: another key writes this log, or the head row was changed`);
  }
  try {
    return Frontier.fromHex(head.size, JSON.parse(head.frontier) as string[]);
  } catch (e) {
    throw new PerimeterError('PERIM_E_AUDIT_TAMPERED', `the audit log head is malformed: ${(e as Error).message}`, { cause: e, details: { index: head.size } });
  }
}

export function extend(head: HeadRow, batch: readonly BatchEntry[], mac: Mac, keyPath: string): { rows: AuditEntryTable[]; nodes: AuditNodeTable[]; head: HeadRow } {
  const frontier = openHead(head, mac, keyPath);
  const start = head.size;
  const nodes: AuditNodeTable[] = [];
  const rows = batch.map((w, i) => {
    frontier.append(w.leaf, (level, s, hash) => nodes.push({ id: nodeId(level, s), hash: hash.toString('hex') }));
    return { idx: start + i, at: w.at, type: w.type, entry: w.entry, leaf_hash: w.leaf.toString('hex'), mac: mac.entry(start + i, w.leaf) };
  });
  const frontierJson = JSON.stringify(frontier.toHex());
  return { rows, nodes, head: { size: frontier.size, frontier: frontierJson, mac: mac.head(frontier.size, frontierJson) } };
}
