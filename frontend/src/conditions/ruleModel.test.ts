import { describe, expect, it } from "vitest";
import corpus from "./ruleCorpus.json";
import { canonical, exportQuery, importRule, sameJson } from "./ruleModel";

// Every operation of CONTRACT §7 and the evaluator's string operations, alone, negated and nested; and rules the
// builder has no row for, which must be refused, never rewritten. Shared with the server's tests
// (tests/engine/test_rule_widget.py checks the first list against its validator and expression round trip).
const REPRESENTABLE = corpus.representable as Record<string, unknown>;
const UNREPRESENTABLE = corpus.unrepresentable as Record<string, unknown>;

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
    expect(canonical({ sms_event: { event: "delivered" } })).toEqual({ sms_event: { event: "delivered" } });
    expect(canonical({ push_event: { event: "clicked" } })).toEqual({ push_event: { event: "clicked" } });
    expect(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(sameJson({ a: [1] }, { a: [1, 2] })).toBe(false);
  });
});

// The shared suite the server's evaluator passes (../shared/conformance/, not copied into the project): every
// rule the builder accepts must come back unchanged; the others must be refused, not crash.
// How many rules of the suite the builder shows (the rest use arithmetic, loops, constants...): a change here
// means the builder reads more, or fewer, kinds of rule.
const SHOWN_CONFORMANCE_RULES = 3;

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
    expect(cases.length).toBe(278);
    expect(shown).toBe(SHOWN_CONFORMANCE_RULES);
  });
});
