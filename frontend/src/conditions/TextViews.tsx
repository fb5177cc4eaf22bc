import { type MutableRefObject, useEffect, useRef, useState } from "react";
import { errorText } from "../api/client";
import { compileExpression, compileProblem, renderExpression } from "./expressionApi";
import { isNoRule } from "./ruleModel";

interface TextViewProps {
  id: string;
  rule: unknown;
  onChange: (rule: unknown) => void;
}

/** Apply what is typed now; resolves false when it cannot be (the view then shows why). */
export type Flush = () => Promise<boolean>;

type Status = { kind: "loading" } | { kind: "applied" } | { kind: "checking" } | { kind: "problem"; text: string };

// Compile after a pause in typing, not on every keystroke.
const COMPILE_PAUSE_MS = 400;

/** The rule as the expression text of CONTRACT §7a, rendered and compiled by the server. */
export function ExpressionView({ id, rule, onChange, flush }: TextViewProps & { flush: MutableRefObject<Flush | null> }) {
  const [text, setText] = useState("");
  const [status, setStatus] = useState<Status>({ kind: "loading" });
  const [renderFailure, setRenderFailure] = useState<string | null>(null);
  const latest = useRef(0); // the number of the newest compile: older answers are ignored
  const initial = useRef(rule);

  useEffect(() => {
    let live = true;
    if (isNoRule(initial.current)) {
      setStatus({ kind: "applied" });
      return;
    }
    renderExpression(initial.current)
      .then((js) => live && (setText(js), setStatus({ kind: "applied" })))
      .catch((error: unknown) => {
        if (!live) return;
        setRenderFailure(errorText(error));
        setStatus({ kind: "applied" });
      });
    return () => {
      live = false;
    };
  }, []);

  // Compile `value` and apply it when it is still the newest text; say why when it does not compile.
  const apply = (value: string, number: number): Promise<boolean> => {
    if (!value.trim()) {
      onChange(undefined);
      setStatus({ kind: "applied" });
      return Promise.resolve(true);
    }
    const compiling = compileExpression(value).then(
      (compiled) => {
        if (number !== latest.current) return true;
        onChange(compiled);
        setStatus({ kind: "applied" });
        return true;
      },
      (error: unknown) => {
        if (number === latest.current) setStatus({ kind: "problem", text: compileProblem(error) });
        return false;
      },
    );
    running.current = compiling;
    return compiling;
  };
  const pending = useRef<string | null>(null); // typed, waiting for the pause
  const running = useRef<Promise<boolean> | null>(null); // the newest compile, perhaps still on its way
  useEffect(() => {
    flush.current = () => {
      if (pending.current === null) return running.current ?? Promise.resolve(status.kind !== "problem");
      const value = pending.current;
      pending.current = null;
      return apply(value, ++latest.current);
    };
    return () => {
      flush.current = null;
    };
  });

  const edit = (value: string) => {
    setText(value);
    setStatus({ kind: "checking" });
    pending.current = value;
    const number = ++latest.current;
    window.setTimeout(() => {
      if (number !== latest.current || pending.current === null) return;
      pending.current = null;
      void apply(value, number);
    }, COMPILE_PAUSE_MS);
  };

  return (
    <div className="rule-text">
      {renderFailure && (
        <p className="notice notice-error" role="alert">
          This rule cannot be written as an expression ({renderFailure}). It is kept as it is: edit it in the JSON
          view, or type a new expression here to replace it.
        </p>
      )}
      <label htmlFor={`${id}-expression`}>Expression</label>
      <textarea
        id={`${id}-expression`}
        className="rule-code"
        value={text}
        rows={5}
        spellCheck={false}
        disabled={status.kind === "loading"}
        aria-describedby={`${id}-expression-status`}
        placeholder={'contact.tags.includes("trial") && eventCount("email.opened", "P30D") >= 2'}
        onChange={(event) => edit(event.target.value)}
      />
      <TextStatus id={`${id}-expression-status`} status={status} />
    </div>
  );
}

/** The rule as JsonLogic text; applied whenever it parses. */
export function JsonView({ id, rule, onChange, flush }: TextViewProps & { flush: MutableRefObject<Flush | null> }) {
  const [text, setText] = useState(() => (isNoRule(rule) ? "" : JSON.stringify(rule, null, 2)));
  const [status, setStatus] = useState<Status>({ kind: "applied" });
  // Text that does not parse yet is not left behind by switching views.
  useEffect(() => {
    flush.current = () => Promise.resolve(status.kind !== "problem");
    return () => {
      flush.current = null;
    };
  });
  return (
    <div className="rule-text">
      <label htmlFor={`${id}-json`}>JsonLogic</label>
      <textarea
        id={`${id}-json`}
        className="rule-code"
        value={text}
        rows={8}
        spellCheck={false}
        aria-describedby={`${id}-json-status`}
        onChange={(event) => {
          const value = event.target.value;
          setText(value);
          if (!value.trim()) {
            onChange(undefined);
            setStatus({ kind: "applied" });
            return;
          }
          try {
            onChange(JSON.parse(value));
            setStatus({ kind: "applied" });
          } catch (error) {
            setStatus({ kind: "problem", text: `Not valid JSON yet: ${(error as Error).message}` });
          }
        }}
      />
      <TextStatus id={`${id}-json-status`} status={status} />
    </div>
  );
}

function TextStatus({ id, status }: { id: string; status: Status }) {
  const text = {
    loading: "Writing the rule as an expression…",
    checking: "Checking…",
    applied: "Applied to the rule.",
    problem: status.kind === "problem" ? `Not applied: ${status.text}. Fix it (or empty it to remove the rule) to switch views.` : "",
  }[status.kind];
  return (
    <p id={id} className={status.kind === "problem" ? "field-problem" : "muted"} role="status">
      {text}
    </p>
  );
}
