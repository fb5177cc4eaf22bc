import { STATUS_WORDS, type LiveStatus } from "./liveLogic";
import "./live.css";

/** A quiet dot and word in a page's header: whether the page updates itself right now. */
export function LiveIndicator({ status }: { status: LiveStatus }) {
  const words = STATUS_WORDS[status];
  return (
    <span className={`live-indicator live-${status}`} role="status" aria-label={words.label} title={words.label}>
      <span className="live-dot" aria-hidden="true" />
      {words.short}
    </span>
  );
}
