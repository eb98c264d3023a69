/** Asserts that a configuration is refused by loadConfig with a ConfigError naming `key`. */
import type { Test } from "tap";
import { ConfigError, loadConfig } from "../../server/config.ts";

export function expectConfigError(t: Test, env: Record<string, string>, key: string, message: RegExp): void {
  const err = (() => {
    try {
      loadConfig(env);
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof ConfigError, `${JSON.stringify(env)}: ConfigError`);
  t.equal((err as ConfigError).key, key);
  t.match((err as Error).message, message);
}
