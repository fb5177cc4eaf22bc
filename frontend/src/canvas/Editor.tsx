import { useCallback, useEffect, useMemo, useState, type DragEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useReactFlow, type Connection, type NodeTypes } from "@xyflow/react";
import { useStore } from "zustand";
import { ApiError } from "../api/client";
import type { NodeTypeInfo, Preset, Workflow } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { useCommandMenu } from "../commands/useCommandMenu";
import { CommandMenu } from "../commands/CommandMenu";
import { Palette, PALETTE_MIME } from "../palette/Palette";
import type { PaletteItem } from "../palette/paletteLogic";
import { NodePanel } from "../panel/NodePanel";
import { ModeToggle } from "../simple/ModeToggle";
import { SimpleList } from "../simple/SimpleList";
import { useEditorMode } from "../simple/useEditorMode";
import type { PathHighlight } from "../testmode/highlight";
import { TestModePanel } from "../testmode/TestModePanel";
import { useDraftBackup } from "../session/draftBackup";
import { BackupOffer } from "../session/BackupOffer";
import { useCanvas, useGraph, useSettledGraph } from "./CanvasContext";
import { FlowNode } from "./FlowNode";
import { FlowCanvas } from "./FlowCanvas";
import { toGraphJson } from "./graph";
import { IssueList } from "./IssueList";
import { edgeAtPoint, insertStepOnEdge, markDropTarget } from "./insertOnEdge";
import { isNote, NOTE_TYPE } from "./notes";
import { StickyNote } from "./StickyNote";
import { useSelectedInView } from "./useSelectedInView";
import { SaveBanner, SaveStatusText } from "./SaveStatus";
import { ShortcutsDialog } from "./ShortcutsDialog";
import type { GraphStore } from "./graphStore";
import { useCanvasShortcuts } from "./useCanvasShortcuts";
import { useClipboard } from "./useClipboard";
import { useDraftAutosave } from "./useDraftAutosave";
import { usePublish } from "./usePublish";
import { LifecycleControls } from "../versions/LifecycleControls";
import { PublishButton } from "../versions/PublishButton";
import { SuggestionsButton } from "../suggestions/SuggestionsPanel";
import { TheirDraftDialog } from "../versions/TheirDraftDialog";
import { CountsToggle, DraftCounters } from "../analytics/CanvasCounters";
import { TemplateUpdateBanner } from "../marketplace/TemplateUpdateBanner";

interface EditorProps {
  workflow: Workflow;
  nodeTypes: NodeTypeInfo[];
  presets: Preset[];
}

export function Editor({ workflow, nodeTypes, presets }: EditorProps) {
  const { store, nodeTypes: nodeTypesByName, readOnly } = useCanvas();
  // Narrow selections only: the editor must not redraw on every frame of a drag (FlowCanvas follows the graph).
  const selectedIds = useGraph((state) => selectedStepIds(state.nodes));
  const steps = useGraph((state) => stepCount(state.nodes));
  const validation = useGraph((state) => state.validation);
  const history = useStore(store.temporal, (state) => state);
  const flow = useReactFlow();
  // Fit the draft in view when the canvas opens (on load, or on leaving simple mode); an empty canvas keeps its
  // view, or the first drop would move it. The canvas says when its view is settled (data-view-ready), for whoever
  // must act on positions: a browser test, a bench.
  const [viewReady, setViewReady] = useState(false);
  const markViewReady = useCallback(() => setViewReady(true), []);
  const autosave = useDraftAutosave(store, workflow, { readOnly });
  useDraftBackup(store, workflow.id, autosave.baseRevision);
  const [notice, setNotice] = useState<string | null>(null);
  const editorMode = useEditorMode(workflow.id, setNotice);
  // Simple mode is an editor (every card's control edits): a viewer reads the graph.
  const mode = readOnly ? "graph" : editorMode.mode;
  // The canvas is mounted anew on leaving simple mode: its view is settled again only once fitted.
  useEffect(() => {
    if (mode === "simple") setViewReady(false);
  }, [mode]);
  const [showIssues, setShowIssues] = useState(false);
  const [showShortcuts, setShowShortcuts] = useState(false);
  const [showTheirs, setShowTheirs] = useState(false);
  const navigate = useNavigate();
  // Test mode: its panel, and the marks of its last run on the canvas (gone when test mode is left).
  const [testing, setTesting] = useState(false);
  const [testPath, setTestPath] = useState<PathHighlight | null>(null);
  const publish = usePublish(workflow, autosave.saveNow, (errors) => {
    store.getState().setValidation({ errors, warnings: validation?.warnings ?? [] });
    setShowIssues(true);
  });

  // One component draws every node type: React Flow picks it by the node's `type`.
  const flowNodeTypes = useMemo<NodeTypes>(
    () => ({ ...Object.fromEntries(nodeTypes.map((info) => [info.type, FlowNode])), [NOTE_TYPE]: StickyNote }),
    [nodeTypes],
  );
  // The selected steps (notes are edited where they are, and are not copied).
  const selected = selectedIds ? selectedIds.split(" ") : [];
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
  const panelNodeId = selected.length === 1 ? selected[0]! : null;
  const closePanel = useCallback(() => {
    if (panelNodeId) store.getState().onNodesChange([{ type: "select", id: panelNodeId, selected: false }]);
  }, [store, panelNodeId]);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    markDropTarget(null);
    const raw = event.dataTransfer.getData(PALETTE_MIME);
    if (!raw) return;
    const item = JSON.parse(raw) as PaletteItem;
    // Dropped on a connection: the step goes between the two steps it joins (a trigger cannot: nothing leads in).
    const edgeId = item.kind === "trigger" ? null : edgeAtPoint(event.clientX, event.clientY);
    if (edgeId && insertStepOnEdge(store, nodeTypesByName, edgeId, item)) return;
    addItem(item, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };

  const onConnect = useCallback((connection: Connection) => setNotice(store.getState().connect(connection)), [store]);

  const clipboard = useClipboard(setNotice);
  // Why Publish is off, said once for the header's button and the command menu.
  const publishBlockedBecause = errors.length ? "Fix the errors first: the list is one click away, on the left."
    : validation === null ? "The draft is being checked."
    : autosave.status.kind === "conflict" ? "Resolve the save conflict first." : null;
  const menu = useCommandMenu({
    nodeTypes, presets,
    onAdd: (item) => addItem(item, viewCenter(flow)),
    actions: {
      addNote: () => store.getState().addNote(viewCenter(flow)),
      tidyUp: () => void tidyUp(store, flow),
      fitView: () => void flow.fitView({ maxZoom: 1, duration: 200 }),
      undo: history.undo,
      redo: history.redo,
      publish: () => publish.mutate(),
      help: () => setShowShortcuts(true),
    },
    state: {
      canUndo: history.pastStates.length > 0,
      canRedo: history.futureStates.length > 0,
      canTidy: steps >= 2,
      publishBlockedBecause: publishBlockedBecause ?? (publish.isPending ? "Publishing…" : null),
    },
  });
  const shortcuts = useMemo(
    () => readOnly
      // A viewer's keys read: copy (to paste in a workflow they may edit elsewhere) and help; nothing that edits.
      ? { help: () => setShowShortcuts(true), copy: clipboard.copy }
      : { undo: history.undo, redo: history.redo, help: () => setShowShortcuts(true), commands: menu.open, ...clipboard },
    [readOnly, history.undo, history.redo, clipboard, menu.open],
  );
  useCanvasShortcuts(shortcuts);
  const edgeInsert = useMemo(
    () => (readOnly ? { ...menu.edgeInsert, insertOn: null } : menu.edgeInsert),
    [readOnly, menu.edgeInsert],
  );
  useSelectedInView(panelNodeId);

  return (
    <main className="canvas-page">
      <header className="canvas-header">
        <Link to="/">← Workflows</Link>
        <h1>{workflow.name}</h1>
        {!readOnly && <ModeToggle mode={mode} notAList={editorMode.notAList} choose={editorMode.choose} />}
        <LifecycleControls workflow={workflow} />
        {readOnly ? <ReadOnlyNote /> : <SaveStatusText status={autosave.status} />}
        {!readOnly && (
          <>
            <button type="button" onClick={() => history.undo()} disabled={history.pastStates.length === 0}>
              Undo
            </button>
            <button type="button" onClick={() => history.redo()} disabled={history.futureStates.length === 0}>
              Redo
            </button>
            <button type="button" onClick={menu.open} title="Ctrl+K or /" aria-keyshortcuts="Control+K /">
              Commands
            </button>
            <button type="button" onClick={() => store.getState().addNote(viewCenter(flow))}>
              Add note
            </button>
            <button type="button" onClick={() => void tidyUp(store, flow)} disabled={steps < 2}>
              Tidy up
            </button>
          </>
        )}
        <button type="button" onClick={clipboard.copy} disabled={selected.length === 0} title="Ctrl+C">
          Copy
        </button>
        {!readOnly && (
          <>
            <button type="button" onClick={clipboard.paste} title="Ctrl+V: also steps copied in another workflow">
              Paste
            </button>
            <button type="button" onClick={clipboard.duplicate} disabled={selected.length === 0} title="Ctrl+D">
              Duplicate
            </button>
          </>
        )}
        <button
          type="button"
          className={errors.length ? "issues-button has-errors" : "issues-button"}
          onClick={() => setShowIssues(!showIssues)}
          aria-expanded={showIssues}
        >
          {errors.length === 0 ? "No errors" : `${errors.length} error${errors.length === 1 ? "" : "s"}`}
          {warnings.length > 0 && `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`}
        </button>
        <button
          type="button"
          // A run is painted on the graph: test mode shows the graph editor while it is open (not as a choice).
          onClick={() => {
            editorMode.holdGraph(true);
            setTesting(true);
          }}
          aria-pressed={testing}
        >
          Test
        </button>
        <button type="button" onClick={() => setShowShortcuts(true)} aria-label="Keyboard shortcuts" title="?">
          ?
        </button>
        {/* Saved first, so the history and its comparisons show the draft as it is on the canvas. */}
        <button type="button" onClick={() => void autosave.saveNow().then((saved) => saved && navigate("versions"))}>
          History
        </button>
        <CountsToggle />
        <Link to={`/workflows/${workflow.id}/analytics`}>Analytics</Link>
        <SuggestionsButton workflowId={workflow.id} saveNow={autosave.saveNow} />
        {!readOnly && (
          <DraftPublishButton
            workflow={workflow}
            nodeTypes={nodeTypesByName}
            blockedBecause={publishBlockedBecause}
            isPending={publish.isPending}
            publish={(migrate) => publish.mutate(migrate)}
          />
        )}
      </header>
      {/* A backup is of edits made here: a viewer makes none, and restoring one would be an edit. */}
      {!readOnly && <BackupOffer store={store} workflow={workflow} />}
      <TemplateUpdateBanner workflowId={workflow.id} />
      <SaveBanner status={autosave.status} onKeepMine={autosave.keepMine} onTakeTheirs={autosave.takeTheirs} onRetry={() => void autosave.saveNow()} onSeeTheirs={() => setShowTheirs(true)} />
      {showTheirs && autosave.status.kind === "conflict" && (
        <TheirDraftDialog
          workflowId={workflow.id}
          mine={toGraphJson(store.getState().nodes, store.getState().edges)}
          settings={workflow.draft?.settings ?? {}}
          nodeTypes={nodeTypes}
          onClose={() => setShowTheirs(false)}
          onKeepMine={() => void autosave.keepMine().then(() => setShowTheirs(false))}
          onTakeTheirs={() => void autosave.takeTheirs().then(() => setShowTheirs(false))}
        />
      )}
      {publish.data && (
        <p className="notice notice-ok" role="status">
          Published version {publish.data.version}.{" "}
          {publish.data.migration
            ? `New contacts enter it; ${publish.data.migration.moved} contact(s) moved to it` +
              (publish.data.migration.exited ? `, ${publish.data.migration.exited} left the workflow` : "") +
              (publish.data.migration.status === "done" ? "." : " so far; the rest follow once their steps end.")
            : "New contacts enter it; those already in stay on their version."}
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
      <ShortcutsDialog open={showShortcuts} onClose={() => setShowShortcuts(false)} readOnly={readOnly} />
      {!readOnly && <CommandMenu {...menu.props} />}
      <div className="canvas-body">
        {mode === "graph" && !readOnly && (
          <Palette nodeTypes={nodeTypes} presets={presets} onAdd={addAtCenter} />
        )}
        {mode === "simple" && editorMode.steps ? (
          <SimpleList steps={editorMode.steps} types={editorMode.types} nodeTypes={nodeTypes} presets={presets} />
        ) : (
          <FlowCanvas
            nodeTypes={flowNodeTypes}
            edgeInsert={edgeInsert}
            onHoverEdge={menu.hoverEdge}
            onConnect={onConnect}
            onDrop={onDrop}
            readOnly={readOnly}
            testPath={testPath}
            viewReady={viewReady}
            onViewReady={markViewReady}
          >
            <DraftCounters workflowId={workflow.id} />
          </FlowCanvas>
        )}
        {testing && (
          <TestModePanel
            workflow={workflow}
            nodeTypes={nodeTypes}
            saveNow={autosave.saveNow}
            onHighlight={setTestPath}
            onFocusNode={(id) => focusNode(flow, id)}
            onClose={() => {
              setTesting(false);
              setTestPath(null);
              editorMode.holdGraph(false);
            }}
          />
        )}
        {!testing && panelNodeId && <NodePanel nodeId={panelNodeId} onClose={closePanel} />}
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

/** In place of the save status: why nothing here can be changed, and who can change it. */
function ReadOnlyNote() {
  return (
    <span className="save-status" role="status" title="Ask an owner of the workspace for the editor role to edit.">
      Read-only: your role is viewer
    </span>
  );
}

function stepCount(nodes: readonly { type?: string }[]): number {
  return nodes.filter((node) => !isNote(node)).length;
}

/** The selected steps' ids, space-separated: one string, so a selector answering it changes only with them. */
function selectedStepIds(nodes: readonly { id: string; type?: string; selected?: boolean }[]): string {
  return nodes.filter((node) => node.selected && !isNote(node)).map((node) => node.id).join(" ");
}

/**
 * Publish, with the canvas as it is once a drag is over: what the publish would change is compared when the
 * steps come to rest, not on each frame of their move (the editor does not redraw for it either).
 */
function DraftPublishButton(props: Omit<React.ComponentProps<typeof PublishButton>, "canvas">) {
  const { nodes, edges } = useSettledGraph();
  const canvas = useMemo(() => toGraphJson(nodes, edges), [nodes, edges]);
  return <PublishButton {...props} canvas={canvas} />;
}

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
