import { describe, expect, it } from "vitest";
import { canonical, exportQuery, importRule, sameJson } from "./ruleModel";

const email = { var: "contact.email" };
const tags = { var: "contact.tags" };

// Every operation of CONTRACT §7 and the evaluator's string operations, alone, negated and nested.
const REPRESENTABLE: Record<string, unknown> = {
  "==": { "==": [{ var: "contact.status" }, "subscribed"] },
  "!=": { "!=": [{ var: "contact.status" }, "bounced"] },
  "===": { "===": [{ var: "contact.score" }, 10] },
  "!==": { "!==": [{ var: "event.type" }, "email.opened"] },
  "<": { "<": [{ var: "contact.score" }, 5] },
  "<=": { "<=": [{ var: "contact.score" }, 5.5] },
  ">": { ">": [{ var: "enrollment.steps" }, 3] },
  ">=": { ">=": [{ var: "contact.fields.age" }, 18] },
  "boolean value": { "==": [{ var: "contact.fields.vip" }, true] },
  contains: { contains: [tags, "trial"] },
  "contains in a free field": { contains: [{ var: "contact.fields.company name" }, "acme"] },
  regex: { regex: [email, "@example\\.(com|org)$"] },
  starts_with: { starts_with: [{ var: "event.properties.url" }, "https://"] },
  ends_with: { ends_with: [email, ".edu"] },
  lower: { "==": [{ lower: [email] }, "ada@example.com"] },
  upper: { starts_with: [{ upper: [{ var: "contact.fields.country" }] }, "FR"] },
  length: { ">": [{ length: [tags] }, 2] },
  days_since: { ">=": [{ days_since: [{ var: "enrollment.entered_at" }] }, 7] },
  "in (one of a list)": { in: [{ var: "contact.status" }, ["subscribed", "unsubscribed"]] },
  "in (includes)": { in: ["trial", tags] },
  email_event: { email_event: { event: "clicked", node: "n3", url_contains: "/book-demo", within: "P3D" } },
  "email_event, event only": { email_event: { event: "opened" } },
  event_count: { ">=": [{ event_count: { type: "email.opened", within: "P30D" } }, 2] },
  "event_count without window": { "<": [{ event_count: { type: "page.viewed" } }, 1] },
  in_segment: { in_segment: ["5f0c7a4e-9b1d-4c7e-8a55-0e2d1f6b9c11"] },
  "NOT of a leaf": { "!": [{ in_segment: ["seg-1"] }] },
  "NOT of a group": { "!": [{ or: [{ contains: [tags, "a"] }, { contains: [tags, "b"] }] }] },
  "the issue's example": {
    and: [
      { contains: [tags, "trial"] },
      {
        or: [
          { email_event: { event: "clicked", within: "P3D" } },
          { ">=": [{ event_count: { type: "email.opened", within: "P30D" } }, 2] },
        ],
      },
    ],
  },
  "deep nesting": {
    or: [
      { and: [{ "==": [{ var: "contact.status" }, "subscribed"] }, { "!": [{ and: [{ regex: [email, "x"] }, { in_segment: ["s"] }] }] }] },
      { and: [{ "<": [{ days_since: [{ var: "contact.fields.trial_end" }] }, 3] }, { "!": [{ email_event: { event: "replied" } }] }] },
    ],
  },
};

// Rules the builder has no row for: they must be refused, never rewritten.
const UNREPRESENTABLE: Record<string, unknown> = {
  arithmetic: { ">": [{ "+": [{ var: "contact.score" }, 1] }, 5] },
  "var with a default": { "==": [{ var: ["contact.status", "subscribed"] }, "subscribed"] },
  "reversed comparison": { ">": [5, { var: "contact.score" }] },
  "two fields compared": { "==": [{ var: "contact.email" }, { var: "contact.fields.backup" }] },
  "between (three arguments)": { "<": [1, { var: "contact.score" }, 10] },
  "a constant": true,
  "a bare var": { var: "contact.fields.vip" },
  "double negation": { "!!": [{ var: "contact.tags" }] },
  if: { if: [{ var: "contact.fields.vip" }, true, false] },
  some: { some: [tags, { "==": [{ var: "" }, "vip"] }] },
  "event_count alone": { event_count: { type: "email.opened" } },
  "null value": { "==": [{ var: "contact.fields.plan" }, null] },
  "unknown operation": { frobnicate: [1] },
  "an operation nested in a value": { "==": [{ var: "contact.status" }, { cat: ["a", "b"] }] },
  "empty and": { and: [] },
  "a path with a colon": { "==": [{ var: "contact.fields.a:b" }, 1] },
  "a leaf inside an odd place": { and: [{ contains: [tags, "a"] }, { "+": [1, 2] }] },
};

describe("importRule then exportQuery", () => {
  for (const [name, rule] of Object.entries(REPRESENTABLE)) {
    it(`gives back ${name}`, () => {
      const imported = importRule(rule);
      expect("query" in imported ? "shown" : imported.problem).toBe("shown");
      if ("query" in imported) expect(exportQuery(imported.query)).toEqual(canonical(rule));
    });
  }

  it("reads the non-list and single-item forms the server also accepts", () => {
    const imported = importRule({ and: [{ "!": { in_segment: "s1" } }] });
    if (!("query" in imported)) throw new Error(imported.problem);
    expect(exportQuery(imported.query)).toEqual({ "!": [{ in_segment: ["s1"] }] });
  });

  it("treats no rule (or the form's empty object) as an empty builder, and an empty builder as no rule", () => {
    for (const rule of [undefined, null, {}]) {
      const imported = importRule(rule);
      if (!("query" in imported)) throw new Error(imported.problem);
      expect(imported.query.rules).toEqual([]);
      expect(exportQuery(imported.query)).toBeUndefined();
    }
  });
});

describe("rules the visual builder cannot show", () => {
  for (const [name, rule] of Object.entries(UNREPRESENTABLE)) {
    it(`refuses ${name} and says why`, () => {
      const imported = importRule(rule);
      expect("problem" in imported).toBe(true);
      if ("problem" in imported) expect(imported.problem.length).toBeGreaterThan(10);
    });
  }
});

describe("the reason given for a rule the builder cannot show", () => {
  it("names the part at fault", () => {
    const reason = (rule: unknown) => {
      const imported = importRule(rule);
      return "problem" in imported ? imported.problem : "shown";
    };
    expect(reason(UNREPRESENTABLE.arithmetic)).toMatch(/^arithmetic \(“\+”\)/);
    expect(reason(UNREPRESENTABLE["var with a default"])).toMatch(/^a “var” with a default value/);
    expect(reason(UNREPRESENTABLE.some)).toMatch(/^“some”/);
    expect(reason(UNREPRESENTABLE["unknown operation"])).toMatch(/^the operation “frobnicate”/);
  });
});

describe("canonical", () => {
  it("changes forms, never meaning", () => {
    expect(canonical({ "!": { var: ["x"] } })).toEqual({ "!": [{ var: "x" }] });
    expect(canonical({ and: [{ or: [{ "==": [1, 1] }] }] })).toEqual({ "==": [1, 1] });
    expect(canonical({ email_event: { event: "opened" } })).toEqual({ email_event: { event: "opened" } });
    expect(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(sameJson({ a: [1] }, { a: [1, 2] })).toBe(false);
  });
});

// The shared suite the server's evaluator passes (../shared/conformance/, not copied into the project): every
// rule the builder accepts must come back unchanged; the others must be refused, not crash.
// Node's fs, named through a variable: the builder's type checking has no Node types (it runs in the browser).
const nodeFs = "node:fs";
const { readFileSync } = (await import(/* @vite-ignore */ nodeFs)) as {
  readFileSync: (path: URL, encoding: "utf8") => string;
};
const SUITE = new URL("../../../../shared/conformance/jsonlogic-tests.json", import.meta.url);

describe("the JsonLogic conformance suite", () => {
  const cases = (JSON.parse(readFileSync(SUITE, "utf8")) as unknown[]).filter(
    (item): item is { rule: unknown } => typeof item === "object" && item !== null && "rule" in item,
  );

  it("round-trips every rule the builder shows and refuses the rest", () => {
    let shown = 0;
    for (const { rule } of cases) {
      const imported = importRule(rule);
      if ("query" in imported) {
        shown += 1;
        // null is "no rule": an empty builder, which writes no rule (undefined) back.
        expect(exportQuery(imported.query), JSON.stringify(rule)).toEqual(rule === null ? undefined : canonical(rule));
      }
    }
    expect(cases.length).toBeGreaterThan(200);
    expect(shown).toBeGreaterThan(0);
  });
});
