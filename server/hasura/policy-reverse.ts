/**
 * An RLS policy expression, as PostgreSQL deparses it (pg_get_expr with
 * search_path = pg_catalog), back to a Hasura boolean expression, for the
 * house-style forms only (README "Policies"): `true`; a boolean column;
 * `col <op> literal`, `col <op> (select <session helper>)::type` and the
 * reverse; `col is [not] null`; `col = any (<array session helper or
 * literal>)` / `col <> all (…)`; `and` / `or` / `not`; and `exists (select 1
 * from <table> <alias> where <alias>.<fk col> = <table>.<col> and …)` over a
 * foreign key. Anything else is an Unsupported error: the caller leaves the
 * permission out rather than guess (metadata-export.ts).
 *
 * Only a tokenizer and a recursive-descent parser for that subset: no SQL
 * is built from what is read here.
 */

export class Unsupported extends Error {}

export type Node =
  | { k: "bool"; v: boolean }
  | { k: "col"; rel: string | null; name: string }
  | { k: "lit"; v: string; type: string | null; number: boolean }
  | { k: "session"; name: string; array: boolean }
  | { k: "array"; items: Node[] }
  | { k: "and" | "or"; items: Node[] }
  | { k: "not"; e: Node }
  | { k: "cmp"; op: string; l: Node; r: Node }
  | { k: "isnull"; e: Node; negated: boolean }
  | { k: "quantified"; op: string; all: boolean; l: Node; r: Node }
  | { k: "exists"; schema: string; table: string; alias: string; where: Node | null };

type Tok = { t: "id"; v: string; quoted: boolean } | { t: "str"; v: string } | { t: "num"; v: string } | { t: "op"; v: string };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Unsupported("unterminated string literal");
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ t: "str", v });
    } else if (c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Unsupported("unterminated quoted identifier");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ t: "id", v, quoted: true });
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(text[i + 1] ?? "") && prevIsOperandStart(out))) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      out.push({ t: "num", v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i))!;
      // E'…' strings (backslash escapes) are not read: not a house-style form.
      if (m[0] === "E" && text[i + 1] === "'") throw new Unsupported("an E'…' string literal");
      out.push({ t: "id", v: m[0], quoted: false });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      if (["::", "<>", "!=", "<=", ">="].includes(two)) {
        out.push({ t: "op", v: two === "!=" ? "<>" : two });
        i += 2;
      } else if ("(),.=<>[]".includes(c)) {
        out.push({ t: "op", v: c });
        i++;
      } else throw new Unsupported(`the operator ${JSON.stringify(c)}`);
    }
  }
  return out;
}

function prevIsOperandStart(out: Tok[]): boolean {
  const p = out[out.length - 1];
  return !p || (p.t === "op" && p.v !== ")" && p.v !== "]") || (p.t === "id" && !p.quoted && /^(and|or|not)$/i.test(p.v));
}

const TYPE_WORDS = new Set(["varying", "precision", "with", "without", "time", "zone"]);
const SESSION_HELPERS: Record<string, { variable?: string; array: boolean }> = {
  "hasura.user_id": { variable: "x-hasura-user-id", array: false },
  "hasura.user_id_int": { variable: "x-hasura-user-id", array: false },
  "hasura.role": { variable: "x-hasura-role", array: false },
  "hasura.session_var": { array: false },
  "hasura.session_var_required": { array: false },
  "hasura.session_var_array": { array: true },
  "hasura.session_var_array_required": { array: true },
};

class Parser {
  i = 0;
  readonly toks: Tok[];
  constructor(toks: Tok[]) {
    this.toks = toks;
  }

  peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  isKw(word: string, o = 0): boolean {
    const t = this.peek(o);
    return t?.t === "id" && !t.quoted && t.v.toLowerCase() === word;
  }
  isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t?.t === "op" && t.v === v;
  }
  expectOp(v: string): void {
    if (!this.isOp(v)) throw new Unsupported(`expected "${v}" at token ${this.i}`);
    this.i++;
  }
  expectKw(w: string): void {
    if (!this.isKw(w)) throw new Unsupported(`expected ${w.toUpperCase()} at token ${this.i}`);
    this.i++;
  }
  ident(): string {
    const t = this.peek();
    if (t?.t !== "id") throw new Unsupported(`expected a name at token ${this.i}`);
    this.i++;
    return t.v;
  }

  parseAll(): Node {
    const n = this.or();
    if (this.i !== this.toks.length) throw new Unsupported(`unexpected text at token ${this.i}`);
    return n;
  }
  or(): Node {
    const items = [this.and()];
    while (this.isKw("or")) {
      this.i++;
      items.push(this.and());
    }
    return items.length === 1 ? items[0]! : { k: "or", items };
  }
  and(): Node {
    const items = [this.not()];
    while (this.isKw("and")) {
      this.i++;
      items.push(this.not());
    }
    return items.length === 1 ? items[0]! : { k: "and", items };
  }
  not(): Node {
    if (this.isKw("not")) {
      this.i++;
      return { k: "not", e: this.not() };
    }
    return this.predicate();
  }
  predicate(): Node {
    const l = this.operand();
    const t = this.peek();
    if (t?.t === "op" && ["=", "<>", "<", ">", "<=", ">="].includes(t.v)) {
      this.i++;
      if (this.isKw("any") || this.isKw("all")) {
        const all = this.isKw("all");
        this.i++;
        this.expectOp("(");
        const r = this.operand();
        this.expectOp(")");
        return { k: "quantified", op: t.v, all, l, r };
      }
      return { k: "cmp", op: t.v, l, r: this.operand() };
    }
    if (this.isKw("is")) {
      this.i++;
      const negated = this.isKw("not");
      if (negated) this.i++;
      this.expectKw("null");
      return { k: "isnull", e: l, negated };
    }
    return l;
  }
  /** `::type` suffixes: the type's name, lower-case, without typmod. */
  casts(n: Node): Node {
    let node = n;
    while (this.isOp("::")) {
      this.i++;
      let type = this.ident();
      if (this.isOp(".")) {
        this.i++;
        type += `.${this.ident()}`;
      }
      while (
        this.isKw("varying") ||
        this.isKw("precision") ||
        this.isKw("with") ||
        this.isKw("without") ||
        this.isKw("time") ||
        this.isKw("zone")
      ) {
        const w = this.ident();
        if (TYPE_WORDS.has(w.toLowerCase())) type += ` ${w}`;
      }
      if (this.isOp("(")) {
        while (!this.isOp(")")) {
          if (!this.peek()) throw new Unsupported("unterminated type modifier");
          this.i++;
        }
        this.i++;
      }
      let array = false;
      if (this.isOp("[")) {
        this.expectOp("[");
        this.expectOp("]");
        array = true;
      }
      type = type.toLowerCase() + (array ? "[]" : "");
      if (node.k === "lit") node = { ...node, type };
      else if (node.k === "session" || node.k === "col" || node.k === "array") {
        // A cast of a session value or column to the column's type: Hasura casts the same way.
      } else throw new Unsupported("a cast of an expression");
    }
    return node;
  }
  operand(): Node {
    const t = this.peek();
    if (!t) throw new Unsupported("unexpected end");
    if (t.t === "str") {
      this.i++;
      return this.casts({ k: "lit", v: t.v, type: null, number: false });
    }
    if (t.t === "num") {
      this.i++;
      return this.casts({ k: "lit", v: t.v, type: null, number: true });
    }
    if (t.t === "op" && t.v === "(") {
      if (this.isKw("select", 1)) return this.casts(this.sessionSelect());
      this.i++;
      const inner = this.or();
      this.expectOp(")");
      return this.casts(inner);
    }
    if (t.t === "id" && !t.quoted) {
      const w = t.v.toLowerCase();
      if (w === "true" || w === "false") {
        this.i++;
        return { k: "bool", v: w === "true" };
      }
      if (w === "exists") {
        this.i++;
        return this.exists();
      }
      if (w === "array" && this.isOp("[", 1)) {
        this.i += 2;
        const items: Node[] = [];
        while (!this.isOp("]")) {
          items.push(this.operand());
          if (this.isOp(",")) this.i++;
          else if (!this.isOp("]")) throw new Unsupported("malformed ARRAY[…]");
        }
        this.i++;
        return this.casts({ k: "array", items });
      }
    }
    if (t.t === "id") {
      const first = this.ident();
      if (this.isOp(".")) {
        this.i++;
        const second = this.ident();
        if (this.isOp("(")) throw new Unsupported(`a call of ${first}.${second} outside a sub-select`);
        return this.casts({ k: "col", rel: first, name: second });
      }
      if (this.isOp("(")) throw new Unsupported(`a call of ${first}`);
      return this.casts({ k: "col", rel: null, name: first });
    }
    throw new Unsupported(`unexpected token at ${this.i}`);
  }
  /** `( SELECT hasura.<helper>(<literal>?) [AS x])`: a session variable. */
  sessionSelect(): Node {
    this.expectOp("(");
    this.expectKw("select");
    const schema = this.ident();
    this.expectOp(".");
    const fn = `${schema}.${this.ident()}`;
    const helper = SESSION_HELPERS[fn];
    if (!helper) throw new Unsupported(`the function ${fn} (not a session helper of sql/session.sql)`);
    this.expectOp("(");
    let variable = helper.variable;
    if (!this.isOp(")")) {
      const arg = this.peek();
      if (arg?.t !== "str" || helper.variable) throw new Unsupported(`the arguments of ${fn}`);
      this.i++;
      this.casts({ k: "lit", v: arg.v, type: null, number: false });
      variable = arg.v.toLowerCase();
    }
    this.expectOp(")");
    if (this.isKw("as")) {
      this.i++;
      this.ident();
    }
    this.expectOp(")");
    if (!variable || !/^x-hasura-/.test(variable)) throw new Unsupported(`${fn} of a name that is not x-hasura-…`);
    return { k: "session", name: variable, array: helper.array };
  }
  /** `EXISTS ( SELECT 1 FROM schema.table [alias] WHERE … )`. */
  exists(): Node {
    this.expectOp("(");
    this.expectKw("select");
    const one = this.peek();
    if (one?.t !== "num" || one.v !== "1") throw new Unsupported("EXISTS over something other than SELECT 1");
    this.i++;
    this.expectKw("from");
    const schema = this.ident();
    this.expectOp(".");
    const table = this.ident();
    let alias = table;
    if (this.peek()?.t === "id" && !this.isKw("where")) alias = this.ident();
    let where: Node | null = null;
    if (this.isKw("where")) {
      this.i++;
      where = this.or();
    }
    this.expectOp(")");
    return { k: "exists", schema, table, alias, where };
  }
}

export function parsePolicyExpression(text: string): Node {
  return new Parser(tokenize(text)).parseAll();
}
