import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Dialog } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { bulkAction, bulkBody, useRefreshExecutions, type BulkAnswer, type BulkKind } from "./executionQueries";
import type { ExecutionFilters } from "./filters";
import { RetryChoices } from "./RetryChoices";
import { DEFAULT_RETRY, type RetryOptions } from "./types";
import { plural, refusalsText } from "./words";

const WORDS = {
  retry: { title: "Retry failed executions", which: "failed", verb: "Retry", done: "Retried" },
  cancel: { title: "Cancel executions", which: "running, waiting or failed", verb: "Cancel", done: "Cancelled" },
} as const;

interface BulkDialogProps {
  kind: BulkKind;
  filters: ExecutionFilters;
  onClose: () => void;
}

/**
 * A bulk retry or cancel of everything the filters match: first the server counts (a dry run), the person
 * confirms that number, then the server acts and says what it did. Rendered only while open.
 */
export function BulkDialog({ kind, filters, onClose }: BulkDialogProps) {
  const words = WORDS[kind];
  const [options, setOptions] = useState<RetryOptions>(DEFAULT_RETRY);
  const refresh = useRefreshExecutions();
  const preview = useQuery({
    queryKey: ["executions-bulk-preview", kind, filters],
    queryFn: () => bulkAction(kind, bulkBody(kind, filters, options, true)),
    gcTime: 0,
    retry: false,
  });
  const run = useMutation({
    mutationFn: () => bulkAction(kind, bulkBody(kind, filters, options, false)),
    onSuccess: refresh,
  });
  const matched = preview.data?.matched ?? 0;
  return (
    <Dialog title={words.title} open onClose={onClose}>
      {run.data ? (
        <BulkResult answer={run.data} done={words.done} />
      ) : (
        <>
          <ErrorNotice error={preview.error} onRetry={() => void preview.refetch()} />
          {preview.isPending && <p role="status">Counting the {words.which} executions these filters match…</p>}
          {preview.data && (
            <p role="status">
              {matched === 0
                ? `No ${words.which} execution matches these filters: there is nothing to ${words.verb.toLowerCase()}.`
                : `${plural(matched, `${words.which} execution`)} ${matched === 1 ? "matches" : "match"} these filters.`}
            </p>
          )}
          {kind === "retry" && (
            <RetryChoices value={options} onChange={setOptions}
              latestRefused={filters.version ? "Not with a version filter: clear it to retry on the latest." : undefined} />
          )}
          <ErrorNotice error={run.error} />
        </>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          {run.data ? "Close" : "Keep them as they are"}
        </button>
        {!run.data && (
          <button type="button" className={kind === "cancel" ? "danger" : "primary"} disabled={!matched || run.isPending}
            onClick={() => run.mutate()}>
            {run.isPending ? `${words.verb === "Retry" ? "Retrying" : "Cancelling"}…` : `${words.verb} ${plural(matched, "execution")}`}
          </button>
        )}
      </div>
    </Dialog>
  );
}

function BulkResult({ answer, done }: { answer: BulkAnswer; done: string }) {
  const refusals = refusalsText(answer.refused);
  return (
    <div role="status" className="notice notice-ok bulk-result">
      <p>
        {done} {answer.done.toLocaleString()} of {plural(answer.matched, "matching execution")}.
      </p>
      {refusals && <p>Left as they were: {refusals}.</p>}
    </div>
  );
}
