import { useMutation } from "@tanstack/react-query";
import { api, ApiError } from "../api/client";
import type { SimulationRequest, SimulationResult } from "../api/types";

/** The draft is saved before it is simulated, so the run is of what the canvas shows. */
export class DraftNotSaved extends Error {
  constructor() {
    super("The draft could not be saved, so the test would not run what the canvas shows: see the save status above, then run again.");
    this.name = "DraftNotSaved";
  }
}

/** Run a simulation (CONTRACT §8); for the draft, save what the canvas shows first. */
export function useSimulation(workflowId: string, saveNow: () => Promise<boolean>) {
  return useMutation<SimulationResult, Error, SimulationRequest>({
    mutationFn: async (request) => {
      if (request.version === "draft" && !(await saveNow())) throw new DraftNotSaved();
      return api<SimulationResult>(`workflows/${workflowId}/simulate`, { method: "POST", body: request });
    },
  });
}

export function detailsOf(error: unknown): Record<string, unknown> {
  return error instanceof ApiError && (error.status === 400 || error.status === 422) ? error.details : {};
}
