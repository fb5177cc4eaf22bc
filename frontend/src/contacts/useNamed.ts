import { useMemo } from "react";
import { useNodeTypes, useWorkflows } from "../api/queries";
import type { Named } from "./timelineLogic";

/** Workflow names and node-type labels for the contact screens (both already cached by the other screens). */
export function useNamed() {
  // Only the names are read here: the list page's polling of the counts is not needed.
  const workflows = useWorkflows({ refreshMs: false });
  const nodeTypes = useNodeTypes();
  const named = useMemo<Named>(() => {
    const workflowNames = new Map((workflows.data ?? []).map((workflow) => [workflow.id, workflow.name]));
    const labels = new Map((nodeTypes.data ?? []).map((nodeType) => [nodeType.type, nodeType.label]));
    return {
      workflowName: (id) => workflowNames.get(id) ?? "a deleted workflow",
      nodeTypeLabel: (type) => labels.get(type) ?? type,
    };
  }, [workflows.data, nodeTypes.data]);
  return { named, workflows: workflows.data ?? [] };
}
