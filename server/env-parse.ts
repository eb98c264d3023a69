/**
 * The primitives every setting is read with, and ConfigError. A leaf (it
 * imports nothing), so config.ts, auth/auth-config.ts and the CLIs share one
 * rule for what a number, a boolean, a URL, a list or JSON is, and one
 * error that names the variable (startup-errors.ts prints it as one line).
 *
 * Unset and empty are the same everywhere: the default.
 */

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.key = key;
    this.name = "ConfigError";
  }
}

function given(env: Env, key: string): string | undefined {
  const raw = env[key];
  return raw === undefined || raw === "" ? undefined : raw;
}

export function bool(env: Env, key: string, fallback: boolean): boolean {
  const raw = given(env, key);
  if (raw === undefined) return fallback;
  if (/^(true|t|yes|y|1)$/i.test(raw)) return true;
  if (/^(false|f|no|n|0)$/i.test(raw)) return false;
  throw new ConfigError(key, `expected true or false, got ${JSON.stringify(raw)}`);
}

/**
 * A whole number within [min, max]. Digits only: a sign, a decimal point, an
 * exponent or a unit ("-1", "0.5", "1e3", "10s") is refused rather than
 * guessed at. Every caller passes a finite max (the bound is documented with
 * the variable), so no setting can overflow a timer or a counter.
 */
export function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = given(env, key);
  if (raw === undefined) return fallback;
  return intValue(key, raw, min, max);
}

/** `int` for a value that is not itself a variable (a CLI flag, a field of a JSON setting). */
export function intValue(key: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(key, `expected an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(key, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** One of `choices`, in any case, returned as spelled in `choices`. */
export function oneOf<T extends string>(env: Env, key: string, fallback: T, choices: readonly T[]): T {
  const raw = given(env, key);
  if (raw === undefined) return fallback;
  const found = choices.find((c) => c.toUpperCase() === raw.toUpperCase());
  if (found === undefined) throw new ConfigError(key, `must be ${choices.join(" or ")}, got ${JSON.stringify(raw)}`);
  return found;
}

/** A comma list; entries trimmed, empty ones dropped. */
export function list(env: Env, key: string): string[] {
  return (given(env, key) ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Parsed JSON, or undefined when unset. */
export function json(env: Env, key: string): unknown {
  const raw = given(env, key);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(key, "is not valid JSON");
  }
}

/** `invalid` is the whole message, so a caller can say what a URL should look like. */
export function urlValue(key: string, raw: string, invalid = "is not a valid URL"): URL {
  try {
    return new URL(raw);
  } catch {
    throw new ConfigError(key, invalid);
  }
}

/** An http:// or https:// URL. `field` names the part of the setting it is in (e.g. `"jwk_url"`). */
export function httpUrl(key: string, raw: string, field?: string): URL {
  const subject = field ? `${field} ` : "";
  const url = urlValue(key, raw, `${subject}is not a valid URL`);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(key, `${subject}must be http(s)`);
  return url;
}
