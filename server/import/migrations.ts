/**
 * A Hasura project's migrations → this project's graphile-migrate committed
 * migrations (issue 14).
 *
 * Hasura layouts read, in numeric version order (versions are Unix timestamps
 * in ms or ns, so "999_x" comes before "1000_y"):
 *   config v3  migrations/<db>/<version>_<name>/up.sql (and up.yaml)
 *   config v2  migrations/<version>_<name>/up.sql (and up.yaml)
 *   config v1  migrations/<version>_<name>.up.sql / .up.yaml
 * An up.yaml's `run_sql` steps (also inside `bulk`) are translated in order;
 * its metadata steps (track_table, create_*_permission, …) are not, and each
 * is named in the notes: the metadata import carries the final metadata.
 * down.* files are ignored: graphile-migrate is forward-only.
 *
 * The first generated migration creates the application roles (the roles
 * the metadata's permissions name) as NOLOGIN roles granted to the
 * authenticator, as migrations/committed/000001-… does for this project.
 *
 * Headers, file names and the `--! Previous`/`--! Hash` chain come from
 * graphile-migrate's own functions (server/lib-internals.ts), so `migrate`
 * accepts exactly what `commit` would have written. Nothing is written here:
 * the caller writes `files` under the output project directory.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { calculateHash, parseMigrationText, serializeMigration, sluggify } from "../lib-internals.ts";

export interface ImportedFile {
  /** Relative to the output project directory. */
  path: string;
  content: string;
}

export interface MigrationsImport {
  files: ImportedFile[];
  notes: string[];
}

export interface MigrationsImportOptions {
  /** Every role the metadata's permissions name (inherited roles included). */
  roles: string[];
  /** Config v3: the database (metadata source) whose migrations to import; default: the only one, else `default`. */
  database?: string;
  /**
   * The migrations folder relative to `hasuraDir` (default: config.yaml's
   * `migrations_directory`, else `migrations`); null: none, only the roles
   * (an export file imported against a database that already has its schema).
   */
  migrationsRel?: string | null;
}

interface HasuraVersion {
  version: bigint;
  name: string;
  /** A version folder holding both: up.yaml's run_sql first, then up.sql (our order; Hasura projects rarely have both). */
  up: { kind: "sql" | "yaml"; where: string }[];
  down: string[];
}

const VERSION_DIR = /^(\d+)_(.+)$/s;
const VERSION_FILE = /^(\d+)_(.+)\.(up|down)\.(sql|yaml)$/s;
/**
 * Postgres refuses `public`, `none` and `pg_…` as role names (`role name "…"
 * is reserved`); the CURRENT_USER-like names would be creatable quoted but
 * read as the keyword wherever a hand-written GRANT leaves them unquoted.
 */
const RESERVED_ROLES = new Set(["public", "none", "current_user", "session_user", "current_role"]);

export async function importHasuraMigrations(hasuraDir: string, opts: MigrationsImportOptions): Promise<MigrationsImport> {
  const notes: string[] = [];
  // The Hasura migrations' own bodies; the generated ones are placed around them below.
  const bodies: { message: string; body: string }[] = [];

  const roles = [...new Set(opts.roles)];
  // Checked before anything is read: a name PostgreSQL refuses is refused here.
  if (roles.length > 0) rolesMigration(roles);
  else notes.push("No role is named by a permission: no application-roles migration generated.");

  const migrationsRel = opts.migrationsRel === undefined ? await migrationsDirectory(hasuraDir) : opts.migrationsRel;
  const versions = migrationsRel === null ? [] : await findVersions(hasuraDir, migrationsRel, opts.database, notes);
  const downs: string[] = [];
  for (const v of versions) {
    downs.push(...v.down);
    const label = oneLine(`${v.version}_${v.name}`);
    const parts: string[] = [];
    for (const up of v.up) {
      const text = await readFile(path.join(hasuraDir, up.where), "utf8");
      if (up.kind === "sql") {
        if (text.trim() !== "") parts.push(`-- Hasura migration ${label}: ${oneLine(up.where)}\n\n${text.trim()}`);
      } else {
        const sqls = runSqlSteps(yamlOf(text, up.where), up.where, notes);
        for (const [i, s] of sqls.entries())
          parts.push(`-- Hasura migration ${label}: ${oneLine(up.where)}, run_sql step ${i + 1}\n\n${s.trim()}`);
      }
    }
    if (parts.length === 0) {
      notes.push(`Skipped Hasura migration ${label} (${v.up.map((u) => u.where).join(", ") || "no up file"}): nothing to run.`);
      continue;
    }
    const body = parts.join("\n\n");
    warnAboutBody(label, body, notes);
    bodies.push({ message: messageFor(v), body });
  }
  const before: { message: string; body: string }[] = [];
  const after: { message: string; body: string }[] = [];
  // A role the Hasura migrations create themselves (nossas/bonde-hasura: `create role anonymous;`) must not exist
  // before they run, as it did not under Hasura: it is granted to the authenticator after them instead.
  const own = createdRoles(bodies.map((b) => b.body));
  const first = roles.filter((r) => !own.has(r));
  const last = roles.filter((r) => own.has(r));
  if (first.length > 0) before.push({ message: "Application roles (Hasura permissions)", body: rolesMigration(first) });
  if (last.length > 0) {
    after.push({ message: "Hasura-created roles to the authenticator", body: rolesMigration(last) });
    notes.push(
      `The Hasura migrations create the roles ${last.join(", ")} themselves: they are granted to the authenticator by a ` +
        "migration after them (roles are cluster-wide: such a migration fails where the role already exists, e.g. from another database).",
    );
  }
  const pgcrypto = pgcryptoMigration(bodies.map((b) => b.body));
  if (pgcrypto) {
    before.push({ message: "pgcrypto in public, as Hasura creates it", body: pgcrypto });
    notes.push(
      "The migrations call pgcrypto without creating it (Hasura creates it in schema public when it starts on a database): " +
        "a migration before them creates it (a trusted extension: the database owner may).",
    );
  }
  if (downs.length > 0) {
    notes.push(
      `${downs.length} down migration(s) ignored: graphile-migrate is forward-only (a committed migration is never undone; ` +
        `a change is undone by a new migration): ${downs.join(", ")}.`,
    );
  }
  return { files: commitChain([...before, ...bodies, ...after]), notes };
}

/** The roles `create role|user|group` statements name (unquoted names folded to lower case, as PostgreSQL does). */
function createdRoles(bodies: string[]): Set<string> {
  const out = new Set<string>();
  for (const b of bodies)
    for (const m of b.matchAll(/\bcreate\s+(?:role|user(?!\s+mapping\b)|group)\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[\w$]+)/gi))
      out.add(m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replaceAll('""', '"') : m[1]!.toLowerCase());
  return out;
}

/** graphile-migrate `commit`'s own serialisation, numbering and hash chain, checked by parsing each file back. */
function commitChain(bodies: { message: string; body: string }[]): ImportedFile[] {
  const files: ImportedFile[] = [];
  let previous: string | null = null;
  bodies.forEach(({ message, body }, i) => {
    const hash = calculateHash(body, previous);
    const content = serializeMigration(body, { Previous: previous ?? "-", Hash: hash, Message: message });
    const filename = `${String(i + 1).padStart(6, "0")}-${sluggify(message)}.sql`;
    const parsed = parseMigrationText(filename, content);
    if (calculateHash(parsed.body, previous) !== hash)
      throw new Error(`internal: ${filename} would not hash as graphile-migrate checks it`);
    files.push({ path: `migrations/committed/${filename}`, content });
    previous = hash;
  });
  return files;
}

function yamlOf(text: string, where: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    throw new Error(`${where}: not valid YAML: ${(e as Error).message}`);
  }
}

/** graphile-migrate refuses control characters and messages over 512 characters. */
function messageFor(v: HasuraVersion): string {
  return oneLine(`Hasura ${v.version}_${v.name}`).slice(0, 512);
}

/** A file name inside a `--` comment or a header: no line breaks or other control characters. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ");
}

/** config.yaml's `migrations_directory` (relative to the project), else `migrations`. */
async function migrationsDirectory(hasuraDir: string): Promise<string> {
  const text = await readFile(path.join(hasuraDir, "config.yaml"), "utf8").catch((e: NodeJS.ErrnoException) =>
    e.code === "ENOENT" ? null : Promise.reject(e),
  );
  const configured = text ? (yamlOf(text, "config.yaml") as { migrations_directory?: unknown } | null)?.migrations_directory : undefined;
  return typeof configured === "string" && configured !== "" ? path.normalize(configured) : "migrations";
}

async function listDir(dir: string): Promise<string[] | null> {
  return readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)));
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p)).isDirectory();
}

async function findVersions(
  hasuraDir: string,
  migrationsRel: string,
  database: string | undefined,
  notes: string[],
): Promise<HasuraVersion[]> {
  const top = await listDir(path.join(hasuraDir, migrationsRel));
  if (top === null) {
    notes.push(`No Hasura migrations folder (${migrationsRel}/): only the application roles are migrated.`);
    return [];
  }
  const databases: string[] = [];
  for (const entry of top) {
    if (!entry.startsWith(".") && !VERSION_DIR.test(entry) && (await isDir(path.join(hasuraDir, migrationsRel, entry))))
      databases.push(entry);
  }
  databases.sort();
  if (databases.length === 0) return readVersions(hasuraDir, migrationsRel, top, notes); // config v1/v2
  // config v3: one folder per database.
  const chosen = database ?? (databases.length === 1 ? databases[0]! : databases.includes("default") ? "default" : undefined);
  if (chosen === undefined || !databases.includes(chosen)) {
    throw new Error(
      `${migrationsRel}/: migrations of ${databases.length} databases (${databases.join(", ")}); ` +
        (chosen === undefined ? "say which one to import" : `none for database "${chosen}"`),
    );
  }
  for (const other of databases.filter((d) => d !== chosen)) {
    notes.push(`Not translated: migrations of database "${other}" (${path.join(migrationsRel, other)}/): only "${chosen}" is imported.`);
  }
  for (const entry of top.filter((e) => !e.startsWith(".") && !databases.includes(e)).sort()) {
    notes.push(`Ignored: ${path.join(migrationsRel, entry)} sits beside the database folders of a config v3 project.`);
  }
  const dbRel = path.join(migrationsRel, chosen);
  return readVersions(hasuraDir, dbRel, (await listDir(path.join(hasuraDir, dbRel)))!, notes);
}

/** The versions in one folder: `<version>_<name>/` folders and `<version>_<name>.{up,down}.{sql,yaml}` files. */
async function readVersions(hasuraDir: string, dirRel: string, entries: string[], notes: string[]): Promise<HasuraVersion[]> {
  const versions = new Map<bigint, HasuraVersion>();
  for (const entry of [...entries].sort()) {
    if (entry.startsWith(".")) continue;
    const rel = path.join(dirRel, entry);
    const full = path.join(hasuraDir, rel);
    if (await isDir(full)) {
      const m = VERSION_DIR.exec(entry);
      if (!m) {
        notes.push(`Ignored: ${rel}/ is not a Hasura migration folder.`);
        continue;
      }
      const v = versionOf(versions, BigInt(m[1]!), m[2]!, rel);
      for (const f of (await listDir(full))!.sort()) {
        if (f === "up.yaml" || f === "up.sql") v.up.push({ kind: f === "up.sql" ? "sql" : "yaml", where: path.join(rel, f) });
        else if (f === "down.yaml" || f === "down.sql") v.down.push(path.join(rel, f));
        else if (!f.startsWith(".")) notes.push(`Ignored: ${path.join(rel, f)} is not a Hasura migration file.`);
      }
      continue;
    }
    const m = VERSION_FILE.exec(entry);
    if (!m) {
      notes.push(`Ignored: ${rel} is not a Hasura migration file.`);
      continue;
    }
    const v = versionOf(versions, BigInt(m[1]!), m[2]!, rel);
    if (m[3] === "down") v.down.push(rel);
    else v.up.push({ kind: m[4] === "sql" ? "sql" : "yaml", where: rel });
  }
  for (const v of versions.values()) v.up.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "yaml" ? -1 : 1));
  return [...versions.values()].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

function versionOf(versions: Map<bigint, HasuraVersion>, version: bigint, name: string, where: string): HasuraVersion {
  const v = versions.get(version) ?? { version, name, up: [], down: [] };
  versions.set(version, v);
  if (v.name !== name) throw new Error(`${where}: Hasura migration version ${version} is used twice (names "${v.name}" and "${name}")`);
  return v;
}

/** The SQL of an up.yaml's run_sql steps (bulk steps flattened), each other step named in the notes. */
function runSqlSteps(doc: unknown, where: string, notes: string[]): string[] {
  if (doc == null) return [];
  if (!Array.isArray(doc)) throw new Error(`${where}: expected a list of steps ({type, args}), found ${typeof doc}`);
  const out: string[] = [];
  const visit = (steps: unknown[], at: string) => {
    steps.forEach((step, i) => {
      const here = `${at}[${i}]`;
      const s = step as { type?: unknown; args?: unknown } | null;
      if (typeof s !== "object" || s === null || typeof s.type !== "string")
        throw new Error(`${where}: ${here} is not a step ({type, args})`);
      if (s.type === "run_sql") {
        const sql = (s.args as { sql?: unknown } | undefined)?.sql;
        if (typeof sql !== "string") throw new Error(`${where}: ${here}.args.sql must be a string`);
        if (sql.trim() !== "") out.push(sql);
      } else if (s.type === "bulk" && Array.isArray(s.args)) {
        visit(s.args, `${here}.args`);
      } else {
        notes.push(
          `Not translated: ${where} ${here} step "${s.type}" (a metadata step; the imported metadata carries the final metadata).`,
        );
      }
    });
  };
  visit(doc, "$");
  return out;
}

/**
 * Hasura's start-up runs `CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA
 * public` on its database (its catalog needs it), so a project's migrations
 * may call `public.gen_random_uuid()`, `crypt()`, `gen_salt()`, … without
 * creating it, or before a later one does (MetaFam/TheGame's first migration
 * calls public.gen_random_uuid(); pgcrypto is created years later). Then the
 * same statement runs first here; nothing is added when the migrations create
 * pgcrypto before they use it, or do not use it. (An unqualified
 * gen_random_uuid() is PostgreSQL's own since 13.)
 */
function pgcryptoMigration(bodies: string[]): string | null {
  const all = bodies.join("\n");
  const created = /\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?"?pgcrypto\b/i.exec(all);
  const used =
    /(?:\bpublic|"public")\s*\.\s*"?gen_random_uuid"?\s*\(|\b(?:crypt|gen_salt|digest|hmac|gen_random_bytes|pgp_sym_encrypt|pgp_sym_decrypt|pgp_pub_encrypt|pgp_pub_decrypt|armor|dearmor)\s*\(/i.exec(
      all,
    );
  if (!used || (created && created.index < used.index)) return null;
  return `/*
 * pgcrypto in schema public, as Hasura creates it when it starts on a
 * database: the Hasura migrations that follow call it without creating it.
 */
create extension if not exists pgcrypto with schema public;
`;
}

/** Things in imported SQL that behave differently under graphile-migrate. */
function warnAboutBody(label: string, body: string, notes: string[]): void {
  const placeholder = /:DATABASE_(?:OWNER|AUTHENTICATOR|NAME)\b/.exec(body);
  if (placeholder) notes.push(`Hasura migration ${label}: contains ${placeholder[0]}, which graphile-migrate replaces as a placeholder.`);
  for (const m of body.matchAll(/\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?("(?:[^"]|"")+"|[\w$]+)/gi)) {
    notes.push(
      `Hasura migration ${label}: creates extension ${m[1]}; the database owner may create only trusted extensions, ` +
        "so create it beforehand as a superuser if it is not (graphile-migrate runs migrations as the owner).",
    );
  }
  if (/\bset\s+(?:session\s+)?search_path\b|set_config\s*\(\s*'search_path'\s*,[^)]*,\s*false\s*\)/i.test(body)) {
    notes.push(
      `Hasura migration ${label}: sets search_path for the session; graphile-migrate runs the following migrations on the same connection.`,
    );
  }
}

function rolesMigration(roles: string[]): string {
  for (const r of roles) {
    const problem =
      r === ""
        ? "is empty"
        : RESERVED_ROLES.has(r) || r.startsWith("pg_")
          ? "is reserved in PostgreSQL"
          : Buffer.byteLength(r) > 63
            ? "is longer than PostgreSQL's 63-byte identifiers"
            : /:DATABASE_/.test(r)
              ? "looks like a graphile-migrate placeholder"
              : null;
    if (problem) throw new Error(`Hasura role "${r}" cannot be a PostgreSQL role: its name ${problem}; rename it in the metadata`);
  }
  let tag = "$roles$";
  for (let n = 1; roles.some((r) => r.includes(tag)); n++) tag = `$roles${n}$`;
  const list = roles.map((r) => `'${r.replaceAll("'", "''")}'`).join(", ");
  return `/*
 * The Hasura roles the imported permissions name, as NOLOGIN roles granted to
 * the authenticator (roles are cluster-wide: created only if missing). None
 * is BYPASSRLS: the server switches to one of them per transaction and
 * Postgres enforces the grants and policies of policies.sql.
 */
do ${tag}
declare
  r text;
begin
  foreach r in array array[${list}] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format('create role %I nologin nosuperuser nobypassrls', r);
    end if;
    execute format('grant %I to %I', r, ':DATABASE_AUTHENTICATOR');
  end loop;
end
${tag};
`;
}
