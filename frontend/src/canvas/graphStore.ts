// The canvas's one store: the nodes and edges being edited, with undo history (zundo). A gesture (dragging
// several nodes, typing into one field) is one step of history, and so is any change made in one call (deleting
// a selection with its edges).
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from "@xyflow/react";
import { temporal } from "zundo";
import { createStore } from "zustand/vanilla";
import type { ValidationReport } from "../api/types";
import { branchTaken, flowEdge, newId, pastedSteps, type CopiedSteps, type FlowEdge, type FlowNode } from "./graph";
import { insertedOnEdge, type NewStep } from "./insertOnEdge";
import { freeNoteSpot, NOTE_SIZE, NOTE_TYPE } from "./notes";

export interface GraphState {
  nodes: FlowNode[];
  edges: FlowEdge[];
  validation: ValidationReport | null;
  /**
   * Whether steps are being dragged (React Flow's drag, start to stop). What can wait for the gesture's end (the
   * publish summary, the autosave and the server's findings it brings back) waits: the drag's frames are spent on
   * the steps that move.
   */
  moving: boolean;
  load: (graph: { nodes: FlowNode[]; edges: FlowEdge[] }) => void;
  onNodesChange: (changes: NodeChange<FlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<FlowEdge>[]) => void;
  addNode: (node: { type: string; label: string; config: Record<string, unknown>; x: number; y: number }) => string;
  connect: (connection: Connection) => string | null;
  /** Put a new step on an edge, between its source and target, as one step of history; answer its id. */
  insertOnEdge: (edgeId: string, step: NewStep, exitBranch: string | null) => string | null;
  /** Add an empty sticky note, selected, near `position` (its top-left) where it covers nothing; answer its id. */
  addNote: (position: { x: number; y: number }) => string;
  paste: (copied: CopiedSteps, offset: { x: number; y: number }) => void;
  /** Move the steps to these positions as one step of history; steps added since it was computed stay put. */
  moveTo: (positions: Record<string, { x: number; y: number }>) => void;
  /** Replace the nodes and edges with an edited copy as one step of history (a list edit: add and rewire). */
  applyGraph: (graph: { nodes: FlowNode[]; edges: FlowEdge[] }) => void;
  updateConfig: (nodeId: string, config: Record<string, unknown>, now?: number) => void;
  updateLabel: (nodeId: string, label: string, now?: number) => void;
  beginGesture: () => void;
  endGesture: () => void;
  setValidation: (report: ValidationReport | null) => void;
}

type Tracked = Pick<GraphState, "nodes" | "edges">;

const HISTORY_LIMIT = 200;
// Edits of one field closer together than this are one step of history (typing a word is one undo).
export const TYPING_MERGE_MS = 1500;

/** The part of the state history keeps: what the draft saves, without React Flow's view state. */
export function tracked(state: Tracked): Tracked {
  return {
    // A note's size is part of the draft (a resize is undone); a step's is measured by React Flow, not kept.
    nodes: state.nodes.map(({ id, type, position, data, width, height }) => ({
      id, type, position, data, ...(width !== undefined && { width }), ...(height !== undefined && { height }),
    })),
    edges: state.edges.map(({ id, source, target, sourceHandle, label }) => ({
      id, source, target, sourceHandle, ...(label !== undefined && { label }),
    })),
  };
}

/**
 * Whether two tracked states are the same draft, field by field (a step's data is serialised only when it is
 * another object): this runs on every change of the store, and serialising a 500-step graph twice each time was
 * most of the cost of a click or a drag.
 */
function sameGraph(a: Tracked, b: Tracked): boolean {
  if (a === b) return true;
  if (a.nodes.length !== b.nodes.length || a.edges.length !== b.edges.length) return false;
  const sameNodes = a.nodes.every((node, index) => {
    const other = b.nodes[index]!;
    return node.id === other.id && node.type === other.type &&
      (node.data === other.data || JSON.stringify(node.data) === JSON.stringify(other.data)) &&
      node.position.x === other.position.x && node.position.y === other.position.y &&
      node.width === other.width && node.height === other.height; // a note's size is kept (see tracked)
  });
  return sameNodes && a.edges.every((edge, index) => {
    const other = b.edges[index]!;
    return edge.id === other.id && edge.source === other.source && edge.target === other.target &&
      edge.sourceHandle === other.sourceHandle && edge.label === other.label;
  });
}

// What history is given while it is paused (a drag): it keeps nothing then, so nothing is copied for it.
const UNTRACKED: Tracked = { nodes: [], edges: [] };

export function createGraphStore(initial: { nodes: FlowNode[]; edges: FlowEdge[] } = { nodes: [], edges: [] }) {
  let gestureStart: Tracked | null = null;
  let tickStart: Tracked | null = null;
  let lastEdit: { key: string; at: number } | null = null;

  const store = createStore<GraphState>()(
    temporal(
      (set, get) => {
        /** Resume history and keep what changed since `before` as one step of it. */
        const recordSince = (before: Tracked | null) => {
          const history = store.temporal.getState();
          history.resume();
          lastEdit = null;
          if (before && !sameGraph(before, tracked(get()))) {
            store.temporal.setState({
              pastStates: [...history.pastStates, before].slice(-HISTORY_LIMIT),
              futureStates: [],
            });
          }
        };
        /**
         * Make the changes of this tick one step of history. Deleting a step, React Flow removes its edges and then
         * the step in two calls of the same tick: without this, one undo brought the step back without its edges.
         */
        const groupThisTick = () => {
          if (gestureStart !== null || tickStart !== null) return; // a drag, or a group already open
          tickStart = tracked(get());
          store.temporal.getState().pause();
          queueMicrotask(() => {
            const before = tickStart;
            tickStart = null;
            recordSince(before);
          });
        };
        /** Apply an edit, merged into the previous step when it continues the same typing. */
        const edit = (key: string, now: number, change: (state: GraphState) => Partial<GraphState>) => {
          const continues = lastEdit !== null && lastEdit.key === key && now - lastEdit.at < TYPING_MERGE_MS;
          lastEdit = { key, at: now };
          const history = store.temporal.getState();
          if (continues) history.pause();
          set(change(get()));
          if (continues) history.resume();
        };
        return {
          ...initial,
          validation: null,
          moving: false,
          load: (graph) => set({ nodes: graph.nodes, edges: graph.edges }),
          onNodesChange: (changes) => {
            const removed = new Set(changes.flatMap((change) => (change.type === "remove" ? [change.id] : [])));
            if (removed.size) groupThisTick();
            const { nodes, edges } = get();
            // A removed node takes its edges with it in the same step, so one undo brings both back.
            set({
              nodes: applyNodeChanges(changes, nodes),
              edges: removed.size
                ? edges.filter((edge) => !removed.has(edge.source) && !removed.has(edge.target))
                : edges,
            });
          },
          onEdgesChange: (changes) => {
            if (changes.some((change) => change.type === "remove")) groupThisTick();
            set({ edges: applyEdgeChanges(changes, get().edges) });
          },
          addNode: ({ type, label, config, x, y }) => {
            const id = newId("n");
            lastEdit = null;
            set({ nodes: [...get().nodes, { id, type, position: { x, y }, data: { label, config } }] });
            return id;
          },
          connect: ({ source, sourceHandle, target }) => {
            const refusal = branchTaken(get().edges, source, sourceHandle);
            if (refusal) return refusal;
            if (source === target) return "A step cannot lead to itself.";
            lastEdit = null;
            set({ edges: [...get().edges, flowEdge(newId("e"), source, target, sourceHandle)] });
            return null;
          },
          insertOnEdge: (edgeId, step, exitBranch) => {
            const inserted = insertedOnEdge(get().nodes, get().edges, edgeId, step, exitBranch);
            if (!inserted) return null;
            lastEdit = null;
            set({ nodes: inserted.nodes, edges: inserted.edges });
            return inserted.id;
          },
          addNote: (near) => {
            const id = newId("note");
            lastEdit = null;
            const others = get().nodes.map((node) => (node.selected ? { ...node, selected: false } : node));
            const note: FlowNode = {
              id, type: NOTE_TYPE, position: freeNoteSpot(near, others), ...NOTE_SIZE,
              data: { label: "", config: {} }, selected: true,
            };
            set({ nodes: [note, ...others] });
            return id;
          },
          paste: (copied, offset) => {
            const pasted = pastedSteps(copied, offset);
            lastEdit = null;
            // One step of history: the pasted steps arrive selected, everything else is let go.
            set({
              nodes: [...get().nodes.map((node) => (node.selected ? { ...node, selected: false } : node)), ...pasted.nodes],
              edges: [...get().edges, ...pasted.edges],
            });
          },
          moveTo: (positions) => {
            lastEdit = null;
            set({
              nodes: get().nodes.map((node) => {
                const position = positions[node.id];
                return position ? { ...node, position } : node;
              }),
            });
          },
          applyGraph: ({ nodes, edges }) => {
            lastEdit = null;
            set({ nodes, edges });
          },
          updateConfig: (nodeId, config, now = Date.now()) =>
            edit(`config:${nodeId}`, now, (state) => ({
              nodes: state.nodes.map((node) => (node.id === nodeId ? { ...node, data: { ...node.data, config } } : node)),
            })),
          updateLabel: (nodeId, label, now = Date.now()) =>
            edit(`label:${nodeId}`, now, (state) => ({
              nodes: state.nodes.map((node) => (node.id === nodeId ? { ...node, data: { ...node.data, label } } : node)),
            })),
          beginGesture: () => {
            gestureStart = tracked(get());
            store.temporal.getState().pause();
            set({ moving: true });
          },
          endGesture: () => {
            const before = gestureStart;
            gestureStart = null;
            set({ moving: false }); // still paused: not a step of history of its own
            recordSince(before);
          },
          setValidation: (validation) => set({ validation }),
        };
      },
      {
        // zundo asks for this on every change, paused or not: while paused (a drag), skip the copy.
        partialize: (state) => (isTracking() ? tracked(state) : UNTRACKED) as GraphState,
        equality: (past, current) => sameGraph(past, current),
        limit: HISTORY_LIMIT,
      },
    ),
  );
  keepSelectionThroughHistory(store);
  function isTracking(): boolean {
    // Undefined while the store is being created (its first state is tracked).
    return (store as typeof store | undefined)?.temporal.getState().isTracking ?? true;
  }
  return store;
}

/**
 * History keeps the graph without React Flow's view state, so an undo would also let go of the selected steps
 * and close the settings panel being edited: the steps selected before an undo or redo stay selected after it
 * (a change of selection alone is no step of history).
 */
function keepSelectionThroughHistory(store: GraphStore) {
  const { undo, redo } = store.temporal.getState();
  const keeping = (move: (steps?: number) => void) => (steps?: number) => {
    const selected = new Set(store.getState().nodes.filter((node) => node.selected).map((node) => node.id));
    move(steps);
    if (selected.size === 0) return;
    store.setState({
      nodes: store.getState().nodes.map((node) => (selected.has(node.id) ? { ...node, selected: true } : node)),
    });
  };
  store.temporal.setState({ undo: keeping(undo), redo: keeping(redo) });
}

export type GraphStore = ReturnType<typeof createGraphStore>;
