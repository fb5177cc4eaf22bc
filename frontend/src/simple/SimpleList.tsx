import { useEffect, useRef, useState } from "react";
import type { NodeTypeInfo, Preset } from "../api/types";
import { useCanvas, useGraph } from "../canvas/CanvasContext";
import { branchesOf, DEFAULT_BRANCH } from "../canvas/graph";
import type { PaletteItem } from "../palette/paletteLogic";
import { canMove, insertStep, moveStep, removeStep, slotAccepts, type ChainTypes } from "./chain";
import { StepCard } from "./StepCard";
import { StepPicker } from "./StepPicker";
import { useCardDrag } from "./useCardDrag";
import "./simple.css";

interface SimpleListProps {
  /** The draft's steps in order, from its trigger down (the graph read as a chain). */
  steps: readonly string[];
  types: ChainTypes;
  nodeTypes: readonly NodeTypeInfo[];
  presets: readonly Preset[];
}

/** Simple mode: the draft as a list of steps. Every edit here is a graph edit, one step of history each. */
export function SimpleList({ steps, types, nodeTypes, presets }: SimpleListProps) {
  const { store } = useCanvas();
  const nodes = useGraph((state) => state.nodes);
  const [addingAt, setAddingAt] = useState<number | null>(null);
  const listRef = useRef<HTMLElement>(null);
  const focusAfter = useRef<{ id: string; control: string } | null>(null);
  const nameOf = (id: string | undefined) => {
    const node = nodes.find((candidate) => candidate.id === id);
    return node?.data.label || node?.type || "";
  };

  // After a move the moved card is drawn anew: give focus back to the control that moved it (or its name, when
  // that control is now disabled: a step moved to the top cannot move up).
  useEffect(() => {
    const wanted = focusAfter.current;
    if (!wanted || !listRef.current) return;
    focusAfter.current = null;
    const card = listRef.current.querySelector(`[data-step-id="${CSS.escape(wanted.id)}"]`);
    const control = card?.querySelector<HTMLElement>(`[data-control="${wanted.control}"]:not(:disabled)`)
      ?? card?.querySelector<HTMLElement>('[data-control="open"]');
    control?.focus();
  });

  const graph = () => {
    const { nodes: current, edges } = store.getState();
    return { nodes: current, edges };
  };
  const select = (id: string) =>
    store.getState().onNodesChange(
      store.getState().nodes.map((node) => ({ type: "select" as const, id: node.id, selected: node.id === id })),
    );
  const move = (index: number, to: number, control: string) => {
    if (!canMove(nodes, steps, index, to, types)) return;
    focusAfter.current = { id: steps[index]!, control };
    store.getState().applyGraph(moveStep(graph(), steps, index, to));
  };
  const drag = useCardDrag(
    (from, to) => canMove(nodes, steps, from, to, types),
    (from, to) => move(from, to, "open"),
  );
  const remove = (index: number) => {
    // Focus goes to the card that takes its place (or the one before, for the last).
    const neighbour = steps[index + 1] ?? steps[index - 1];
    if (neighbour) focusAfter.current = { id: neighbour, control: "open" };
    store.getState().applyGraph(removeStep(graph(), steps, index));
  };
  const add = (index: number, item: PaletteItem) => {
    // A branching step leads on by its first branch; the editor then switches to the graph, where the others
    // get wired (useEditorMode says so).
    const info = nodeTypes.find((candidate) => candidate.type === item.type);
    const exit = types.shapeOf(item.type) === "branching" ? (branchesOf(info, item.config)[0]?.id ?? null) : DEFAULT_BRANCH;
    const added = insertStep(graph(), steps, index, { type: item.type, label: item.label, config: item.config }, exit);
    setAddingAt(null);
    store.getState().applyGraph(added);
    select(added.id);
  };

  const addButton = (index: number) => {
    const accepts = slotAccepts(nodes, steps, index, types);
    if (!accepts.triggers && !accepts.steps && !accepts.ends) return null;
    const what = accepts.triggers ? (accepts.steps ? "Add a trigger or a step" : "Add a trigger") : "Add a step";
    const where =
      index === 0 ? (steps.length ? " at the start" : "")
      : index === steps.length ? " at the end"
      : ` between “${nameOf(steps[index - 1])}” and “${nameOf(steps[index])}”`;
    return (
      <button type="button" className="add-step" aria-label={`${what}${where}`} onClick={() => setAddingAt(index)}>
        + {what}
      </button>
    );
  };

  const picking = addingAt === null ? null : slotAccepts(nodes, steps, addingAt, types);
  return (
    <section className="simple-list" ref={listRef} aria-labelledby="simple-list-title">
      <h2 id="simple-list-title" className="visually-hidden">
        Steps, in order
      </h2>
      {steps.length === 0 && (
        <p className="muted">Start with a trigger: what makes a contact enter this workflow. Steps then run one after the other.</p>
      )}
      {steps.length > 1 && (
        <p className="muted">Open a step to change its settings. Move it with its arrows, Alt+↑ and Alt+↓, or by dragging it.</p>
      )}
      {addButton(0)}
      <ol>
        {steps.map((id, index) => (
          <li key={id} data-step-id={id}>
            <div className={drag.dropAt === index ? "step-drag drop-target" : "step-drag"} {...drag.dragProps(index, nameOf(id))}>
              <StepCard
                nodeId={id}
                number={index + 1}
                canMoveUp={canMove(nodes, steps, index, index - 1, types)}
                canMoveDown={canMove(nodes, steps, index, index + 1, types)}
                onOpen={() => select(id)}
                onMove={(by, control) => move(index, index + by, control)}
                onRemove={() => remove(index)}
              />
            </div>
            {addButton(index + 1)}
          </li>
        ))}
      </ol>
      <StepPicker
        title={picking?.triggers && !picking.steps ? "Add a trigger" : "Add a step"}
        accepts={picking}
        nodeTypes={nodeTypes}
        presets={presets}
        types={types}
        onPick={(item) => addingAt !== null && add(addingAt, item)}
        onClose={() => setAddingAt(null)}
      />
    </section>
  );
}
