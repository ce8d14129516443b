/**
 * Migrations: one code path for both backends (kysely's schema builder), applied in name order by
 * kysely's Migrator, which takes a lock so several processes can start at once.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { MIGRATION_NAMES, PAGES_LOCK } from './target.ts';

/** Column types that differ between the backends. */
export interface Dialect {
  big: 'bigint' | 'integer';
  /** An auto-incrementing integer primary key column definition. */
  serial: 'serial' | 'integer';
  kind: 'sqlite' | 'postgres';
}

export type DialectMigration = (d: Dialect) => Migration;

const registry: DialectMigration = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('artifacts')
      .addColumn('digest', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('format', 'text')
      .addColumn('license', 'text')
      .addColumn('parent_digest', 'text')
      .addColumn('predecessor_digest', 'text')
      .addColumn('path', 'text')
      .addColumn('bytes', d.big, (c) => c.notNull().defaultTo(0))
      .addColumn('files', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('signer_method', 'text')
      .addColumn('signer', 'text')
      .addColumn('signer_issuer', 'text')
      .addColumn('signature_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('scan_verdict', 'text')
      .addColumn('scan_findings', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('scan_summary', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('tier', 'integer')
      .addColumn('created_at', d.big, (c) => c.notNull())
      .addColumn('updated_at', d.big, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('artifacts_name').on('artifacts').column('name').execute();
    await db.schema.createIndex('artifacts_parent').on('artifacts').column('parent_digest').execute();
    await db.schema
      .createTable('lineage')
      .addColumn('child_digest', 'text', (c) => c.notNull())
      .addColumn('parent_digest', 'text', (c) => c.notNull())
      .addColumn('relation', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', d.big, (c) => c.notNull())
      .addPrimaryKeyConstraint('lineage_pk', ['child_digest', 'parent_digest'])
      .execute();
    await db.schema.createIndex('lineage_parent').on('lineage').column('parent_digest').execute();
    await db.schema
      .createTable('admissions')
      .addColumn('id', d.serial, (c) => (d.kind === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('env', 'text', (c) => c.notNull())
      .addColumn('allowed', 'integer', (c) => c.notNull())
      .addColumn('reasons', 'text', (c) => c.notNull())
      .addColumn('decided_at', d.big, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('admissions_digest_env').on('admissions').columns(['digest', 'env']).execute();
    await db.schema
      .createTable('runtimes')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('created_at', d.big, (c) => c.notNull())
      .addColumn('updated_at', d.big, (c) => c.notNull())
      .addColumn('last_sync_at', d.big)
      .addColumn('last_sync_error', 'text')
      .execute();
    await db.schema
      .createTable('served_models')
      .addColumn('runtime', 'text', (c) => c.notNull())
      .addColumn('model_id', 'text', (c) => c.notNull())
      .addColumn('served_digest', 'text')
      .addColumn('artifact_digest', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('seen_at', d.big, (c) => c.notNull())
      .addPrimaryKeyConstraint('served_models_pk', ['runtime', 'model_id'])
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['served_models', 'runtimes', 'admissions', 'lineage', 'artifacts']) await db.schema.dropTable(t).ifExists().execute();
  },
});

/** Runtimes: the environment a runtime serves (admission is per environment); a served model's finding. */
const runtimesMore: DialectMigration = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('runtimes').addColumn('env', 'text').execute();
    await db.schema.alterTable('served_models').addColumn('finding', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('served_models').dropColumn('finding').execute();
    await db.schema.alterTable('runtimes').dropColumn('env').execute();
  },
});

/**
 * Registry evidence beyond 0001: the signature outcome as a state (not just verified 0/1), its
 * evidence (checks or the error), the training compute used for the EU AI Act modification
 * estimate, and the inventory's read model (the row's registry fields as JSON, kept by
 * src/registry in the same transaction) with an index for listing in registration order.
 */
const registryMore: DialectMigration = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('artifacts').addColumn('signature_status', 'text', (c) => c.notNull().defaultTo('none')).execute();
    await db.schema.alterTable('artifacts').addColumn('signature_evidence', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    await db.schema.alterTable('artifacts').addColumn('training_flops', 'double precision').execute();
    await db.schema.alterTable('artifacts').addColumn('inventory_json', 'text').execute();
    await db.schema.createIndex('artifacts_created').on('artifacts').columns(['created_at', 'digest']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('artifacts_created').ifExists().execute();
    for (const c of ['inventory_json', 'training_flops', 'signature_evidence', 'signature_status']) await db.schema.alterTable('artifacts').dropColumn(c).execute();
  },
});

/** The audit log (src/audit): entries (tree leaves), stored subtree hashes, the head row, checkpoints. */
const audit: DialectMigration = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('audit_entries')
      .addColumn('idx', d.big, (c) => c.primaryKey())
      .addColumn('at', d.big, (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('entry', 'text', (c) => c.notNull())
      .addColumn('leaf_hash', 'text', (c) => c.notNull())
      .addColumn('mac', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_entries_at').on('audit_entries').column('at').execute();
    await db.schema
      .createTable('audit_nodes')
      .addColumn('id', d.big, (c) => c.primaryKey())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('size', d.big, (c) => c.notNull())
      .addColumn('frontier', 'text', (c) => c.notNull())
      .addColumn('mac', 'text', (c) => c.notNull())
      .addColumn('updated_at', d.big, (c) => c.notNull())
      .execute();
    await db.insertInto('audit_head').values({ id: 1, size: 0, frontier: '[]', mac: '', updated_at: 0 }).execute();
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('size', d.big, (c) => c.primaryKey())
      .addColumn('root', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('created_at', d.big, (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['audit_checkpoints', 'audit_head', 'audit_nodes', 'audit_entries']) await db.schema.dropTable(t).ifExists().execute();
  },
});

const gateway: DialectMigration = (d) => ({
  async up(db: Kysely<any>) {
    // API keys: the secret is never stored, only SHA-256 of it (keys are 256-bit random, so a
    // fast hash is enough); `id` is the public part of the key and the lookup key.
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('principal', 'text', (c) => c.notNull())
      .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('created_at', d.big, (c) => c.notNull())
      .addColumn('expires_at', d.big)
      .addColumn('revoked_at', d.big)
      .addColumn('created_by', 'text', (c) => c.notNull().defaultTo('system'))
      .execute();
    // Kill-switch: one row per kill; active while revived_at is null.
    await db.schema
      .createTable('kills')
      .addColumn('id', d.serial, (c) => (d.kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('created_at', d.big, (c) => c.notNull())
      .addColumn('revived_at', d.big)
      .addColumn('revived_by', 'text')
      .execute();
    await db.schema.createIndex('kills_active').on('kills').columns(['kind', 'target', 'revived_at']).execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['kills', 'api_keys']) await db.schema.dropTable(t).ifExists().execute();
  },
});

/**
 * The inventory listing's pages (src/registry/inventory-pages.ts): the artifacts in registration
 * order cut into pages of about a thousand rows, each page's listing text kept as built. A page
 * covers the keys (created_at, digest) after the previous page's last key up to its own; page 0 is
 * the tail (every row after the last page) and has no body. Triggers on `artifacts` and
 * `admissions` add a row to `inventory_changes` naming the page whose rows changed, in the writing
 * transaction: a page with no change rows is current. Listers rebuild changed pages and cut the
 * tail into pages, and delete the change rows they accounted for, holding the write lock (SQLite)
 * or an exclusive advisory lock that every writing trigger takes shared (PostgreSQL), so a writer
 * never files a change against a page layout that is being replaced.
 */
const inventoryPages: DialectMigration = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('inventory_pages')
      .addColumn('id', d.big, (c) => c.primaryKey())
      .addColumn('hi_created_at', d.big)
      .addColumn('hi_digest', 'text')
      .addColumn('rows', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('codec', 'text', (c) => c.notNull().defaultTo('none'))
      .addColumn('body', d.kind === 'postgres' ? 'bytea' : 'blob')
      .execute();
    await db.schema.createIndex('inventory_pages_hi').unique().on('inventory_pages').columns(['hi_created_at', 'hi_digest']).execute();
    await db.insertInto('inventory_pages').values({ id: 0, rows: 0, codec: 'none' }).execute();
    await db.schema
      .createTable('inventory_changes')
      .addColumn('id', d.kind === 'postgres' ? 'bigserial' : 'integer', (c) => (d.kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('page', d.big, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('inventory_changes_page').on('inventory_changes').columns(['page', 'id']).execute();
    for (const statement of d.kind === 'postgres' ? PG_PAGE_TRIGGERS : SQLITE_PAGE_TRIGGERS) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<any>) {
    for (const statement of d.kind === 'postgres' ? PG_PAGE_TRIGGERS_DOWN : SQLITE_PAGE_TRIGGERS_DOWN) await sql.raw(statement).execute(db);
    for (const t of ['inventory_changes', 'inventory_pages']) await db.schema.dropTable(t).ifExists().execute();
  },
});

/**
 * The inventory's tail stored too (src/registry/inventory-pages.ts): page 0 keeps the listing text
 * of the rows after the last page, and `tail_rows` how many rows that is (null: no stored tail).
 * Like any page it is current while no change rows name it.
 */
const inventoryTail: DialectMigration = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('inventory_pages').addColumn('tail_rows', 'integer').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('inventory_pages').dropColumn('tail_rows').execute();
  },
});

/** The page whose range holds the key (c, k): the first page whose last key is at or after it, else the tail (0). */
const pageOf = (c: string, k: string): string =>
  `coalesce((select p.id from inventory_pages p where p.hi_created_at is not null and (p.hi_created_at, p.hi_digest) >= (${c}, ${k}) order by p.hi_created_at, p.hi_digest limit 1), 0)`;
const SQLITE_PAGE_TRIGGERS = [
  `create trigger inventory_artifacts_insert after insert on artifacts begin
    insert into inventory_changes (page) values (${pageOf('new.created_at', 'new.digest')}); end`,
  `create trigger inventory_artifacts_update after update on artifacts begin
    insert into inventory_changes (page) select distinct column1 from (values (${pageOf('old.created_at', 'old.digest')}), (${pageOf('new.created_at', 'new.digest')})); end`,
  `create trigger inventory_artifacts_delete after delete on artifacts begin
    insert into inventory_changes (page) values (${pageOf('old.created_at', 'old.digest')}); end`,
  ...(['insert', 'update', 'delete'] as const).map(
    (op) => `create trigger inventory_admissions_${op} after ${op} on admissions begin
    insert into inventory_changes (page) select distinct ${pageOf('a.created_at', 'a.digest')} from artifacts a
      where a.digest in (${op === 'insert' ? 'new.digest' : op === 'delete' ? 'old.digest' : 'old.digest, new.digest'}); end`,
  ),
];
const SQLITE_PAGE_TRIGGERS_DOWN = ['artifacts_insert', 'artifacts_update', 'artifacts_delete', 'admissions_insert', 'admissions_update', 'admissions_delete'].map((t) => `drop trigger if exists inventory_${t}`);

const PG_PAGE_TRIGGERS = [
  `create function perimeter_inventory_touch(c bigint, k text) returns void language plpgsql set search_path from current as $$
  begin
    perform pg_advisory_xact_lock_shared(${PAGES_LOCK});
    insert into inventory_changes (page) values (${pageOf('c', 'k')});
  end $$`,
  `create function perimeter_inventory_artifacts() returns trigger language plpgsql set search_path from current as $$
  begin
    if tg_op <> 'INSERT' then perform perimeter_inventory_touch(old.created_at, old.digest); end if;
    if tg_op <> 'DELETE' and (tg_op = 'INSERT' or (new.created_at, new.digest) is distinct from (old.created_at, old.digest)) then
      perform perimeter_inventory_touch(new.created_at, new.digest);
    end if;
    return null;
  end $$`,
  `create function perimeter_inventory_admissions() returns trigger language plpgsql set search_path from current as $$
  begin
    if tg_op <> 'INSERT' then perform perimeter_inventory_touch(a.created_at, a.digest) from artifacts a where a.digest = old.digest; end if;
    if tg_op <> 'DELETE' then perform perimeter_inventory_touch(a.created_at, a.digest) from artifacts a where a.digest = new.digest; end if;
    return null;
  end $$`,
  'create trigger inventory_artifacts after insert or update or delete on artifacts for each row execute function perimeter_inventory_artifacts()',
  'create trigger inventory_admissions after insert or update or delete on admissions for each row execute function perimeter_inventory_admissions()',
];
const PG_PAGE_TRIGGERS_DOWN = [
  'drop trigger if exists inventory_admissions on admissions',
  'drop trigger if exists inventory_artifacts on artifacts',
  'drop function if exists perimeter_inventory_admissions()',
  'drop function if exists perimeter_inventory_artifacts()',
  'drop function if exists perimeter_inventory_touch(bigint, text)',
];

/** Every migration, by name; names sort in the order they apply. */
export const MIGRATIONS: Readonly<Record<string, DialectMigration>> = {
  '0001_registry': registry,
  '0002_audit': audit,
  '0003_registry_more': registryMore,
  '0004_runtimes_more': runtimesMore,
  '0005_gateway': gateway,
  '0006_inventory_pages': inventoryPages,
  '0007_inventory_tail': inventoryTail,
};

export { sql };

// target.ts names the migrations for code that must not load kysely; the two lists are one.
if (Object.keys(MIGRATIONS).join() !== MIGRATION_NAMES.join()) throw new Error('src/store/target.ts MIGRATION_NAMES must list the migrations of migrations.ts, in order');
