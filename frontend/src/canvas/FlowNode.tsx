import { Fragment, memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { branchesOf, type FlowNode as FlowNodeModel } from "./graph";
import { useCanvas, useGraph } from "./CanvasContext";

/** Every node type is drawn by this one component, from what /node-types says about it. */
export const FlowNode = memo(function FlowNode({ id, type, data, selected }: NodeProps<FlowNodeModel>) {
  const info = useCanvas().nodeTypes.get(type);
  const issues = useGraph((state) => state.validation);
  const errors = issues?.errors.filter((issue) => issue.node_id === id) ?? [];
  const warnings = issues?.warnings.filter((issue) => issue.node_id === id) ?? [];
  const branches = branchesOf(info, data.config);
  const problems = [...errors, ...warnings].map((issue) => issue.message).join("\n");
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
          {errors.map((issue, index) => (
            <li key={`e${index}`} className="issue-error">
              {issue.message}
            </li>
          ))}
          {warnings.map((issue, index) => (
            <li key={`w${index}`} className="issue-warning">
              {issue.message}
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
