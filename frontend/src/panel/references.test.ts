import { describe, expect, it } from "vitest";
import { choicesOf, COLLECTIONS, constantLabel, filterChoices, listPath, referenceLabel, referenceShape } from "./references";

const CHOICES = [
  { value: "1", label: "Welcome", detail: "Hello {{ contact.first_name }}" },
  { value: "2", label: "Renewal reminder", detail: "Your plan renews soon" },
  { value: "3", label: "Win back", detail: "We miss you" },
];

describe("filterChoices", () => {
  it("keeps every choice for an empty query", () => {
    expect(filterChoices(CHOICES, "  ")).toEqual(CHOICES);
  });

  it("matches every word in the name or detail, case-insensitively, names starting with it first", () => {
    expect(filterChoices(CHOICES, "WE").map((choice) => choice.value)).toEqual(["1", "3"]);
    expect(filterChoices(CHOICES, "miss").map((choice) => choice.value)).toEqual(["3"]);
    expect(filterChoices(CHOICES, "plan renews").map((choice) => choice.value)).toEqual(["2"]);
    expect(filterChoices(CHOICES, "nothing like it")).toEqual([]);
  });

  it("puts names that start with the query before names that only contain it", () => {
    const choices = [{ value: "a", label: "Big welcome" }, { value: "b", label: "Welcome" }];
    expect(filterChoices(choices, "welc").map((choice) => choice.value)).toEqual(["b", "a"]);
  });
});

describe("listPath", () => {
  it("sends the query to collections that search, and reads the first page of the others", () => {
    expect(listPath(COLLECTIONS.campaigns!, " spring sale ")).toBe("campaigns?limit=100&q=spring%20sale");
    expect(listPath(COLLECTIONS.templates!, "welcome")).toBe("templates?limit=100");
    expect(listPath(COLLECTIONS.members!, "")).toBe("members?limit=100");
  });
});

describe("collections name their objects", () => {
  it("shows a member by name and stores the address", () => {
    expect(COLLECTIONS.members!.toChoice({ id: 4, email: "ada@acme.test", name: "Ada", role: "admin" })).toEqual({
      value: "ada@acme.test", label: "Ada", detail: "ada@acme.test · admin",
    });
  });

  it("shows a contact by name, or by address when it has none", () => {
    expect(COLLECTIONS.contacts!.toChoice({ id: "c1", email: "x@y.test", first_name: "", last_name: "" }).label)
      .toBe("x@y.test");
  });

  it("shows a credential by name and stores its id (the API never answers a secret)", () => {
    expect(COLLECTIONS.credentials!.toChoice({ id: "k1", name: "Billing API", description: "Bearer" })).toEqual({
      value: "k1", label: "Billing API", detail: "Bearer",
    });
  });

  it("offers only the social connectors as social accounts, saying which network and which need attention", () => {
    const rows = [
      { id: "a", name: "Brand page", kind: "linkedin", category: "social", status: "active" },
      { id: "b", name: "Sales CRM", kind: "hubspot", category: "crm", status: "active" },
      { id: "c", name: "Our X", kind: "x", category: "social", status: "needs_attention" },
    ];
    expect(choicesOf(COLLECTIONS.social_accounts!, rows)).toEqual([
      { value: "a", label: "Brand page", detail: "LinkedIn page" },
      { value: "c", label: "Our X", detail: "X · needs attention" },
    ]);
    expect(choicesOf(COLLECTIONS.templates!, [{ id: "t", name: "Welcome", subject: "Hi" }])).toHaveLength(1);
  });

  it("shows a connector by name with its kind and status", () => {
    expect(COLLECTIONS.connectors!.toChoice({ id: "n1", name: "Sales CRM", kind: "hubspot", status: "active" }))
      .toEqual({ value: "n1", label: "Sales CRM", detail: "hubspot · active" });
    const rows = [
      { id: "a", name: "Brand page", kind: "linkedin", category: "social", status: "active" },
      { id: "b", name: "Sales CRM", kind: "hubspot", category: "crm", status: "active" },
    ];
    expect(choicesOf(COLLECTIONS.connectors!, rows).map((choice) => choice.value)).toEqual(["b"]);
  });

  it("links a workflow to its canvas", () => {
    expect(COLLECTIONS.workflows!.link?.("w1")).toBe("/builder/workflows/w1");
  });
});

describe("referenceShape", () => {
  it("reads a list with a fixed option beside it, and a single value", () => {
    const to = { anyOf: [{ type: "array", items: { type: "string" } }, { const: "workspace_admins", type: "string" }] };
    expect(referenceShape(to)).toEqual({ multiple: true, constants: ["workspace_admins"] });
    expect(referenceShape({ type: "string" })).toEqual({ multiple: false, constants: [] });
  });

  it("names fields and options in words", () => {
    expect(referenceLabel("Template Id")).toBe("Template");
    expect(referenceLabel("Assignee Email")).toBe("Assignee");
    expect(referenceLabel("To")).toBe("To");
    expect(constantLabel("workspace_admins")).toBe("All workspace admins");
  });
});
