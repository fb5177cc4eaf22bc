// The executions screens, one lazy chunk (main.tsx): the list and one execution.
export { ExecutionsPage } from "./ExecutionsPage";
export { ExecutionPage } from "./ExecutionPage";
