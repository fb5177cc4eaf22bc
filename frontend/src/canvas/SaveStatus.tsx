import { ErrorNotice } from "../components/ErrorNotice";
import type { SaveStatus } from "./useDraftAutosave";

const TEXT: Record<SaveStatus["kind"], string> = {
  saved: "All changes saved",
  pending: "Unsaved changes…",
  saving: "Saving…",
  conflict: "Not saved: conflict",
  error: "Not saved",
};

export function SaveStatusText({ status }: { status: SaveStatus }) {
  return (
    <span className={`save-status save-${status.kind}`} role="status" aria-live="polite">
      {TEXT[status.kind]}
    </span>
  );
}

interface BannerProps {
  status: SaveStatus;
  onKeepMine: () => void;
  onTakeTheirs: () => void;
  onRetry: () => void;
  /** Show the other draft beside this canvas before choosing. */
  onSeeTheirs?: () => void;
}

export function SaveBanner({ status, onKeepMine, onTakeTheirs, onRetry, onSeeTheirs }: BannerProps) {
  if (status.kind === "error") return <ErrorNotice error={status.error} onRetry={onRetry} />;
  if (status.kind !== "conflict") return null;
  return (
    <div className="notice notice-error" role="alert">
      <p>
        Someone else saved this draft while you were editing it, so your latest changes were not saved. They are
        still here on the canvas. Keep yours (it replaces theirs), or load theirs (Undo brings yours back).
      </p>
      {onSeeTheirs && (
        <button type="button" onClick={onSeeTheirs}>
          See their version
        </button>
      )}
      <button type="button" onClick={onKeepMine}>
        Keep my version
      </button>
      <button type="button" onClick={onTakeTheirs}>
        Load their version
      </button>
    </div>
  );
}
