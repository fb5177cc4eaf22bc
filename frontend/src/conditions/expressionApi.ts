import { ApiError, api } from "../api/client";

// CONTRACT §7a: the server writes a rule as an expression and compiles an expression back, so the text shown
// here is exactly what the server reads (workflows/expression_views.py).

export function renderExpression(rule: unknown): Promise<string> {
  return api<{ js: string }>("expressions/render", { method: "POST", body: { rule } }).then((answer) => answer.js);
}

export function compileExpression(js: string): Promise<unknown> {
  return api<{ rule: unknown }>("expressions/compile", { method: "POST", body: { js } }).then((answer) => answer.rule);
}

/** Say where and why an expression does not compile, from the 400's details (line and column are 1-based). */
export function compileProblem(error: unknown): string {
  if (error instanceof ApiError && error.code === "expression_invalid") {
    const { line, column, js } = error.details as { line?: number; column?: number; js?: string };
    if (line && column) return `Line ${line}, column ${column}: ${js ?? error.message}`;
  }
  return error instanceof Error ? error.message : "The expression could not be checked. Try again.";
}
