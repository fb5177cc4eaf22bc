import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api } from "../api/client";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { CREATE, initialAnswers, installBody, unanswered, type Answers } from "./installLogic";
import { useExistingChoices } from "./queries";
import type { Installed, MissingItem, TemplateDetail, TemplateParameter } from "./types";

/**
 * Install a template: ask only for what this workspace is missing (an object to create or pick, a parameter
 * without a default), offer the other parameters to change, then open the new draft in the builder.
 */
export function InstallDialog({
  template,
  apiPath,
  open,
  onClose,
}: {
  template: TemplateDetail;
  /** Where the template was read: its install is `<apiPath>/install`. */
  apiPath: string;
  open: boolean;
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const missing = template.install.missing as unknown as MissingItem[];
  const [answers, setAnswers] = useState<Answers>(() => initialAnswers(missing));
  const [customised, setCustomised] = useState<Answers>({});
  const install = useMutation({
    mutationFn: () =>
      api<Installed>(`${apiPath}/install`, {
        method: "POST",
        body: installBody(missing, answers, template.parameters, customised),
      }),
    onSuccess: (installed) => {
      void queryClient.invalidateQueries({ queryKey: ["workflows"] });
      void queryClient.invalidateQueries({ queryKey: ["workflow-templates"] });
      navigate(`/workflows/${installed.workflow_id}`);
    },
  });
  const waiting = unanswered(missing, answers);
  const optional = template.parameters.filter((parameter) => !missing.some((item) => item.id === parameter.id));
  const answer = (id: string, value: string) => setAnswers((current) => ({ ...current, [id]: value }));
  return (
    <Dialog title={`Install “${template.name}”`} open={open} onClose={onClose}>
      <form
        className="install-form"
        onSubmit={(event) => {
          event.preventDefault();
          install.mutate();
        }}
      >
        {missing.length === 0 ? (
          <p>This workspace has everything the template needs.</p>
        ) : (
          <p>This workspace is missing {missing.length === 1 ? "one thing" : `${missing.length} things`} the template needs:</p>
        )}
        {missing.map((item) =>
          item.kind === "parameter" ? (
            <ParameterField
              key={item.id}
              parameter={template.parameters.find((parameter) => parameter.id === item.id)}
              value={answers[item.id] ?? ""}
              onChange={(value) => answer(item.id, value)}
              required
            />
          ) : (
            <ObjectChoice key={item.id} item={item} value={answers[item.id] ?? CREATE} onChange={(value) => answer(item.id, value)} />
          ),
        )}
        {optional.length > 0 && (
          <details className="install-customise">
            <summary>Change the settings ({optional.length})</summary>
            {optional.map((parameter) => (
              <ParameterField
                key={parameter.id}
                parameter={parameter}
                value={customised[parameter.id] ?? ""}
                placeholder={String(parameter.default ?? "")}
                onChange={(value) => setCustomised((current) => ({ ...current, [parameter.id]: value }))}
              />
            ))}
          </details>
        )}
        <ErrorNotice error={install.error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={install.isPending || waiting.length > 0}>
            {install.isPending ? "Installing…" : "Install and open"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ParameterField({
  parameter,
  value,
  onChange,
  required = false,
  placeholder,
}: {
  parameter: TemplateParameter | undefined;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  placeholder?: string;
}) {
  if (!parameter) return null;
  const id = `install-parameter-${parameter.id}`;
  return (
    <div className="install-field">
      <label htmlFor={id}>{parameter.label}</label>
      <input
        id={id}
        value={value}
        required={required}
        placeholder={placeholder}
        type={parameter.type === "number" ? "number" : parameter.type === "url" ? "url" : "text"}
        onChange={(event) => onChange(event.target.value)}
      />
      {parameter.description && <small>{parameter.description}</small>}
    </div>
  );
}

function ObjectChoice({ item, value, onChange }: { item: MissingItem; value: string; onChange: (value: string) => void }) {
  const choices = useExistingChoices(item.kind, true);
  const id = `install-object-${item.id}`;
  return (
    <div className="install-field">
      <label htmlFor={id}>
        {item.kind[0]!.toUpperCase() + item.kind.slice(1)}: {item.name}
      </label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
        <option value={CREATE}>Create “{item.name}”</option>
        {choices.data?.map((choice) => (
          <option key={choice.id} value={choice.id}>
            Use “{choice.name}”
          </option>
        ))}
      </select>
      <ErrorNotice error={choices.error} onRetry={() => void choices.refetch()} />
    </div>
  );
}
