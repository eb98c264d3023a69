/**
 * Shared by the Hasura-dialect tests (walkthrough, school-clients,
 * dialects-agree, the console's walkthrough): the two Hasura endpoints,
 * seed 002's query texts and assertions on Hasura's response shapes.
 *
 *   /v1/graphql        every response HTTP 200, errors in the envelope
 *                      {"errors":[{"message", "extensions":{"path","code"}}]}
 *   /v1alpha1/graphql  the same body with the real HTTP status
 */
import type { Test } from "tap";
import type { GqlResponse } from "../helpers/server.ts";

export const V1 = "/v1/graphql";
export const V1ALPHA1 = "/v1alpha1/graphql";
/** PostGraphile's own dialect. */
export const PG = "/graphql";

// Seed 002's query texts, verbatim (test/hasura/walkthrough.test.ts over HTTP, test/console/console-walkthrough.test.ts in /console).
export const ARTICLES = `query {
  article {
    id
    title
    author {
      name
    }
  }
}`;
export const insertTag = (name: string) => `mutation {
  insert_tag(objects:[{name:"${name}"}]) {
    returning {
      name
    }
  }
}`;
export const TAG = "example-tag";

/** A successful Hasura response: HTTP 200, no `errors`; returns `data`. */
export function dataOf(t: Test, res: GqlResponse, label: string): any {
  t.equal(res.status, 200, `${label}: HTTP 200`);
  t.notOk(res.body?.errors, `${label}: no errors (${JSON.stringify(res.body?.errors)})`);
  return res.body?.data ?? null;
}

export interface ExpectedError {
  status: number;
  code: string;
  /** Exact text, or a pattern. */
  message?: string | RegExp;
  /** extensions.path; omitted: not checked. */
  path?: string;
}

/** A Hasura error: the status, one error in the envelope with this code (and message, path), no data. */
export function expectHasuraError(t: Test, res: GqlResponse, label: string, want: ExpectedError): void {
  t.equal(res.status, want.status, `${label}: HTTP ${want.status} (${JSON.stringify(res.body)})`);
  const errors = res.body?.errors;
  t.ok(Array.isArray(errors) && errors.length >= 1, `${label}: an errors array`);
  const err = errors?.[0] ?? {};
  t.equal(err.extensions?.code, want.code, `${label}: extensions.code ${want.code}`);
  if (typeof want.message === "string") t.equal(err.message, want.message, `${label}: message`);
  else if (want.message) t.match(err.message, want.message, `${label}: message`);
  if (want.path !== undefined) t.equal(err.extensions?.path, want.path, `${label}: extensions.path`);
  t.notOk(res.body?.data, `${label}: no data`);
}

/** Rows sorted by a numeric key. */
export function sortById<T extends Record<string, unknown>>(rows: readonly T[], key = "id"): T[] {
  return [...rows].sort((a, b) => Number(a[key]) - Number(b[key]));
}
