// Loaded on demand (RuleField's React.lazy): react-querybuilder stays out of the builder's first load.
import { type KeyboardEvent, useEffect, useRef, useState } from "react";
import { ExpressionView, type Flush, JsonView } from "./TextViews";
import { VisualBuilder } from "./VisualBuilder";
import { type Imported, importRule, sameRule } from "./ruleModel";
import "./conditions.css";

const VIEWS = [
  { id: "visual", label: "Visual" },
  { id: "expression", label: "Expression" },
  { id: "json", label: "JSON" },
] as const;
type View = (typeof VIEWS)[number]["id"];

interface RuleEditorProps {
  id: string;
  rule: unknown;
  onChange: (rule: unknown) => void;
}

/**
 * One rule, three views of it: the visual builder, the expression text (CONTRACT §7a) and the JsonLogic. Each view
 * reads the rule when it opens and writes it as it is edited, so switching never loses what was applied. A rule
 * the visual builder cannot show opens in the expression view, with the reason said, and is never rewritten.
 */
export default function RuleEditor({ id, rule, onChange }: RuleEditorProps) {
  const [imported, setImported] = useState<Imported>(() => importRule(rule));
  const [view, setView] = useState<View>(() => ("query" in imported ? "visual" : "expression"));
  // A new builder (and a new text view) for each opening, so each starts from the rule as it is now.
  const [opening, setOpening] = useState(0);

  // The rule as last written by a view: the form's copy (`rule`) catches up on its next render.
  const latest = useRef(rule);
  // What the open text view holds but has not applied yet: applied (or refused, with the reason) before leaving it.
  const flush = useRef<Flush | null>(null);

  // A change that did not come from here (undo, redo, a draft reloaded): every view starts again from it.
  useEffect(() => {
    if (sameRule(rule, latest.current)) return;
    latest.current = rule;
    const next = importRule(rule);
    setImported(next);
    if (!("query" in next)) setView((current) => (current === "visual" ? "expression" : current));
    setOpening((count) => count + 1);
  }, [rule]);

  const open = async (next: View) => {
    if (next === view) return;
    if (flush.current && !(await flush.current())) return; // the text view says what to fix
    if (next === "visual") setImported(importRule(latest.current));
    setView(next);
    setOpening((count) => count + 1);
  };
  const onVisualChange = (next: unknown) => {
    latest.current = next;
    onChange(next);
  };
  // Text views say at once whether what they applied can be shown visually.
  const onTextChange = (next: unknown) => {
    onVisualChange(next);
    setImported(importRule(next));
  };
  const onTabKey = (event: KeyboardEvent<HTMLButtonElement>) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const index = (VIEWS.findIndex((item) => item.id === view) + step + VIEWS.length) % VIEWS.length;
    const next = VIEWS[index]!.id;
    void open(next).then(() => document.getElementById(`${id}-tab-${next}`)?.focus());
  };

  return (
    <div className="rule-editor">
      <div role="tablist" aria-label="How to edit the rule" className="rule-tabs">
        {VIEWS.map((item) => (
          <button
            key={item.id}
            type="button"
            role="tab"
            id={`${id}-tab-${item.id}`}
            aria-selected={view === item.id}
            aria-controls={`${id}-view`}
            tabIndex={view === item.id ? 0 : -1}
            onClick={() => void open(item.id)}
            onKeyDown={onTabKey}
          >
            {item.label}
          </button>
        ))}
      </div>
      {"problem" in imported && (
        <p className="notice rule-note" role="note">
          The visual builder cannot show this rule: {imported.problem}. It is kept exactly as it is; edit it as an
          expression or as JSON.
        </p>
      )}
      <div role="tabpanel" id={`${id}-view`} aria-labelledby={`${id}-tab-${view}`} key={opening}>
        {view === "visual" &&
          ("query" in imported ? (
            <VisualBuilder imported={imported} onChange={onVisualChange} />
          ) : (
            <button
              type="button"
              onClick={() => {
                onVisualChange(undefined);
                setImported(importRule(undefined));
                setOpening((count) => count + 1);
              }}
            >
              Clear this rule and build a new one here
            </button>
          ))}
        {view === "expression" && <ExpressionView id={id} rule={latest.current} onChange={onTextChange} flush={flush} />}
        {view === "json" && <JsonView id={id} rule={latest.current} onChange={onTextChange} flush={flush} />}
      </div>
    </div>
  );
}
