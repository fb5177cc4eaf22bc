import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api } from "../api/client";
import { useWorkflows } from "../api/queries";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import type { TemplateCategory } from "./types";

const VISIBILITIES = [
  { value: "workspace", label: "This workspace only" },
  { value: "organization", label: "Workspaces of the organization" },
  { value: "community", label: "Community (reviewed before it is public)" },
];

/** Save a workflow's draft as a template: its emails and what it needs are found by the server. */
export function SaveTemplateDialog({
  open,
  onClose,
  categories,
}: {
  open: boolean;
  onClose: () => void;
  categories: TemplateCategory[];
}) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const workflows = useWorkflows({ refreshMs: false });
  const [workflowId, setWorkflowId] = useState("");
  const [visibility, setVisibility] = useState("workspace");
  const [category, setCategory] = useState("internal");
  const save = useMutation({
    mutationFn: () =>
      api<{ slug: string }>("workflow-templates", {
        method: "POST",
        body: { workflow_id: workflowId, visibility, category },
      }),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["workflow-templates"] });
      navigate(`/templates/${saved.slug}`);
    },
  });
  return (
    <Dialog title="Save a workflow as a template" open={open} onClose={onClose}>
      <form
        className="install-form"
        onSubmit={(event) => {
          event.preventDefault();
          save.mutate();
        }}
      >
        <label htmlFor="save-template-workflow">Workflow</label>
        <select id="save-template-workflow" value={workflowId} onChange={(event) => setWorkflowId(event.target.value)} required>
          <option value="">Choose a workflow…</option>
          {workflows.data?.map((workflow) => (
            <option key={workflow.id} value={workflow.id}>
              {workflow.name}
            </option>
          ))}
        </select>
        <label htmlFor="save-template-category">Category</label>
        <select id="save-template-category" value={category} onChange={(event) => setCategory(event.target.value)}>
          {categories.map((option) => (
            <option key={option.id} value={option.id}>
              {option.label}
            </option>
          ))}
        </select>
        <label htmlFor="save-template-visibility">Who can install it</label>
        <select id="save-template-visibility" value={visibility} onChange={(event) => setVisibility(event.target.value)}>
          {VISIBILITIES.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
        <ErrorNotice error={workflows.error} onRetry={() => void workflows.refetch()} />
        <ErrorNotice error={save.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={save.isPending || !workflowId}>
            {save.isPending ? "Saving…" : "Save as a template"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A signed link to one of this workspace's templates, made on demand, for another workspace to install it. */
export function ShareLink({ slug }: { slug: string }) {
  const share = useMutation({
    mutationFn: () => api<{ token: string; path: string }>(`workflow-templates/${slug}/share-link`, { method: "POST" }),
  });
  return (
    <div className="share-link">
      <button type="button" onClick={() => share.mutate()} disabled={share.isPending}>
        Make a share link
      </button>
      {share.data && (
        <p>
          Anyone with this link can install the template:{" "}
          <code aria-label="Share link">{`${window.location.origin}/builder/templates/shared/${share.data.token}`}</code>
        </p>
      )}
      <ErrorNotice error={share.error} />
    </div>
  );
}
