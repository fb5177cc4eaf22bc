// The step filter: with a workflow chosen, its steps by name (from the workflow's draft, which keeps the ids of
// the versions before it); without one, a step id typed as the canvas shows it.
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Workflow } from "../api/types";
import { versionKeys } from "../versions/versionQueries";

interface StepFilterProps {
  workflowId: string | undefined;
  /** The labelled control's props (id, description, invalid), from the form's field. */
  control: { id: string; "aria-describedby"?: string; "aria-invalid"?: boolean };
  value: string;
  onChange: (node: string) => void;
}

export function StepFilter({ workflowId, control, value, onChange }: StepFilterProps) {
  const workflow = useQuery({
    queryKey: versionKeys.workflow(workflowId ?? ""),
    queryFn: () => api<Workflow>(`workflows/${workflowId}`),
    enabled: Boolean(workflowId),
    retry: false,
  });
  const nodes = workflow.data?.draft.graph.nodes ?? [];
  // While the workflow loads the control is already the list (holding the chosen step), so it does not change
  // kind under the user's hand; only a workflow that cannot be read falls back to typing an id.
  if (!workflowId || workflow.isError) {
    return <input {...control} value={value} onChange={(event) => onChange(event.target.value)} />;
  }
  return (
    <select {...control} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">Any step</option>
      {value && !nodes.some((node) => node.id === value) && (
        <option value={value}>{workflow.data ? `${value} (not in the draft)` : value}</option>
      )}
      {nodes.map((node) => (
        <option key={node.id} value={node.id}>
          {node.data?.label?.trim() ? `${node.data.label.trim()} (${node.id})` : `${node.type} (${node.id})`}
        </option>
      ))}
    </select>
  );
}
