import { lazy, memo, Suspense } from "react";
import { useCanvas, useGraph } from "../canvas/CanvasContext";
import { namedMessage } from "../canvas/issueNames";

const SchemaForm = lazy(() => import("./SchemaForm"));

/** The selected step's name and its config form, generated from its type's JSON Schema. */
export const NodePanel = memo(function NodePanel({ nodeId, onClose }: { nodeId: string; onClose: () => void }) {
  const { store, nodeTypes, readOnly } = useCanvas();
  // The step's type and data, not the node: dragging it changes its position every frame, and the form would be
  // drawn again each time.
  const type = useGraph((state) => state.nodes.find((candidate) => candidate.id === nodeId)?.type);
  const data = useGraph((state) => state.nodes.find((candidate) => candidate.id === nodeId)?.data);
  const issues = useGraph((state) => state.validation);
  if (!data) return null;
  const node = { type, data };
  const info = nodeTypes.get(node.type ?? "");
  const errors = issues?.errors.filter((issue) => issue.node_id === nodeId) ?? [];
  return (
    <aside className="node-panel" aria-label={`Settings of ${node.data.label || info?.label}`}>
      <header>
        <h2>{info?.label ?? node.type}</h2>
        <button type="button" onClick={onClose} aria-label="Close the settings">
          ×
        </button>
      </header>
      {info?.description && <p className="muted">{info.description}</p>}
      {errors.length > 0 && (
        <ul className="panel-errors" aria-label="Problems with this step">
          {errors.map((issue, index) => (
            <li key={index}>{namedMessage(issue.message, store.getState().nodes, nodeTypes)}</li>
          ))}
        </ul>
      )}
      <label htmlFor="node-label">Name on the canvas</label>
      <input
        id="node-label"
        value={node.data.label}
        maxLength={200}
        readOnly={readOnly}
        onChange={(event) => store.getState().updateLabel(nodeId, event.target.value)}
      />
      {info && Object.keys((info.config_schema.properties ?? {}) as object).length === 0 ? (
        <p className="muted">This step has no settings.</p>
      ) : info ? (
        <Suspense fallback={<p>Loading the form…</p>}>
          <SchemaForm
            key={nodeId}
            schema={info.config_schema}
            config={node.data.config}
            readOnly={readOnly}
            onChange={(config) => store.getState().updateConfig(nodeId, config)}
          />
        </Suspense>
      ) : (
        <p className="notice notice-error">
          The server knows no step type “{node.type}”: this step cannot be configured here. Delete it, or reload if
          the server was just updated.
        </p>
      )}
    </aside>
  );
});
