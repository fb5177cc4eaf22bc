// Sticky notes: free text on the canvas, saved in the draft's graph as `notes` beside its nodes and edges (the
// server keeps them with each version and never runs them). On the canvas a note is a node of its own type, so it
// moves, resizes, deletes and undoes like a step; everything that means "the steps" leaves notes out (isNote).
import type { GraphJson } from "../api/types";
import type { FlowNode } from "./flowTypes";

export type NoteJson = NonNullable<GraphJson["notes"]>[number];

// Not a server node type: those are snake_case, so this name never clashes with one.
export const NOTE_TYPE = "sticky-note";
export const NOTE_SIZE = { width: 220, height: 140 };
// The server's limits (workflows/canvas_notes.py): the editor keeps inside them rather than have a save refused.
export const NOTE_LIMITS = { count: 100, text: 5000, minWidth: 80, minHeight: 60, max: 2000 };

export function isNote(node: { type?: string }): boolean {
  return node.type === NOTE_TYPE;
}

export function noteNode(note: NoteJson): FlowNode {
  return {
    id: note.id,
    type: NOTE_TYPE,
    position: { x: note.position.x, y: note.position.y },
    width: note.width ?? NOTE_SIZE.width,
    height: note.height ?? NOTE_SIZE.height,
    // Steps have a label and a config; a note's text is its label, so the shapes every node shares still hold.
    data: { label: note.text, config: {} },
  };
}

export function noteJson(node: FlowNode): NoteJson {
  return {
    id: node.id,
    text: node.data.label,
    position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
    width: clamp(Math.round(node.width ?? NOTE_SIZE.width), NOTE_LIMITS.minWidth, NOTE_LIMITS.max),
    height: clamp(Math.round(node.height ?? NOTE_SIZE.height), NOTE_LIMITS.minHeight, NOTE_LIMITS.max),
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

// A step not measured yet (outside the view) is taken to be about this tall.
const STEP_HEIGHT = 70;
// The widest a step is drawn (styles.css: .flow-node's max-width, its padding and borders). A step widens to it
// when its findings are drawn, which the server's check of the draft may bring after the note is placed.
const STEP_MAX_WIDTH = 290;
const NUDGE = 40;

/** Where a new note goes: at `start` (its top-left), or moved right until it covers no step or note. */
export function freeNoteSpot(start: { x: number; y: number }, nodes: readonly FlowNode[]): { x: number; y: number } {
  const boxes = nodes.map((node) => ({
    left: node.position.x,
    top: node.position.y,
    right: node.position.x + (isNote(node) ? node.width ?? NOTE_SIZE.width : STEP_MAX_WIDTH),
    bottom: node.position.y + (node.height ?? node.measured?.height ?? STEP_HEIGHT),
  }));
  for (let tries = 0; tries < 60; tries += 1) {
    const spot = { x: start.x + tries * NUDGE, y: start.y };
    const covers = boxes.some((box) => spot.x < box.right && box.left < spot.x + NOTE_SIZE.width
      && spot.y < box.bottom && box.top < spot.y + NOTE_SIZE.height);
    if (!covers) return spot;
  }
  return start;
}
