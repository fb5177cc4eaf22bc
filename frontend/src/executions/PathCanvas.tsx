import { useMemo } from "react";
import type { GraphJson, NodeTypeInfo } from "../api/types";
import { fromGraphJson } from "../canvas/graph";
import { pathHighlightOf } from "../testmode/highlight";
import { VersionCanvas } from "../versions/VersionCanvas";
import { pathOfSteps } from "./executionPath";
import type { StepRun } from "./types";

interface PathCanvasProps {
  graph: GraphJson;
  nodeTypes: NodeTypeInfo[];
  steps: StepRun[];
  label: string;
}

/** The version the execution ran with, read-only, its path painted as test mode paints a test run. */
export function PathCanvas({ graph, nodeTypes, steps, label }: PathCanvasProps) {
  const path = useMemo(() => pathHighlightOf(pathOfSteps(steps), fromGraphJson(graph).edges), [graph, steps]);
  return <VersionCanvas graph={graph} nodeTypes={nodeTypes} label={label} path={path} />;
}
