import { describe, expect, it } from "vitest";
import { CREATE, galleryPath, initialAnswers, installBody, statsText, unanswered } from "./installLogic";
import type { MissingItem, TemplateParameter } from "./types";

const SEGMENT: MissingItem = { id: "audience", kind: "segment", name: "Webinar audience", message: "", can_create: true };
const URL_PARAMETER: MissingItem = { id: "crm_url", kind: "parameter", name: "The CRM's URL", message: "" };
const PARAMETERS: TemplateParameter[] = [
  { id: "crm_url", label: "The CRM's URL", type: "url", default: null, description: "", required: true },
  { id: "threshold", label: "Threshold", type: "number", default: 50, description: "", required: false },
];

describe("galleryPath", () => {
  it("leaves out empty filters and trims the search", () => {
    expect(galleryPath({ category: "", q: "  ", sort: "popular" })).toBe("workflow-templates?sort=popular&limit=500");
    expect(galleryPath({ category: "sales", q: " break-up ", sort: "newest" })).toBe(
      "workflow-templates?sort=newest&limit=500&category=sales&q=break-up",
    );
  });
});

describe("the install dialog's answers", () => {
  it("creates objects by default and waits for parameters", () => {
    const answers = initialAnswers([SEGMENT, URL_PARAMETER]);
    expect(answers).toEqual({ audience: CREATE, crm_url: "" });
    expect(unanswered([SEGMENT, URL_PARAMETER], answers).map((item) => item.id)).toEqual(["crm_url"]);
  });

  it("sends objects as resources, parameters typed, and only the parameters the user changed", () => {
    const body = installBody(
      [SEGMENT, URL_PARAMETER],
      { audience: "1b3c", crm_url: " https://crm.example.com/hook " },
      PARAMETERS,
      { threshold: "70", crm_url: "" },
    );
    expect(body).toEqual({
      resources: { audience: "1b3c" },
      parameters: { threshold: 70, crm_url: "https://crm.example.com/hook" },
    });
  });
});

describe("statsText", () => {
  it("shows rates only when the server gives them", () => {
    const hidden = { installs: 1, published: 0, enrollments: null, completion_rate: null, goal_rate: null, rates_hidden_because: "x" };
    expect(statsText(hidden)).toBe("1 install · 0 published");
    expect(statsText({ ...hidden, installs: 3, published: 2, enrollments: 40, completion_rate: 0.625, goal_rate: 0.1 })).toBe(
      "3 installs · 2 published · 63 % completed · 10 % reached a goal",
    );
  });
});
