import { Fragment, memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { branchesOf, type FlowNode as FlowNodeModel } from "./graph";
import { useCanvas, useGraph } from "./CanvasContext";
import { FINDING_SEPARATOR, findingsByNode } from "./issueNames";

/** Every node type is drawn by this one component, from what /node-types says about it. */
export const FlowNode = memo(function FlowNode({ id, type, data, selected }: NodeProps<FlowNodeModel>) {
  const { nodeTypes } = useCanvas();
  const info = nodeTypes.get(type);
  // The findings on this node, with the nodes they name by id named as on the canvas. One text (a string compares
  // by value), so a node re-renders only when its own findings' texts change.
  const named = useGraph((state) =>
    state.validation ? findingsByNode(state.validation, state.nodes, nodeTypes).get(id) ?? "" : "");
  const lines = named ? named.split(FINDING_SEPARATOR) : [];
  const errors = lines.filter((line) => line.startsWith("e")).map((line) => line.slice(1));
  const warnings = lines.filter((line) => line.startsWith("w")).map((line) => line.slice(1));
  const branches = branchesOf(info, data.config);
  const problems = [...errors, ...warnings].join("\n");
  return (
    <div
      className={`flow-node kind-${info?.kind ?? "unknown"}${selected ? " selected" : ""}${errors.length ? " has-errors" : ""}`}
      data-node-id={id}
      aria-label={`${data.label || info?.label || type} (${info?.label ?? type})${errors.length ? `, ${errors.length} error(s)` : ""}`}
    >
      {info?.kind !== "trigger" && <Handle type="target" position={Position.Top} title="Entry" />}
      <div className="flow-node-type">{info?.label ?? `Unknown type ${type}`}</div>
      <div className="flow-node-label">{data.label || info?.label || type}</div>
      {(errors.length > 0 || warnings.length > 0) && (
        <ul className="flow-node-issues" title={problems}>
          {errors.map((message, index) => (
            <li key={`e${index}`} className="issue-error">
              {message}
            </li>
          ))}
          {warnings.map((message, index) => (
            <li key={`w${index}`} className="issue-warning">
              {message}
            </li>
          ))}
        </ul>
      )}
      {branches.map((branch, index) => (
        <Fragment key={branch.id}>
          {branch.label && (
            <span className="branch-label" style={{ left: branchLeft(index, branches.length) }}>
              {branch.label}
            </span>
          )}
          <Handle
            type="source"
            position={Position.Bottom}
            id={branch.id}
            style={{ left: branchLeft(index, branches.length) }}
            title={branch.label ? `Branch “${branch.label}”` : "Exit"}
            data-branch={branch.id}
          />
        </Fragment>
      ))}
    </div>
  );
});

function branchLeft(index: number, count: number): string {
  return `${((index + 1) * 100) / (count + 1)}%`;
}
