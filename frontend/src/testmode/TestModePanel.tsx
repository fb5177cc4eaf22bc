import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useReactFlow } from "@xyflow/react";
import { useWorkflowVersions } from "../api/queries";
import type { NodeTypeInfo, SimulationResult, Workflow } from "../api/types";
import { useCanvas, useGraph } from "../canvas/CanvasContext";
import { ErrorNotice } from "../components/ErrorNotice";
import { ContactSection } from "./ContactSection";
import { EventScriptSection } from "./EventScriptSection";
import { FieldProblem, problemId, problemProps } from "./FieldProblem";
import { graphSignature, highlightOf, type PathHighlight } from "./highlight";
import { ResultView } from "./ResultView";
import {
  buildRequest,
  EMPTY_CONTACT,
  eventTypesFor,
  localNow,
  problemsFromDetails,
  type FieldProblems,
  type TestScript,
} from "./script";
import { detailsOf, useSimulation } from "./useSimulation";
import "./testmode.css";

interface TestModePanelProps {
  workflow: Workflow;
  nodeTypes: NodeTypeInfo[];
  saveNow: () => Promise<boolean>;
  onHighlight: (highlight: PathHighlight | null) => void;
  onFocusNode: (nodeId: string) => void;
  onClose: () => void;
}

// The fields this form shows; a problem the API names elsewhere is listed under the error instead.
const FORM_FIELD =
  /^(start|until|version|contact\.(email|timezone|tags|fields(\[\d+\])?)|events\[\d+\](\.(after|at|type|properties(\[\d+\])?))?)$/;

/** Test mode: describe a contact and what they do, run the workflow for them, and see the path it takes. */
export function TestModePanel({ workflow, nodeTypes, saveNow, onHighlight, onFocusNode, onClose }: TestModePanelProps) {
  const { nodeTypes: typesByName } = useCanvas();
  const nodes = useGraph((state) => state.nodes);
  const edges = useGraph((state) => state.edges);
  const versions = useWorkflowVersions(workflow.id);
  const [script, setScript] = useState<TestScript>(() => ({
    version: "draft",
    contact: EMPTY_CONTACT,
    start: localNow(),
    events: [],
    until: "60 days",
  }));
  const [formProblems, setFormProblems] = useState<FieldProblems>({});
  const [result, setResult] = useState<SimulationResult | null>(null);
  const [ranOn, setRanOn] = useState<string | null>(null);
  const signature = useMemo(() => graphSignature(nodes, edges), [nodes, edges]);
  const simulation = useSimulation(workflow.id, saveNow);

  const eventTypes = useMemo(
    () => eventTypesFor(nodeTypes, nodes.map((node) => node.data.config)),
    [nodeTypes, nodes],
  );
  const highlight = useMemo(() => (result ? highlightOf(result, edges) : null), [result, edges]);
  useEffect(() => onHighlight(highlight), [highlight, onHighlight]);
  const flow = useReactFlow();
  // A new result is announced by moving to it (it is below the form, often out of view), and the canvas, narrowed
  // by this panel, is fitted so that the whole path and what it left out are in view.
  useEffect(() => {
    // Once the canvas has taken its narrower width (next frame), fit the workflow in what is left of it.
    const frame = requestAnimationFrame(() => void flow.fitView({ maxZoom: 1 }));
    return () => cancelAnimationFrame(frame);
  }, [flow]);
  useEffect(() => {
    if (!result) return;
    document.getElementById("test-result-heading")?.focus();
    void flow.fitView({ maxZoom: 1, duration: 200 });
  }, [result, flow]);

  const apiProblems = problemsFromDetails(detailsOf(simulation.error));
  const problems = { ...apiProblems, ...formProblems };
  const elsewhere = Object.entries(apiProblems).filter(([path]) => !FORM_FIELD.test(path));

  const run = (event: FormEvent) => {
    event.preventDefault();
    const built = buildRequest(script);
    if (!built.ok) {
      setFormProblems(built.problems);
      return;
    }
    setFormProblems({});
    simulation.reset();
    // Only a run of the draft is of what the canvas shows.
    const graphRun = built.request.version === "draft" ? signature : null;
    simulation.mutate(built.request, {
      onSuccess: (answer) => {
        setResult(answer);
        setRanOn(graphRun);
      },
    });
  };

  const set = (change: Partial<TestScript>) => setScript((current) => ({ ...current, ...change }));

  return (
    <aside className="test-panel" aria-label="Test mode">
      <header>
        <h2>Test mode</h2>
        <button type="button" onClick={onClose}>
          Leave test mode
        </button>
      </header>
      <p className="muted">
        Runs the workflow for an imaginary contact on a virtual clock: nothing is sent, stored or changed.
      </p>
      <form onSubmit={run} noValidate>
        <label htmlFor="test-version">Version to test</label>
        <select id="test-version" value={script.version} onChange={(event) => set({ version: event.target.value })}>
          <option value="draft">The draft (saved first)</option>
          {(versions.data ?? []).map((version) => (
            <option key={version.number} value={String(version.number)}>
              Published version {version.number}
            </option>
          ))}
        </select>
        <FieldProblem id={problemId("version")} problem={problems.version} />
        <ContactSection contact={script.contact} problems={problems} onChange={(contact) => set({ contact })} />
        <section className="test-section" aria-labelledby="test-when-heading">
          <h3 id="test-when-heading">When</h3>
          <label htmlFor="test-start">Start (your time)</label>
          <input
            id="test-start"
            type="datetime-local"
            value={script.start}
            onChange={(event) => set({ start: event.target.value })}
            {...problemProps(problemId("start"), problems.start)}
          />
          <FieldProblem id={problemId("start")} problem={problems.start} />
          <label htmlFor="test-until">Stop after</label>
          <input
            id="test-until"
            value={script.until}
            placeholder="60 days"
            onChange={(event) => set({ until: event.target.value })}
            {...problemProps(problemId("until"), problems.until)}
          />
          <FieldProblem id={problemId("until")} problem={problems.until} />
        </section>
        <EventScriptSection
          events={script.events}
          eventTypes={eventTypes}
          problems={problems}
          onChange={(events) => set({ events })}
        />
        {Object.keys(formProblems).length > 0 && (
          <p className="notice notice-error" role="alert">
            Some fields need fixing before the test can run: each says what is wrong.
          </p>
        )}
        {simulation.error && (
          <div>
            <ErrorNotice error={simulation.error} />
            {elsewhere.length > 0 && (
              <ul className="field-problem">
                {elsewhere.map(([path, message]) => (
                  <li key={path}>
                    {path}: {message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" className="primary" disabled={simulation.isPending}>
          {simulation.isPending ? "Running…" : "Run the test"}
        </button>
      </form>
      {result && ranOn !== null && ranOn !== signature && (
        <p className="notice notice-warning" role="status">
          The workflow changed since this run: run the test again to see the path it takes now.
        </p>
      )}
      {result && highlight && (
        <ResultView
          result={result}
          highlight={highlight}
          nodes={nodes}
          nodeTypes={typesByName}
          onFocusNode={onFocusNode}
        />
      )}
    </aside>
  );
}
