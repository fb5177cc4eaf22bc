import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api } from "../api/client";
import { useTriggerTemplates } from "../api/queries";
import type { GraphJson, Workflow } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";

const BLANK = "";

/** Create a workflow, blank or starting from a trigger preset, and open it on the canvas. */
export function CreateWorkflowDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const presets = useTriggerTemplates();
  const [name, setName] = useState("");
  const [presetId, setPresetId] = useState(BLANK);
  const create = useMutation({
    mutationFn: () => {
      const preset = presets.data?.find((candidate) => candidate.id === presetId);
      const graph: GraphJson | undefined = preset && {
        nodes: [
          {
            id: "trigger",
            type: preset.type,
            position: { x: 0, y: 0 },
            data: { label: preset.label, config: preset.config },
          },
        ],
        edges: [],
      };
      return api<Workflow>("workflows", { method: "POST", body: { name: name.trim(), ...(graph && { graph }) } });
    },
    onSuccess: (workflow) => navigate(`/workflows/${workflow.id}`),
  });
  return (
    <Dialog title="New workflow" open={open} onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate();
        }}
      >
        <label htmlFor="new-workflow-name">Name</label>
        <input
          id="new-workflow-name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          maxLength={200}
          autoFocus
        />
        <label htmlFor="new-workflow-preset">Start from</label>
        <select id="new-workflow-preset" value={presetId} onChange={(event) => setPresetId(event.target.value)}>
          <option value={BLANK}>A blank canvas</option>
          {presets.data?.map((preset) => (
            <option key={preset.id} value={preset.id}>
              {preset.label}: {preset.description}
            </option>
          ))}
        </select>
        <ErrorNotice error={presets.error} onRetry={() => void presets.refetch()} />
        <ErrorNotice error={create.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create and open"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
