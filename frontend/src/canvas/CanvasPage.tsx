import { useEffect, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { meQuery, roleCanEdit } from "../access/access";
import { useActionTemplates, useNodeTypes, useTriggerTemplates } from "../api/queries";
import type { NodeTypeInfo, Preset, Workflow } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { CanvasContext } from "./CanvasContext";
import { canvasWorkflowQuery } from "./canvasQueries";
import { Editor } from "./Editor";
import { fromGraphJson } from "./graph";
import { createGraphStore } from "./graphStore";

/** The canvas: the workflow, the node types and the presets once in (see CanvasRoute), the editor on the draft. */
export default function CanvasPage() {
  const { workflowId = "" } = useParams();
  // Asked for by the route already (CanvasRoute): these find the answers there, or the requests under way.
  const workflow = useQuery(canvasWorkflowQuery(workflowId));
  const nodeTypes = useNodeTypes();
  const triggers = useTriggerTemplates();
  const actions = useActionTemplates();
  // The role decides what the editor offers from its first drawing (autosave, draggable steps): it waits for it.
  const me = useQuery(meQuery);
  const failed = [workflow, nodeTypes, triggers, actions, me].find((query) => query.error);
  if (failed) {
    return (
      <main className="canvas-page">
        <ErrorNotice error={failed.error} onRetry={() => void failed.refetch()} />
        <Link to="/">Back to the workflows</Link>
      </main>
    );
  }
  if (!workflow.data || !nodeTypes.data || !triggers.data || !actions.data || !me.data) {
    return <p className="loading">Loading the workflow…</p>;
  }
  return (
    <LoadedCanvas
      key={workflow.data.id}
      workflow={workflow.data}
      nodeTypes={nodeTypes.data}
      presets={[...triggers.data, ...actions.data]}
      readOnly={!roleCanEdit(me.data.user?.role)}
    />
  );
}

interface LoadedCanvasProps {
  workflow: Workflow;
  nodeTypes: NodeTypeInfo[];
  presets: Preset[];
  readOnly: boolean;
}

function LoadedCanvas({ workflow, nodeTypes, presets, readOnly }: LoadedCanvasProps) {
  const [store] = useState(() => createGraphStore(fromGraphJson(workflow.draft?.graph ?? { nodes: [], edges: [] })));
  const context = useMemo(
    () => ({ store, nodeTypes: new Map(nodeTypes.map((info) => [info.type, info])), readOnly }),
    [store, nodeTypes, readOnly],
  );
  useEffect(() => {
    document.title = `${workflow.name} · PenguinFlow builder`;
  }, [workflow.name]);
  return (
    <CanvasContext.Provider value={context}>
      <ReactFlowProvider>
        <Editor workflow={workflow} nodeTypes={nodeTypes} presets={presets} />
      </ReactFlowProvider>
    </CanvasContext.Provider>
  );
}
