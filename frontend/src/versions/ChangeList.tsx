import type { GraphEdgeJson, GraphNodeJson } from "../api/types";
import { fieldName, formatValue, headline, plural, stepName, type NodeTypeLookup } from "./describeDiff";
import type { FieldChange, GraphDiff } from "./graphDiff";

interface ChangeListProps {
  diff: GraphDiff;
  types: NodeTypeLookup;
  /** Names of the two sides, for the heading: "Version 1 → the draft". */
  title: string;
  /** Bring a step into view on the canvas (removed steps are there as ghosts). */
  onShow: (nodeId: string) => void;
  /** A step's name by id, from either side (a removed connection may join removed steps). */
  nameOf: (nodeId: string) => string;
}

/** Every difference in words: steps added, removed and changed (field by field, before → after), connections, settings. */
export function ChangeList({ diff, types, title, onShow, nameOf }: ChangeListProps) {
  return (
    <section className="change-list" aria-label="Changes">
      <h2>{title}</h2>
      <p className="change-headline">{headline(diff, types)}</p>
      <Legend />
      {diff.changedNodes.length > 0 && (
        <>
          <h3>Changed steps</h3>
          <ul>
            {diff.changedNodes.map((change) => (
              <li key={change.id} className="change-item change-changed" data-node-id={change.id}>
                <StepHeading node={change.after} types={types} onShow={onShow} />
                <FieldTable fields={change.fields} type={change.after.type} types={types} />
              </li>
            ))}
          </ul>
        </>
      )}
      <StepGroup heading="Added steps" status="added" nodes={diff.addedNodes} types={types} onShow={onShow} />
      <StepGroup heading="Removed steps" status="removed" nodes={diff.removedNodes} types={types} onShow={onShow} />
      <Connections diff={diff} nameOf={nameOf} />
      {diff.settings.length > 0 && (
        <>
          <h3>Settings</h3>
          <FieldTable fields={diff.settings} type={undefined} types={types} />
        </>
      )}
      {diff.movedNodes.length > 0 && (
        <p className="change-moved">
          {plural(diff.movedNodes.length, "step")} only moved on the canvas, which changes nothing for contacts.
        </p>
      )}
    </section>
  );
}

function Legend() {
  return (
    <ul className="diff-legend" aria-label="Colours on the canvas">
      <li className="legend-added">Added</li>
      <li className="legend-removed">Removed (ghost)</li>
      <li className="legend-changed">Changed</li>
      <li className="legend-moved">Moved only</li>
    </ul>
  );
}

function StepHeading({ node, types, onShow }: { node: GraphNodeJson; types: NodeTypeLookup; onShow: (id: string) => void }) {
  const name = stepName(node, types);
  return (
    <div className="change-step">
      <strong>{name}</strong>
      <button type="button" className="link-button" onClick={() => onShow(node.id)} aria-label={`Show ${name} on the canvas`}>
        Show
      </button>
    </div>
  );
}

interface StepGroupProps {
  heading: string;
  status: "added" | "removed";
  nodes: GraphNodeJson[];
  types: NodeTypeLookup;
  onShow: (id: string) => void;
}

function StepGroup({ heading, status, nodes, types, onShow }: StepGroupProps) {
  if (nodes.length === 0) return null;
  return (
    <>
      <h3>{heading}</h3>
      <ul>
        {nodes.map((node) => (
          <li key={node.id} className={`change-item change-${status}`} data-node-id={node.id}>
            <StepHeading node={node} types={types} onShow={onShow} />
          </li>
        ))}
      </ul>
    </>
  );
}

function FieldTable({ fields, type, types }: { fields: FieldChange[]; type: string | undefined; types: NodeTypeLookup }) {
  return (
    <table className="field-changes">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={field.path}>
            <th scope="row">{fieldName(field.path, type, types)}</th>
            <td className="value-before">{formatValue(field.before)}</td>
            <td className="value-after">
              <span aria-hidden="true">→ </span>
              {formatValue(field.after)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Connections({ diff, nameOf }: { diff: GraphDiff; nameOf: (id: string) => string }) {
  const join = (edge: GraphEdgeJson) => `${nameOf(edge.source)} → ${nameOf(edge.target)}${branchWords(edge.sourceHandle)}`;
  const lines = [
    ...diff.addedEdges.map((edge) => `Added: ${join(edge)}`),
    ...diff.removedEdges.map((edge) => `Removed: ${join(edge)}`),
    ...diff.rebranchedEdges.map(
      ({ before, after }) =>
        `${nameOf(after.source)} → ${nameOf(after.target)}: from branch ${before.sourceHandle ?? "default"} ` +
        `to branch ${after.sourceHandle ?? "default"}`,
    ),
  ];
  if (lines.length === 0) return null;
  return (
    <>
      <h3>Connections</h3>
      <ul>
        {lines.map((line, index) => (
          <li key={index}>{line}</li>
        ))}
      </ul>
    </>
  );
}

function branchWords(branch: string | null | undefined): string {
  return branch && branch !== "default" ? ` (branch ${branch})` : "";
}
