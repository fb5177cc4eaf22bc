/** The problem with one field, said beside it (the field points here with aria-describedby). */
export function FieldProblem({ id, problem }: { id: string; problem: string | undefined }) {
  if (!problem) return null;
  return (
    <p className="field-problem" id={id}>
      {problem}
    </p>
  );
}

/** The attributes that tie a control to its problem, when it has one. */
export function problemProps(id: string, problem: string | undefined) {
  return problem ? { "aria-invalid": true as const, "aria-describedby": id } : {};
}

/** A safe element id made of a field path ("events[1].after" → "problem-events-1-after"). */
export function problemId(path: string): string {
  return `problem-${path.replace(/[^a-zA-Z0-9]+/g, "-").replace(/-$/, "")}`;
}
