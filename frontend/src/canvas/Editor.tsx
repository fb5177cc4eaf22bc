import { useCallback, useMemo, useState, type DragEvent } from "react";
import { Link } from "react-router";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type NodeTypes,
} from "@xyflow/react";
import { useStore } from "zustand";
import { ApiError } from "../api/client";
import type { NodeTypeInfo, Preset, Workflow } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { Palette, PALETTE_MIME } from "../palette/Palette";
import type { PaletteItem } from "../palette/paletteLogic";
import { NodePanel } from "../panel/NodePanel";
import { useDraftBackup } from "../session/draftBackup";
import { useCanvas, useGraph } from "./CanvasContext";
import { FlowNode } from "./FlowNode";
import { withIssues } from "./graph";
import { IssueList } from "./IssueList";
import { SaveBanner, SaveStatusText } from "./SaveStatus";
import { ShortcutsDialog } from "./ShortcutsDialog";
import type { GraphStore } from "./graphStore";
import { useCanvasShortcuts } from "./useCanvasShortcuts";
import { useClipboard } from "./useClipboard";
import { useDraftAutosave } from "./useDraftAutosave";
import { usePublish } from "./usePublish";

interface EditorProps {
  workflow: Workflow;
  nodeTypes: NodeTypeInfo[];
  presets: Preset[];
}

export function Editor({ workflow, nodeTypes, presets }: EditorProps) {
  const { store } = useCanvas();
  const nodes = useGraph((state) => state.nodes);
  const edges = useGraph((state) => state.edges);
  const validation = useGraph((state) => state.validation);
  const history = useStore(store.temporal, (state) => state);
  const flow = useReactFlow();
  // Fit the loaded draft in view once; an empty canvas keeps its view, or the first drop would move it. The canvas
  // says when its view is settled (data-view-ready), for whoever must act on positions: a browser test, a bench.
  const [fitLoadedDraft] = useState(() => store.getState().nodes.length > 0);
  const [viewReady, setViewReady] = useState(false);
  const autosave = useDraftAutosave(store, workflow);
  useDraftBackup(store, workflow.id, workflow.draft?.revision ?? 1);
  const [notice, setNotice] = useState<string | null>(null);
  const [showIssues, setShowIssues] = useState(false);
  const [showShortcuts, setShowShortcuts] = useState(false);
  const publish = usePublish(workflow, autosave.saveNow, (errors) => {
    store.getState().setValidation({ errors, warnings: validation?.warnings ?? [] });
    setShowIssues(true);
  });

  // One component draws every node type: React Flow picks it by the node's `type`.
  const flowNodeTypes = useMemo<NodeTypes>(
    () => Object.fromEntries(nodeTypes.map((info) => [info.type, FlowNode])),
    [nodeTypes],
  );
  const selected = nodes.filter((node) => node.selected);
  const shownEdges = useMemo(() => withIssues(edges, validation), [edges, validation]);
  const errors = validation?.errors ?? [];
  const warnings = validation?.warnings ?? [];

  const addItem = useCallback(
    (item: PaletteItem, position: { x: number; y: number }) => {
      const id = store.getState().addNode({ type: item.type, label: item.label, config: item.config, ...position });
      // Select the new step so its settings open.
      store.getState().onNodesChange([
        ...store.getState().nodes.map((node) => ({ type: "select" as const, id: node.id, selected: node.id === id })),
      ]);
    },
    [store],
  );

  // Stable callbacks: the palette and the panel are memoised, and the editor redraws on every frame of a drag.
  const addAtCenter = useCallback((item: PaletteItem) => addItem(item, viewCenter(flow)), [addItem, flow]);
  const panelNodeId = selected.length === 1 ? selected[0]!.id : null;
  const closePanel = useCallback(() => {
    if (panelNodeId) store.getState().onNodesChange([{ type: "select", id: panelNodeId, selected: false }]);
  }, [store, panelNodeId]);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const raw = event.dataTransfer.getData(PALETTE_MIME);
    if (!raw) return;
    addItem(JSON.parse(raw) as PaletteItem, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };

  const onConnect = (connection: Connection) => setNotice(store.getState().connect(connection));

  const clipboard = useClipboard(setNotice);
  const shortcuts = useMemo(
    () => ({ undo: history.undo, redo: history.redo, help: () => setShowShortcuts(true), ...clipboard }),
    [history.undo, history.redo, clipboard],
  );
  useCanvasShortcuts(shortcuts);

  return (
    <main className="canvas-page">
      <header className="canvas-header">
        <Link to="/">← Workflows</Link>
        <h1>{workflow.name}</h1>
        <SaveStatusText status={autosave.status} />
        <button type="button" onClick={() => history.undo()} disabled={history.pastStates.length === 0}>
          Undo
        </button>
        <button type="button" onClick={() => history.redo()} disabled={history.futureStates.length === 0}>
          Redo
        </button>
        <button type="button" onClick={() => void tidyUp(store, flow)} disabled={nodes.length < 2}>
          Tidy up
        </button>
        <button type="button" onClick={clipboard.copy} disabled={selected.length === 0} title="Ctrl+C">
          Copy
        </button>
        <button type="button" onClick={clipboard.paste} title="Ctrl+V: also steps copied in another workflow">
          Paste
        </button>
        <button type="button" onClick={clipboard.duplicate} disabled={selected.length === 0} title="Ctrl+D">
          Duplicate
        </button>
        <button
          type="button"
          className={errors.length ? "issues-button has-errors" : "issues-button"}
          onClick={() => setShowIssues(!showIssues)}
          aria-expanded={showIssues}
        >
          {errors.length === 0 ? "No errors" : `${errors.length} error${errors.length === 1 ? "" : "s"}`}
          {warnings.length > 0 && `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`}
        </button>
        <button type="button" onClick={() => setShowShortcuts(true)} aria-label="Keyboard shortcuts" title="?">
          ?
        </button>
        <button
          type="button"
          className="primary"
          disabled={errors.length > 0 || validation === null || publish.isPending || autosave.status.kind === "conflict"}
          title={errors.length ? "Fix the errors first: the list is one click away, on the left." : undefined}
          onClick={() => publish.mutate()}
        >
          {publish.isPending ? "Publishing…" : "Publish"}
        </button>
      </header>
      <SaveBanner status={autosave.status} onKeepMine={autosave.keepMine} onTakeTheirs={autosave.takeTheirs} onRetry={() => void autosave.saveNow()} />
      {publish.data && (
        <p className="notice notice-ok" role="status">
          Published version {publish.data.version}. New contacts enter it; those already in stay on their version.
        </p>
      )}
      {publish.error && !(publish.error instanceof ApiError && publish.error.status === 422) && (
        <ErrorNotice error={publish.error} />
      )}
      {notice && (
        <p className="notice notice-warning" role="alert">
          {notice}
        </p>
      )}
      {showIssues && <IssueList errors={errors} warnings={warnings} onFocusNode={(id) => focusNode(flow, id)} />}
      <ShortcutsDialog open={showShortcuts} onClose={() => setShowShortcuts(false)} />
      <div className="canvas-body">
        <Palette nodeTypes={nodeTypes} presets={presets} onAdd={addAtCenter} />
        <div
          className="canvas-flow"
          data-view-ready={viewReady}
          onDrop={onDrop}
          onDragOver={(event) => event.preventDefault()}
        >
          <ReactFlow
            nodes={nodes}
            edges={shownEdges}
            nodeTypes={flowNodeTypes}
            onNodesChange={store.getState().onNodesChange}
            onEdgesChange={store.getState().onEdgesChange}
            onConnect={onConnect}
            onNodeDragStart={store.getState().beginGesture}
            onNodeDragStop={store.getState().endGesture}
            onlyRenderVisibleElements
            onInit={(instance) => {
              if (!fitLoadedDraft) setViewReady(true);
              else void instance.fitView({ maxZoom: 1 }).then(() => setViewReady(true));
            }}
            deleteKeyCode={["Backspace", "Delete"]}
          >
            <Background />
            <MiniMap pannable zoomable ariaLabel="Overview of the workflow" />
            <Controls />
          </ReactFlow>
        </div>
        {selected.length === 1 && selected[0] && (
          <NodePanel nodeId={selected[0].id} onClose={closePanel} />
        )}
      </div>
    </main>
  );
}

/**
 * Lay the graph out with dagre (loaded on first use). The layout is computed from the graph as it is when the
 * code has arrived and applied in the same moment, so it never overwrites edits made while it was loading.
 */
async function tidyUp(store: GraphStore, flow: Flow) {
  const { layoutPositions } = await import("./layout");
  const { nodes, edges, moveTo } = store.getState();
  moveTo(layoutPositions(nodes, edges));
  await flow.fitView({ maxZoom: 1, duration: 200 });
}

type Flow = ReturnType<typeof useReactFlow>;

// About half a node's size: a step added from the keyboard is centred in the view, not hung from its corner.
const NODE_HALF = { x: 100, y: 30 };

function viewCenter(flow: Flow): { x: number; y: number } {
  const bounds = document.querySelector(".canvas-flow")?.getBoundingClientRect();
  if (!bounds) return { x: 0, y: 0 };
  const center = flow.screenToFlowPosition({ x: bounds.left + bounds.width / 2, y: bounds.top + bounds.height / 2 });
  return { x: center.x - NODE_HALF.x, y: center.y - NODE_HALF.y };
}

function focusNode(flow: Flow, nodeId: string) {
  void flow.fitView({ nodes: [{ id: nodeId }], maxZoom: 1.2, duration: 300 });
}
