import { useState } from "react";
import { Dialog } from "../components/Dialog";
import { ApiError, errorText } from "../api/client";
import { useCancelExecution, useRetryExecution } from "./executionQueries";
import { RetryChoices } from "./RetryChoices";
import { DEFAULT_RETRY, type ExecutionDetail, type RetryOptions } from "./types";

const CANCELLABLE = new Set(["active", "waiting", "failed"]);

/**
 * Retry and Cancel of one execution, each confirmed in a dialog. The buttons follow the status the page shows;
 * when the server knows better (it changed meanwhile), its 409 is said in the dialog.
 */
export function ExecutionActions({ execution }: { execution: ExecutionDetail }) {
  const [open, setOpen] = useState<"retry" | "cancel" | null>(null);
  const [done, setDone] = useState("");
  const status = execution.status ?? "active";
  const finish = (said: string) => {
    setOpen(null);
    setDone(said);
  };
  return (
    <div className="row-actions execution-actions">
      {done && (
        <p role="status" className="notice notice-ok">
          {done}
        </p>
      )}
      <button type="button" className="primary" disabled={status !== "failed"} onClick={() => setOpen("retry")}
        title={status === "failed" ? undefined : "Only a failed execution can be retried."}>
        Retry…
      </button>
      <button type="button" className="danger" disabled={!CANCELLABLE.has(status)} onClick={() => setOpen("cancel")}
        title={CANCELLABLE.has(status) ? undefined : "It has finished: there is nothing to cancel."}>
        Cancel execution…
      </button>
      {open === "retry" && (
        <RetryDialog id={execution.id} onClose={() => setOpen(null)} onDone={() => finish("Retried: it is running again.")} />
      )}
      {open === "cancel" && (
        <CancelDialog id={execution.id} onClose={() => setOpen(null)} onDone={() => finish("Cancelled: it will not run again.")} />
      )}
    </div>
  );
}

interface DialogProps {
  id: string;
  onClose: () => void;
  onDone: () => void;
}

function RetryDialog({ id, onClose, onDone }: DialogProps) {
  const [options, setOptions] = useState<RetryOptions>(DEFAULT_RETRY);
  const retry = useRetryExecution(id);
  return (
    <Dialog title="Retry this execution" open onClose={onClose}>
      <RetryChoices value={options} onChange={setOptions} />
      <Refusal error={retry.error} />
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Keep it as it is
        </button>
        <button type="button" className="primary" disabled={retry.isPending}
          onClick={() => retry.mutate(options, { onSuccess: onDone })}>
          {retry.isPending ? "Retrying…" : "Retry"}
        </button>
      </div>
    </Dialog>
  );
}

function CancelDialog({ id, onClose, onDone }: DialogProps) {
  const cancel = useCancelExecution(id);
  return (
    <Dialog title="Cancel this execution" open onClose={onClose}>
      <p>It stops where it is and never runs again. A cancelled execution cannot be retried.</p>
      <Refusal error={cancel.error} />
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Keep it as it is
        </button>
        <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate(undefined, { onSuccess: onDone })}>
          {cancel.isPending ? "Cancelling…" : "Cancel execution"}
        </button>
      </div>
    </Dialog>
  );
}

/** Why the server refused: a 409's own sentence (its details only repeat the status), else the error in words. */
function Refusal({ error }: { error: unknown }) {
  if (!error) return null;
  const conflict = error instanceof ApiError && error.status === 409;
  return (
    <p className="notice notice-error" role="alert">
      {conflict ? `${error.message} The page now shows it as it is.` : errorText(error)}
    </p>
  );
}
